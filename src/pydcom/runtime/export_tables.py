"""The IPID and OID tables of an object exporter (MS-DCOM 3.1.1.1), with their reference
counts: one owner, one lock. Marshaling adds entries and public references (3.1.1.5.1),
IRemUnknown adds and removes references (3.1.1.5.6), a call finds its object by IPID
(3.1.1.5.4), and collection drops the objects nobody pings (3.1.1.6.2).

References, public and private, are counted per client identity (``CallSecurity.identity``,
as the Remote Unknown is told it): each is credited to the identity it was handed to, and a
release or an OBJREF come back takes only from the giver's own count, so that one client
cannot release another's references. The one exception is the references this process
handed out in its own calls (THIS_PROCESS), whose receiver it cannot name; and callers without
authentication are all "anonymous", not told apart among themselves. A reference a
client hands on to a third party is then not given back by that party's release: the objects
nobody pings any more are reclaimed by collection (3.1.1.6.2, ``idle_oids``/``drop_idle``),
the backstop the protocol has anyway.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.wire.orpc import REMINTERFACEREF

MAX_OBJECTS_PER_CLIENT = 100_000  # objects exported for one client identity at a time

# The holder of references this process hands out itself, outside any call it serves (the
# [in] parameters of its own calls, callbacks): who will give them back, and under which
# identity, cannot be known here, so any caller may, once it has none of its own to give.
THIS_PROCESS = "this process"


@dataclass(eq=False)
class OidEntry:
    """An OID table entry (MS-DCOM 3.1.1.1)."""

    oid: int
    target: Any
    ipids: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # iid -> ipid
    last_used: float = field(default_factory=time.monotonic)  # last ORPC or marshal
    pinned: bool = False  # held by this process itself (a registered class object)
    owner: str | None = None  # the client identity it was first exported for


@dataclass(eq=False)
class IpidEntry:
    """An IPID table entry (MS-DCOM 3.1.1.1)."""

    ipid: uuid.UUID
    iid: uuid.UUID
    oid: int
    public_refs: dict[str, int] = field(default_factory=dict)  # by the identity given them
    private_refs: dict[str, int] = field(default_factory=dict)  # by client identity

    @property
    def held(self) -> bool:
        """Whether any identity holds references to it still."""
        return bool(self.public_refs or self.private_refs)


def _credit(counts: dict[str, int], identity: str, refs: int) -> None:
    if refs > 0:
        counts[identity] = counts.get(identity, 0) + refs


def _debit(counts: dict[str, int], identity: str, refs: int) -> int:
    """Take up to ``refs`` from ``identity``'s count (clamped at 0; a count at 0 is removed);
    the part it did not hold."""
    held = counts.get(identity, 0)
    taken = min(held, refs)
    if held > taken:
        counts[identity] = held - taken
    else:
        counts.pop(identity, None)
    return refs - taken


def _give_back(entry: IpidEntry, identity: str, refs: int) -> None:
    """Public references given back by ``identity``: its own first, then, for what it does
    not hold, those this process handed out to callers it could not name (THIS_PROCESS)."""
    rest = _debit(entry.public_refs, identity, refs)
    if rest and identity != THIS_PROCESS:
        _debit(entry.public_refs, THIS_PROCESS, rest)


class ExportTables:
    """The objects one exporter serves, by OID and by IPID. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ipids: dict[uuid.UUID, IpidEntry] = {}
        self._oids: dict[int, OidEntry] = {}
        self._by_object: dict[int, int] = {}  # id(target) -> oid
        self._gone: list[int] = []  # OIDs released, not yet told to the resolver
        self._owned: dict[str, int] = {}  # client identity -> objects exported for it
        self.max_per_owner = MAX_OBJECTS_PER_CLIENT

    # -- marshaling (MS-DCOM 3.1.1.5.1, 3.1.1.5.3) --------------------------------------------
    def add(self, target: Any, iid: uuid.UUID, refs: int, pinned: bool = False,
            owner: str | None = None) -> tuple[IpidEntry, bool]:
        """The IPID entry of ``target`` for ``iid``, created if needed, with ``refs`` more
        public references credited to ``owner`` (the client identity it is exported for;
        THIS_PROCESS when None), and whether its OID is new; ``pinned`` keeps its OID while
        the process lives. A new object, not pinned, counts against ``owner``'s share: past
        ``max_per_owner``, RPC_S_OUT_OF_RESOURCES and nothing made."""
        with self._lock:
            known = len(self._oids)
            entry = self._entry_for(target, iid, refs, owner or THIS_PROCESS,
                                    None if pinned else owner)
            if pinned:
                self._oids[entry.oid].pinned = True
            return entry, len(self._oids) > known

    def _entry_for(self, target: Any, iid: uuid.UUID, refs: int, holder: str,
                   owner: str | None = None) -> IpidEntry:
        """``add`` without the lock (the caller holds it): ``refs`` are credited to
        ``holder``, a new object counts against ``owner``'s share."""
        oid = self._by_object.get(id(target))
        oid_entry = self._oids.get(oid) if oid is not None else None
        if oid_entry is None:
            if owner is not None:
                if self._owned.get(owner, 0) >= self.max_per_owner:
                    raise ComError(hresult.hresult_from_win32(hresult.RPC_S_OUT_OF_RESOURCES),
                                   f"{self.max_per_owner} objects exported for {owner} already")
                self._owned[owner] = self._owned.get(owner, 0) + 1
            oid = secrets.randbits(64) or 1
            while oid in self._oids:
                oid = secrets.randbits(64) or 1
            oid_entry = self._oids[oid] = OidEntry(oid, target, owner=owner)
            self._by_object[id(target)] = oid
        oid_entry.last_used = time.monotonic()
        ipid = oid_entry.ipids.get(iid)
        entry = self._ipids.get(ipid) if ipid is not None else None
        if entry is None:
            entry = IpidEntry(uuid.uuid4(), iid, oid_entry.oid)
            self._ipids[entry.ipid] = entry
            oid_entry.ipids[iid] = entry.ipid
        _credit(entry.public_refs, holder, refs)
        return entry

    def take_back(self, ipid: uuid.UUID, public_refs: int, identity: str = THIS_PROCESS) -> Any:
        """The object of one of our own OBJREFs come back from ``identity`` (the caller of the
        call being served; THIS_PROCESS outside any), the references it carried given back
        from that identity's own (MS-DCOM 3.1.1.5.3). E_NOINTERFACE if the IPID is not ours
        (any more)."""
        with self._lock:
            entry = self._ipids.get(ipid)
            if entry is None:
                raise ComError(hresult.E_NOINTERFACE, "no such interface pointer here")
            _give_back(entry, identity, public_refs)
            target = self._oids[entry.oid].target
            if not entry.held:
                self._drop_ipid(entry)
        return target

    # -- calls (MS-DCOM 3.1.1.5.4) -----------------------------------------------------------
    def called(self, ipid: uuid.UUID | None) -> tuple[IpidEntry, Any] | None:
        """The IPID entry a call names and its object, now marked used; None if unknown."""
        with self._lock:
            entry = self._ipids.get(ipid) if ipid is not None else None
            if entry is None:
                return None
            oid_entry = self._oids[entry.oid]
            oid_entry.last_used = time.monotonic()
            return entry, oid_entry.target

    # -- the Remote Unknown (MS-DCOM 3.1.1.5.6) ----------------------------------------------
    def query(self, ripid: uuid.UUID, iids: Iterable[uuid.UUID], refs: int,
              supported: Callable[[Any], frozenset[uuid.UUID]], identity: str
              ) -> list[tuple[int, IpidEntry | None]]:
        """RemQueryInterface's entries (MS-DCOM 3.1.1.5.6.1.1): per IID, S_OK and the entry
        with ``refs`` more references credited to the caller ``identity``, or E_NOINTERFACE
        when the object of ``ripid`` does not answer to it (``supported``).
        RPC_E_INVALID_OBJECT if ``ripid`` is unknown."""
        with self._lock:
            entry = self._ipids.get(ripid)
            if entry is None:
                raise ComError(hresult.RPC_E_INVALID_OBJECT, f"no IPID {ripid}")
            oid_entry = self._oids[entry.oid]
            oid_entry.last_used = time.monotonic()
            answers = supported(oid_entry.target)
            results: list[tuple[int, IpidEntry | None]] = []
            for iid in iids:
                if iid not in answers:
                    results.append((hresult.E_NOINTERFACE, None))
                    continue
                results.append((hresult.S_OK,
                                self._entry_for(oid_entry.target, iid, refs, identity)))
        return results

    def add_refs(self, refs: Iterable[REMINTERFACEREF], identity: str) -> list[int]:
        """RemAddRef's counts (MS-DCOM 3.1.1.5.6.1.2), public and private, credited to the
        caller ``identity``: one HRESULT per reference, CO_E_OBJNOTREG for an unknown IPID."""
        results = []
        with self._lock:
            for ref in refs:
                entry = self._ipids.get(ref.ipid)
                if entry is None:
                    results.append(hresult.CO_E_OBJNOTREG)
                    continue
                _credit(entry.public_refs, identity, ref.cPublicRefs)
                _credit(entry.private_refs, identity, ref.cPrivateRefs)
                results.append(hresult.S_OK)
        return results

    def release_refs(self, refs: Iterable[REMINTERFACEREF], identity: str) -> None:
        """RemRelease's counts (MS-DCOM 3.1.1.5.6.1.3), taken from the caller ``identity``'s
        own (public ones, past those, from THIS_PROCESS's): releasing what it does not hold
        changes nothing for the other clients. Counts clamp at 0; unknown IPIDs are skipped; an
        IPID no identity holds references to goes, and its OID with its last IPID."""
        with self._lock:
            for ref in refs:
                entry = self._ipids.get(ref.ipid)
                if entry is None:
                    continue
                _give_back(entry, identity, ref.cPublicRefs)
                _debit(entry.private_refs, identity, ref.cPrivateRefs)
                if not entry.held:
                    self._drop_ipid(entry)

    def _drop_ipid(self, entry: IpidEntry) -> None:
        """Remove an IPID entry, and its OID once it has none (MS-DCOM 3.1.1.5.6.1.3).
        The caller holds the lock."""
        self._ipids.pop(entry.ipid, None)
        oid_entry = self._oids.get(entry.oid)
        if oid_entry is None:
            return
        oid_entry.ipids.pop(entry.iid, None)
        if not oid_entry.ipids and not oid_entry.pinned:
            self._forget_oid(oid_entry)

    def _forget_oid(self, entry: OidEntry) -> None:
        """Remove an object, its IPIDs with it; one not pinned is told to the resolver
        (``take_gone``) and leaves its owner's share. The caller holds the lock."""
        for ipid in entry.ipids.values():
            self._ipids.pop(ipid, None)
        self._oids.pop(entry.oid, None)
        self._by_object.pop(id(entry.target), None)
        if not entry.pinned:
            self._gone.append(entry.oid)
            self._disown(entry)

    def _disown(self, entry: OidEntry) -> None:
        """An object gone: it no longer counts against its owner's share (lock held)."""
        if entry.owner is not None:
            left = self._owned.get(entry.owner, 1) - 1
            if left > 0:
                self._owned[entry.owner] = left
            else:
                self._owned.pop(entry.owner, None)

    def take_gone(self) -> list[int]:
        """The OIDs released since the last call (their last IPID went), for the resolver
        to forget."""
        with self._lock:
            gone, self._gone = self._gone, []
            return gone

    # -- the objects as a whole ----------------------------------------------------------------
    def revoke(self, target: Any) -> None:
        """Forget an object at once, whatever its references (CoDisconnectObject)."""
        with self._lock:
            oid = self._by_object.get(id(target))
            entry = self._oids.get(oid) if oid is not None else None
            if entry is not None:
                self._forget_oid(entry)

    @property
    def object_count(self) -> int:
        """Objects held now, pinned ones excluded."""
        with self._lock:
            return sum(1 for entry in self._oids.values() if not entry.pinned)

    def exported(self, target: Any) -> bool:
        with self._lock:
            return id(target) in self._by_object

    # -- collection (MS-DCOM 3.1.1.6.2) -------------------------------------------------------
    def idle_oids(self, cutoff: float) -> list[int]:
        """The OIDs not pinned and neither called nor marshaled since ``cutoff``."""
        with self._lock:
            return [o.oid for o in self._oids.values() if not o.pinned and o.last_used < cutoff]

    def drop_idle(self, oids: Iterable[int], keep: set[int], cutoff: float) -> list[int]:
        """Drop the objects of ``oids`` except those in ``keep`` and those used since
        ``cutoff``; the OIDs dropped (``take_gone`` has them too)."""
        dropped = []
        with self._lock:
            for oid in oids:
                entry = self._oids.get(oid)
                if oid in keep or entry is None or entry.last_used >= cutoff:
                    continue
                self._forget_oid(entry)
                dropped.append(oid)
        return dropped
