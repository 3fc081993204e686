"""The machine's object resolver: IObjectExporter (MS-DCOM 3.1.2.5.1) and its tables.

The OXID table holds the exporters of this machine; the SETID table holds the clients' ping sets,
each with a timer of three ping periods (3.1.2.2). An exporter asks ``live_oids`` which of its
idle objects some live ping set still holds, and reclaims the rest (3.1.1.6.2).

OIDs in AddToSet are taken as given: the resolver does not learn every OID an exporter hands
out, so it cannot answer OR_INVALID_OID; an OID nobody exports is harmless to ping.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.guid import GUID_NULL
from pydcom.memory import release_free_memory
from pydcom.rpc import Interface
from pydcom.rpc.calls import CallReceived
from pydcom.wire import object_exporter as oe
from pydcom.wire.dualstringarray import DualStringArray
from pydcom.wire.orpc import COMVERSION, CURRENT_VERSION, dualstringarray_ndr

log = logging.getLogger(__name__)

MAX_PING_SETS = 100_000
MAX_SETS_PER_CLIENT = 1_000  # one identity's share: a client keeps one per resolver (3.2.6.1)
MAX_PINGED_OIDS = 4_000_000  # across all sets: about 200 MiB at the worst
MAX_KNOWN_OIDS = 4_000_000  # OIDs the exporters handed out, across all of them


@dataclass
class ExporterRecord:
    """An OXID table entry (MS-DCOM 3.1.2.1)."""

    oxid: int
    bindings: DualStringArray
    ipid_rem_unknown: object
    version: COMVERSION = field(default_factory=lambda: CURRENT_VERSION)
    authn_hint: int = 1  # RPC_C_AUTHN_LEVEL_NONE: no security yet


@dataclass(frozen=True)
class PingSetState:
    """A SETID table entry (MS-DCOM 3.1.2.1) as it stood when asked for."""

    setid: int
    sequence: int  # of the last ComplexPing applied
    deadline: float  # on the resolver's clock: the set is dropped when the clock reaches it
    oids: frozenset[int]


class _PingSet:
    __slots__ = ("oids", "sequence", "deadline", "owner")

    def __init__(self, sequence: int, deadline: float, owner: str = "") -> None:
        self.oids: set[int] = set()
        self.sequence = sequence
        self.deadline = deadline
        self.owner = owner  # the identity that made it: only it may ping or change it


class Resolver:
    """The object resolver of one machine. All tables under one lock."""

    def __init__(self, bindings: Callable[[], DualStringArray], *, ping_period: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._bindings = bindings
        self.ping_period = ping_period
        self._clock = clock
        self._lock = threading.Lock()
        self._exporters: dict[int, ExporterRecord] = {}
        self._sets: dict[int, _PingSet] = {}
        self._sets_of: dict[str, int] = {}  # owner -> how many sets it holds
        self._oid_sets: dict[int, int] = {}  # oid -> how many ping sets hold it
        self._known: dict[int, int] = {}  # oid -> the OXID of the exporter that handed it out
        self._oids_of: dict[int, set[int]] = {}  # oxid -> the OIDs it handed out
        self._closing = threading.Event()
        self._timer = threading.Thread(target=self._expire_loop, daemon=True,
                                       name="resolver-ping-sets")
        self._timer.start()

    def close(self) -> None:
        self._closing.set()

    # -- the exporters' side -----------------------------------------------------------------
    def register(self, record: ExporterRecord) -> None:
        with self._lock:
            self._exporters[record.oxid] = record

    def unregister(self, oxid: int) -> None:
        with self._lock:
            self._exporters.pop(oxid, None)
            for oid in self._oids_of.pop(oxid, ()):
                self._known.pop(oid, None)

    def register_oids(self, oxid: int, oids: list[int]) -> None:
        """OIDs the exporter ``oxid`` handed out: pings for them are taken from now on.
        ComError OR_INVALID_OXID for an exporter not registered, RPC_S_OUT_OF_RESOURCES past
        MAX_KNOWN_OIDS."""
        with self._lock:
            if oxid not in self._exporters:
                raise ComError(hresult.hresult_from_win32(hresult.OR_INVALID_OXID),
                               f"no exporter {oxid:#x}")
            if len(self._known) + len(oids) > MAX_KNOWN_OIDS:
                raise ComError(hresult.hresult_from_win32(hresult.RPC_S_OUT_OF_RESOURCES),
                               f"more than {MAX_KNOWN_OIDS} OIDs")
            mine = self._oids_of.setdefault(oxid, set())
            for oid in oids:
                if self._known.setdefault(oid, oxid) == oxid:
                    mine.add(oid)

    def forget_oids(self, oxid: int, oids: list[int]) -> None:
        """OIDs the exporter ``oxid`` released: AddToSet refuses them from now on."""
        with self._lock:
            mine = self._oids_of.get(oxid, set())
            for oid in oids:
                if self._known.get(oid) == oxid:
                    del self._known[oid]
                    mine.discard(oid)

    def exporter(self, oxid: int) -> ExporterRecord | None:
        with self._lock:
            return self._exporters.get(oxid)

    def exporters(self) -> list[ExporterRecord]:
        """The OXID table's entries now (a copy)."""
        with self._lock:
            return list(self._exporters.values())

    def live_oids(self, oxid: int, oids: list[int]) -> set[int]:
        with self._lock:
            held = self._oid_sets
            return {oid for oid in oids if held.get(oid)}

    # ResolverLink for an exporter living in the same process as its resolver
    def register_exporter(self, exporter) -> None:
        self.register(ExporterRecord(exporter.oxid, exporter.bindings, exporter.ipid_rem_unknown))

    def unregister_exporter(self, oxid: int) -> None:
        self.unregister(oxid)

    # -- ping sets -----------------------------------------------------------------------------
    def _expire_loop(self) -> None:
        trimmed = time.monotonic()
        while not self._closing.wait(min(self.ping_period, 1.0)):
            self.expire()
            if time.monotonic() - trimmed >= self.ping_period:  # the service's memory too
                release_free_memory()
                trimmed = time.monotonic()

    def expire(self) -> int:
        """Drop ping sets whose timer ran out (MS-DCOM 3.1.2.6); returns how many."""
        now = self._clock()
        dropped: list[tuple[int, int]] = []  # (SETID, OID count), logged outside the lock
        with self._lock:
            dead = [setid for setid, ping in self._sets.items() if ping.deadline <= now]
            for setid in dead:
                ping = self._sets.pop(setid)
                self._sets_of[ping.owner] -= 1
                if not self._sets_of[ping.owner]:
                    del self._sets_of[ping.owner]
                oids = ping.oids
                dropped.append((setid, len(oids)))
                for oid in oids:
                    self._unhold(oid)
        for setid, count in dropped:
            log.debug("ping set %#x expired with %d OIDs", setid, count)
        return len(dropped)

    def _unhold(self, oid: int) -> None:
        count = self._oid_sets.get(oid, 0) - 1
        if count > 0:
            self._oid_sets[oid] = count
        else:
            self._oid_sets.pop(oid, None)

    def simple_ping(self, setid: int, owner: str = "") -> int:
        """MS-DCOM 3.1.2.5.1.2; a set belongs to the identity ``owner`` that made it."""
        with self._lock:
            ping = self._sets.get(setid)
            if ping is None or ping.owner != owner:
                return hresult.OR_INVALID_SET
            ping.deadline = self._clock() + 3 * self.ping_period
        return 0

    def complex_ping(self, setid: int, sequence: int, add: list[int], remove: list[int],
                     owner: str = "") -> tuple[int, int]:
        """MS-DCOM 3.1.2.5.1.3: returns (status, SETID). A request that would pass
        MAX_PING_SETS or MAX_PINGED_OIDS is RPC_S_OUT_OF_RESOURCES, and one that adds an OID
        no exporter of this machine handed out (or one it released) is OR_INVALID_OID; either
        applies nothing (a new set is not made: SETID 0), and on a known set still restarts
        the timer. A set belongs to the identity ``owner`` that made it: for anyone else it
        is OR_INVALID_SET."""
        deadline = self._clock() + 3 * self.ping_period
        created = False
        with self._lock:
            room = len(self._oid_sets) + len(add) <= MAX_PINGED_OIDS
            known = self._known
            unknown = next((oid for oid in add if oid not in known), None)
            if setid:
                ping = self._sets.get(setid)
                if ping is None or ping.owner != owner:
                    return hresult.OR_INVALID_SET, setid
                # The client is alive, whatever becomes of its request: the timer restarts.
                ping.deadline = deadline
                if 0 < (ping.sequence - sequence) & 0xFFFF < 0x8000:
                    # An older request arriving late (sequence numbers wrap at 16 bits):
                    # succeed and change nothing.
                    return 0, setid
                if not room:  # nothing applied: the client's next attempt has a higher number
                    return hresult.RPC_S_OUT_OF_RESOURCES, setid
                if unknown is not None:
                    return hresult.OR_INVALID_OID, setid
            else:
                if len(self._sets) >= MAX_PING_SETS or not room or (
                        self._sets_of.get(owner, 0) >= MAX_SETS_PER_CLIENT):
                    return hresult.RPC_S_OUT_OF_RESOURCES, 0
                if unknown is not None:
                    return hresult.OR_INVALID_OID, 0
                setid = secrets.randbits(64) or 1
                while setid in self._sets:
                    setid = secrets.randbits(64) or 1
                ping = self._sets[setid] = _PingSet(sequence, deadline, owner)
                self._sets_of[owner] = self._sets_of.get(owner, 0) + 1
                created = True
            for oid in add:
                if oid not in ping.oids:
                    ping.oids.add(oid)
                    self._oid_sets[oid] = self._oid_sets.get(oid, 0) + 1
            for oid in remove:
                if oid in ping.oids:
                    ping.oids.discard(oid)
                    self._unhold(oid)
            ping.sequence = sequence
            count = len(ping.oids)
        if created:
            log.debug("ping set %#x created with %d OIDs", setid, count)
        return 0, setid

    @property
    def ping_set_count(self) -> int:
        with self._lock:
            return len(self._sets)

    def ping_sets(self) -> dict[int, PingSetState]:
        """A copy of the SETID table, for diagnostics and tests (it copies every OID)."""
        with self._lock:
            return {setid: PingSetState(setid, ping.sequence, ping.deadline, frozenset(ping.oids))
                    for setid, ping in self._sets.items()}

    # -- IObjectExporter on the wire ----------------------------------------------------------
    def interface(self) -> Interface:
        return Interface(oe.SYNTAX, {
            oe.OP_RESOLVE_OXID: lambda call: self._resolve(call, version2=False),
            oe.OP_SIMPLE_PING: self._simple_ping,
            oe.OP_COMPLEX_PING: self._complex_ping,
            oe.OP_SERVER_ALIVE: self._server_alive,
            oe.OP_RESOLVE_OXID2: lambda call: self._resolve(call, version2=True),
            oe.OP_SERVER_ALIVE2: self._server_alive2,
            # MS-DCOM lets any client ask whether a machine is there.
        }, "IObjectExporter", open_opnums=frozenset({oe.OP_SERVER_ALIVE, oe.OP_SERVER_ALIVE2}))

    def _resolve(self, call: CallReceived, version2: bool) -> bytes:
        """ResolveOxid / ResolveOxid2 (MS-DCOM 3.1.2.5.1.1, 3.1.2.5.1.5)."""
        request = oe.ResolveOxidRequest.decode(call.stub, exact=False)
        record = self.exporter(request.pOxid)
        if record is None:
            status, bindings, ipid, hint = hresult.OR_INVALID_OXID, DualStringArray(), None, 0
        else:
            status, bindings, ipid, hint = 0, record.bindings, record.ipid_rem_unknown, record.authn_hint
        fields = (dualstringarray_ndr(bindings.seen_by(call)) if record is not None else None, ipid or GUID_NULL, hint)
        if version2:
            version = record.version if record is not None else CURRENT_VERSION
            return oe.ResolveOxid2Response(*fields, version, status).encode()
        return oe.ResolveOxidResponse(*fields, status).encode()

    def _simple_ping(self, call: CallReceived) -> bytes:
        request = oe.SimplePingRequest.decode(call.stub, exact=False)
        return oe.StatusResponse(self.simple_ping(request.pSetId, caller(call))).encode()

    def _complex_ping(self, call: CallReceived) -> bytes:
        request = oe.ComplexPingRequest.decode(call.stub, exact=False)
        status, setid = self.complex_ping(request.pSetId, request.SequenceNum,
                                          list(request.AddToSet or ()),
                                          list(request.DelFromSet or ()), caller(call))
        return oe.ComplexPingResponse(setid, 0, status).encode()  # backoff 0, as Windows (<55>)

    def _server_alive(self, call: CallReceived) -> bytes:
        oe.EmptyRequest.decode(call.stub, exact=False)
        return oe.StatusResponse(0).encode()

    def _server_alive2(self, call: CallReceived) -> bytes:
        """MS-DCOM 3.1.2.5.1.6: the resolver's version and bindings, without endpoints."""
        oe.EmptyRequest.decode(call.stub, exact=False)
        return oe.ServerAlive2Response(CURRENT_VERSION,
                                       dualstringarray_ndr(self._bindings().seen_by(call)),
                                       0, 0).encode()


def caller(call: CallReceived) -> str:
    """The identity ping sets belong to: the account a call authenticated as, else the address
    it came from (calls without authentication cannot be told apart otherwise)."""
    if call.security.authenticated:
        return call.security.identity
    return "address:" + (call.connection.peer[0] if call.connection else "")
