"""This machine's name, whether a server name means this machine, and whether a caller is on it.

The name is ``PYDCOM_MACHINE_NAME`` if set, else the host name; ``set_machine_name`` overrides
both. A server name that equals it (case-insensitively, a short name matching the first label
of a qualified one) means this machine. An IP address never does, loopback included: several
services on 127.0.0.x stand for several machines and are reached through the protocol.

A caller is on this machine when it calls from a loopback address, or from the very address it
called (``require_local_caller``): the rule by which the service and its server processes
answer their private interface (``pydcom.wire.local``) only for each other.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket

from pydcom.rpc.constants import NCA_S_FAULT_ACCESS_DENIED
from pydcom.rpc.errors import RpcFault
from pydcom.rpc.calls import CallReceived

ENV_MACHINE_NAME = "PYDCOM_MACHINE_NAME"

_name: str | None = None


def machine_name() -> str:
    name = _name
    if name is None:
        name = set_machine_name(None)
    return name


def set_machine_name(name: str | None) -> str:
    """Use ``name`` as this machine's name; ``None`` goes back to the environment or host name."""
    global _name
    _name = name or os.environ.get(ENV_MACHINE_NAME) or socket.gethostname()
    return _name


@functools.lru_cache(maxsize=256)
def is_this_machine(host: str, this_machine: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return False
    except ValueError:
        pass
    a, b = host.casefold().rstrip("."), this_machine.casefold().rstrip(".")
    if a == b:
        return True
    if "." in a and "." in b:
        return False
    return a.split(".", 1)[0] == b.split(".", 1)[0]


def require_local_caller(call: CallReceived) -> None:
    """Fault nca_s_fault_access_denied unless the call came from this machine: from a loopback
    address, or from the very address it came in on (a connection between two of a machine's
    own addresses; TCP cannot complete one from elsewhere claiming it). Both sides of the
    private local interface answer only their own machine."""
    connection = call.connection
    peer = connection.peer[0] if connection else ""
    if not _is_loopback(peer) and (connection is None or peer != connection.local[0]):
        raise RpcFault(NCA_S_FAULT_ACCESS_DENIED, f"{peer} is not on this machine")


@functools.lru_cache(maxsize=256)  # callers come from one address or two
def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
