"""The private service/server-process interface answers only callers on this machine."""

from __future__ import annotations

import pytest

from pydcom.rpc import RpcFault
from pydcom.rpc.constants import NCA_S_FAULT_ACCESS_DENIED
from pydcom.rpc.calls import CallReceived, ConnectionInfo
from pydcom.runtime.machine import require_local_caller


def call_from(peer: str | None) -> CallReceived:
    connection = ConnectionInfo((peer, 50000), ("127.0.0.1", 135)) if peer else None
    return CallReceived(1, 0, None, 0, None, b"", connection)


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.9", "::1"])
def test_loopback_callers_pass(peer):
    require_local_caller(call_from(peer))


@pytest.mark.parametrize("peer", ["192.0.2.7", "2001:db8::1", "not-an-address", None])
def test_other_callers_are_refused_with_access_denied(peer):
    with pytest.raises(RpcFault) as info:
        require_local_caller(call_from(peer))
    assert info.value.status == NCA_S_FAULT_ACCESS_DENIED


def test_a_caller_from_the_address_it_came_in_on_is_this_machine():
    """A server bound to a non-loopback address is reached from that address by its own
    machine's service."""
    connection = ConnectionInfo(("10.1.2.3", 50000), ("10.1.2.3", 4135))
    require_local_caller(CallReceived(1, 0, None, 0, None, b"", connection))
    elsewhere = ConnectionInfo(("10.1.2.4", 50000), ("10.1.2.3", 4135))
    with pytest.raises(RpcFault):
        require_local_caller(CallReceived(1, 0, None, 0, None, b"", elsewhere))
