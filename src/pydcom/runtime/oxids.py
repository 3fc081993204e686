"""The client's OXID table (MS-DCOM 3.2.1): for each object exporter a process holds references
at, where it listens and its Remote Unknown, as an activation reply or ResolveOxid2
(MS-DCOM 3.2.4.1.2.2) taught it; and ServerAlive (3.1.2.5.1.4) to tell a machine that still
answers from one that is gone.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Callable

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.rpc.errors import RpcError
from pydcom.runtime.endpoints import Endpoint, pick_endpoint
from pydcom.wire import object_exporter as oe
from pydcom.wire.orpc import dualstringarray_of

# What the table calls with: (endpoint, syntax, opnum, stub) -> response stub.
Call = Callable[..., bytes]


@dataclass(frozen=True)
class OxidInfo:
    """An OXID table entry (MS-DCOM 3.2.1): where an exporter listens and its Remote Unknown."""

    oxid: int
    endpoint: Endpoint
    ipid_rem_unknown: uuid.UUID
    version: tuple[int, int]
    resolver: Endpoint


class OxidTable:
    """OXID table entries by (resolver, OXID), under one lock; unknown ones are resolved at
    the resolver that named them."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._entries: dict[tuple[Endpoint, int], OxidInfo] = {}
        self._lock = threading.Lock()

    def learn(self, info: OxidInfo) -> None:
        with self._lock:
            self._entries[(info.resolver, info.oxid)] = info

    def entries(self) -> list[OxidInfo]:
        with self._lock:
            return list(self._entries.values())

    def resolve(self, resolver: Endpoint, oxid: int) -> OxidInfo:
        """The entry, resolved with ResolveOxid2 when unknown (MS-DCOM 3.2.4.1.2.2)."""
        with self._lock:
            info = self._entries.get((resolver, oxid))
        if info is not None:
            return info
        request = oe.ResolveOxidRequest(oxid, 1, [7]).encode()
        answer = oe.ResolveOxid2Response.decode(
            self._call(resolver, oe.SYNTAX, oe.OP_RESOLVE_OXID2, request))
        if answer.status:
            raise ComError(hresult.hresult_from_win32(answer.status),
                           f"resolving OXID {oxid:#x} at {resolver[0]}[{resolver[1]}]")
        bindings = dualstringarray_of(answer.ppdsaOxidBindings)
        info = OxidInfo(oxid, pick_endpoint(bindings, resolver[0]), answer.pipidRemUnknown,
                        (answer.pComVersion.MajorVersion, answer.pComVersion.MinorVersion),
                        resolver)
        self.learn(info)
        return info

    def resolver_alive(self, resolver: Endpoint) -> bool:
        """ServerAlive (MS-DCOM 3.1.2.5.1.4) answered by the machine's resolver."""
        try:
            stub = self._call(resolver, oe.SYNTAX, oe.OP_SERVER_ALIVE, b"")
            return oe.StatusResponse.decode(stub).status == 0
        except (RpcError, ComError):
            return False
