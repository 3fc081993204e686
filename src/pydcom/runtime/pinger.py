"""The client's pinger (MS-DCOM 3.2.6.1): a ping set per remote resolver holding the OIDs this
process has proxies for, kept alive by SimplePing, or ComplexPing when the set changed
(MS-DCOM 3.1.2.5.1.2-3).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from concurrent.futures import Executor
from typing import Callable

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.rpc.errors import RpcError
from pydcom.runtime.endpoints import Endpoint
from pydcom.runtime.fanout import for_each
from pydcom.wire import object_exporter as oe

log = logging.getLogger("pydcom.runtime")

MAX_PING_CHANGE = 0xFFFF  # cAddToSet / cDelFromSet are unsigned shorts (MS-DCOM 3.1.2.5.1.3)
# What the pinger calls with: (endpoint, syntax, opnum, stub) -> response stub.
Call = Callable[..., bytes]


class PingSet:
    """One remote resolver's ping set as the client keeps it (MS-DCOM 3.2.6.1)."""

    def __init__(self) -> None:
        self.setid = 0
        self.sequence = 0
        self.oids: dict[int, int] = {}  # oid -> proxies holding it
        self.added: set[int] = set()
        self.removed: set[int] = set()


class Pinger:
    """The ping sets, one per resolver, under one lock; ``ping_once`` sends one round."""

    def __init__(self, call: Call, executor: Executor | None = None) -> None:
        """``executor``: where the resolvers are pinged at once (None: one after another)."""
        self._call = call
        self._executor = executor
        self._sets: dict[Endpoint, PingSet] = defaultdict(PingSet)
        self._lock = threading.Lock()

    def add(self, resolver: Endpoint, oid: int) -> None:
        """A proxy for ``oid`` now exists: the OID is pinged until its last proxy goes."""
        with self._lock:
            ping = self._sets[resolver]
            count = ping.oids.get(oid, 0)
            ping.oids[oid] = count + 1
            if not count:
                if oid in ping.removed:
                    ping.removed.discard(oid)
                else:
                    ping.added.add(oid)

    def remove(self, resolver: Endpoint, oid: int) -> None:
        with self._lock:
            ping = self._sets.get(resolver)
            if ping is None or oid not in ping.oids:
                return
            ping.oids[oid] -= 1
            if ping.oids[oid] <= 0:
                del ping.oids[oid]
                if oid in ping.added:
                    ping.added.discard(oid)
                else:
                    ping.removed.add(oid)

    def ping_once(self) -> None:
        """One round: ComplexPing where a set changed, SimplePing where it did not."""
        with self._lock:
            work = []
            for resolver, ping in list(self._sets.items()):
                if not ping.oids and not ping.removed and not ping.setid:
                    del self._sets[resolver]
                    continue
                work.append((resolver, ping, sorted(ping.added), sorted(ping.removed)))
                ping.added, ping.removed = set(), set()
        for_each(self._executor, self._ping_one, work)

    def _ping_one(self, work: tuple[Endpoint, PingSet, list[int], list[int]]) -> None:
        resolver, ping, added, removed = work
        try:
            self._ping(resolver, ping, added, removed)
        except (RpcError, ComError) as exc:
            log.info("ping to %s[%d] failed: %s", *resolver, exc)
            with self._lock:  # try the changes again next period
                ping.added.update(o for o in added if o in ping.oids)
                ping.removed.update(o for o in removed if o not in ping.oids)

    def _invalid_oids(self, resolver: Endpoint, ping: PingSet, adds: list[int],
                      dels: list[int]) -> None:
        """The resolver knows not every OID in ``adds`` (an object gone, a server restarted):
        add them one at a time, and stop pinging those it refuses; nothing was applied, so the
        removals go again too."""
        if len(adds) > 1:
            for oid in adds:
                self._ping(resolver, ping, [oid], [])
            if dels:
                self._ping(resolver, ping, [], dels)
            return
        log.info("%s[%d] knows no OID %#x: its object is gone", *resolver, adds[0])
        with self._lock:
            ping.oids.pop(adds[0], None)
        if dels:
            self._ping(resolver, ping, [], dels)

    def _ping(self, resolver: Endpoint, ping: PingSet, added: list[int], removed: list[int]) -> None:
        if ping.setid and not added and not removed:
            answer = oe.StatusResponse.decode(self._call(
                resolver, oe.SYNTAX, oe.OP_SIMPLE_PING, oe.SimplePingRequest(ping.setid).encode()))
            if answer.status == hresult.OR_INVALID_SET:  # the resolver forgot us: start over
                with self._lock:
                    ping.setid, ping.sequence = 0, 0
                    ping.added.update(ping.oids)
            return
        if not ping.setid and not added:
            return
        # cAddToSet and cDelFromSet are 16 bits: larger changes take several ComplexPings.
        for start in range(0, max(len(added), len(removed)), MAX_PING_CHANGE):
            adds = added[start:start + MAX_PING_CHANGE]
            dels = removed[start:start + MAX_PING_CHANGE]
            ping.sequence = (ping.sequence + 1) & 0xFFFF or 1
            request = oe.ComplexPingRequest(ping.setid, ping.sequence, len(adds), len(dels),
                                            adds or None, dels or None).encode()
            answer = oe.ComplexPingResponse.decode(
                self._call(resolver, oe.SYNTAX, oe.OP_COMPLEX_PING, request))
            if answer.status == hresult.OR_INVALID_SET:
                with self._lock:
                    ping.setid, ping.sequence = 0, 0
                    ping.added.update(ping.oids)
                return
            if answer.status == hresult.OR_INVALID_OID:
                self._invalid_oids(resolver, ping, adds, dels)
                continue
            if answer.status:
                raise ComError(hresult.hresult_from_win32(answer.status), "ComplexPing")
            ping.setid = answer.pSetId
