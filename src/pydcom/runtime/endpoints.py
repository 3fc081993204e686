"""Where to connect: the TCP endpoint of a resolver or an exporter, read from the string
bindings an OBJREF, a ResolveOxid2 answer or an activation reply carries (MS-DCOM 2.2.19.3,
MS-RPCE 2.1.1.1 for the well-known port).
"""

from __future__ import annotations

import functools

from pydcom import hresult
from pydcom.hostport import WELL_KNOWN_PORT
from pydcom.hresult import ComError
from pydcom.wire.dualstringarray import DualStringArray, StringBinding

RESOLVER_PORT = WELL_KNOWN_PORT
Endpoint = tuple[str, int]


def endpoint_of(binding: StringBinding, default_port: int | None = None) -> Endpoint:
    """host and port of an ncacn_ip_tcp string binding, "host" or "host[port]"."""
    port = binding.endpoint
    if port is None:
        if default_port is None:
            raise ComError(hresult.hresult_from_win32(hresult.RPC_S_INVALID_BINDING),
                           f"binding {binding.network_addr!r} names no endpoint")
        return binding.host, default_port
    try:
        return binding.host, int(port)
    except ValueError:
        raise ComError(hresult.hresult_from_win32(hresult.RPC_S_INVALID_BINDING),
                       f"binding {binding.network_addr!r} has no TCP port") from None


# Bindings are immutable and a few repeat all the time. A DUALSTRINGARRAY holds at most 128 KiB,
# so 64 kept answers cost at most 8 MiB whatever a peer sends.
@functools.lru_cache(maxsize=64)
def resolver_endpoint(bindings: DualStringArray, hint: Endpoint | None = None) -> Endpoint:
    """Where to reach the resolver an OBJREF names: its first TCP binding, on port 135 unless
    the binding names another ("host[port]", which pydcom services on other ports write)."""
    tcp = bindings.tcp_bindings()
    if not tcp:
        if hint is not None:
            return hint
        raise ComError(hresult.RPC_E_INVALID_OBJREF, "OBJREF names no TCP resolver binding")
    return endpoint_of(tcp[0], RESOLVER_PORT)


@functools.lru_cache(maxsize=64)
def pick_endpoint(bindings: DualStringArray, prefer_host: str | None = None) -> Endpoint:
    """The exporter endpoint to use: one on the host we reached the resolver at, else the first."""
    tcp = [b for b in bindings.tcp_bindings() if b.endpoint is not None]
    if not tcp:
        raise ComError(hresult.hresult_from_win32(hresult.RPC_S_INVALID_BINDING),
                       "exporter bindings name no TCP endpoint")
    for binding in tcp:
        if binding.host == prefer_host:
            return endpoint_of(binding)
    return endpoint_of(tcp[0])
