"""Server processes prove who they are by their launch token, not by their address: a local
process cannot register a class another server serves, unregister or revoke what it did not
register, or ask a server process for objects behind the service's back."""

from __future__ import annotations

import uuid

import pytest

import pydcom
from pydcom.automation import wrap
from pydcom.hresult import E_ACCESSDENIED
from pydcom.rpc import RpcClient
from pydcom.rpc.errors import RpcError
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.service.service import Service
from pydcom.wire import local
from pydcom.wire.dualstringarray import DualStringArray, StringBinding
from pydcom.wire.orpc import dualstringarray_ndr

from .classes import GUARDED_CLSID

HOST = "127.0.0.36"
CLASSES = StaticClassStore([ClassEntry(GUARDED_CLSID, python="tests.security.classes:Guarded")])

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def service():
    started = Service(CLASSES, [HOST], 0, grace=1).start()
    try:
        yield started
    finally:
        started.close()


def register(rpc: RpcClient, oxid: int, token: str = "") -> local.RegisterServerResponse:
    bindings = dualstringarray_ndr(DualStringArray((StringBinding.tcp(HOST, 1),)))
    return local.RegisterServerResponse.decode(rpc.call(
        local.SYNTAX, local.OP_REGISTER_SERVER,
        local.RegisterServerRequest(oxid, bindings, uuid.uuid4(), 1, token).encode()))


def refused(call) -> bool:
    with pytest.raises(RpcError) as info:
        call()
    return info.value.hresult == E_ACCESSDENIED


def activate_and_add(service: Service) -> int:
    runtime = ClientRuntime(connect_timeout=2)
    try:
        [(_, proxy)] = remote_activate(runtime, (HOST, service.port), GUARDED_CLSID,
                                       [pydcom.IID_IDispatch])
        guarded = wrap(proxy)
        try:
            return guarded.Add(20, 22)
        finally:
            guarded.release()
    finally:
        runtime.close()


def test_an_intruder_cannot_take_over_a_class(service):
    assert activate_and_add(service) == 42  # the real server runs and serves the class
    with RpcClient(HOST, service.port, timeout=5) as intruder:
        assert refused(lambda: register(intruder, 0x1234, token="a guessed token"))
        answer = register(intruder, 0x5678)  # as a client's exporter of callbacks may
        assert answer.status == 0
        assert refused(lambda: intruder.call(  # but it may not serve a class
            local.SYNTAX, local.OP_REGISTER_CLASS,
            local.RegisterClassRequest(0x5678, GUARDED_CLSID, answer.secret).encode()))
        [real_oxid] = [r.oxid for r in service.resolver.exporters() if r.oxid != 0x5678]
        for opnum, request in (
                (local.OP_REVOKE_CLASS, local.RevokeClassRequest(real_oxid, GUARDED_CLSID,
                                                                 answer.secret)),
                (local.OP_UNREGISTER_SERVER, local.UnregisterServerRequest(real_oxid,
                                                                           answer.secret)),
                (local.OP_LIVE_OIDS, local.LiveOidsRequest(real_oxid, 0, [], answer.secret))):
            assert refused(lambda: intruder.call(local.SYNTAX, opnum, request.encode()))
    assert activate_and_add(service) == 42  # the class is still the real server's
    assert service.hosting.launch_count == 1


def test_a_server_process_takes_activations_from_its_service_only(service):
    assert activate_and_add(service) == 42
    [record] = [r for r in service.resolver.exporters()]
    endpoint = record.bindings.tcp_bindings()[0]
    request = local.ActivateRequest(GUARDED_CLSID, 0, 1, [pydcom.IID_IDispatch], "", "")
    with RpcClient(endpoint.host, int(endpoint.endpoint), timeout=5) as local_process:
        assert refused(lambda: local_process.call(local.SERVER_SYNTAX, local.OP_ACTIVATE,
                                                  request.encode()))
