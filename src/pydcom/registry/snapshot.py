"""One immutable, consistent view of the whole registry.

A ``Snapshot`` is built once from a committed database state and never changes: its entries are
frozen dataclasses in read-only mappings. A reader that holds one can use it for as long as it
likes; writers build a new one (``Snapshot.build``) and the registry swaps it in whole.
``build`` is also where the rules that span entries are checked (ProgIDs name one class each,
TreatAs has no cycle), so a state that breaks them is refused before it is committed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pydcom import hresult
from pydcom.guid import format_guid, parse_guid
from pydcom.hresult import ComError
from pydcom.registry.model import AppIdEntry, ClassEntry

_VERSION = re.compile(r"\.([0-9]+)\Z")


def _version_key(entry: ClassEntry) -> tuple[int, str, str]:
    """Orders the classes sharing a version-independent ProgID: highest version is current."""
    match = _VERSION.search(entry.progid or "")
    return (int(match.group(1)) if match else -1, (entry.progid or "").lower(), str(entry.clsid))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The registry at one ``generation``: classes, AppIDs and the ProgID index."""

    generation: int
    classes: Mapping[uuid.UUID, ClassEntry]
    appids: Mapping[uuid.UUID, AppIdEntry]
    progids: Mapping[str, uuid.UUID]  # case-folded ProgID or version-independent ProgID -> CLSID

    @classmethod
    def build(cls, generation: int, classes: Iterable[ClassEntry],
              appids: Iterable[AppIdEntry]) -> Snapshot:
        """A snapshot of these entries; E_INVALIDARG if they break a rule spanning entries."""
        by_clsid = {entry.clsid: entry for entry in classes}
        progids: dict[str, uuid.UUID] = {}
        for entry in by_clsid.values():
            if entry.progid:
                owner = progids.setdefault(entry.progid.casefold(), entry.clsid)
                if owner != entry.clsid:
                    raise ComError(hresult.E_INVALIDARG, f"ProgID {entry.progid} already names "
                                   f"{format_guid(owner)}")
        versions: dict[str, list[ClassEntry]] = {}
        for entry in by_clsid.values():
            vi = entry.version_independent_progid
            if vi:
                owner = progids.get(vi.casefold())
                if owner is not None and owner != entry.clsid:
                    raise ComError(hresult.E_INVALIDARG, f"version-independent ProgID {vi} is "
                                   f"already the ProgID of {format_guid(owner)}")
                versions.setdefault(vi.casefold(), []).append(entry)
        for name, group in versions.items():
            progids[name] = max(group, key=_version_key).clsid
        for entry in by_clsid.values():
            _check_treat_as_chain(entry, by_clsid)
        return cls(generation, MappingProxyType(by_clsid),
                   MappingProxyType({a.appid: a for a in appids}), MappingProxyType(progids))

    def clsid_of(self, clsid_or_progid: str | uuid.UUID) -> uuid.UUID:
        """CLSIDFromString and CLSIDFromProgID in one: GUID text (braced or bare) or a ProgID.

        CO_E_CLASSSTRING for malformed GUID text or a ProgID no class has.
        """
        if isinstance(clsid_or_progid, uuid.UUID):
            return clsid_or_progid
        if not isinstance(clsid_or_progid, str):
            raise ComError(hresult.E_INVALIDARG,
                           f"expected a CLSID or a ProgID, not {type(clsid_or_progid).__name__}")
        clsid = self.progids.get(clsid_or_progid.casefold())
        if clsid is not None:
            return clsid
        try:
            return parse_guid(clsid_or_progid)
        except ValueError:
            detail = (f"{clsid_or_progid!r} is not a GUID" if clsid_or_progid.lstrip()[:1] == "{"
                      else f"no class has the ProgID {clsid_or_progid!r}")
            raise ComError(hresult.CO_E_CLASSSTRING, detail) from None

    def treat_as(self, clsid: uuid.UUID) -> uuid.UUID:
        """The class that emulates ``clsid`` (CoGetTreatAsClass), following TreatAs chains."""
        entry = self.classes.get(clsid)
        while entry is not None and entry.treat_as is not None:
            clsid = entry.treat_as
            entry = self.classes.get(clsid)
        return clsid

    def appid_of(self, entry: ClassEntry | None) -> AppIdEntry | None:
        if entry is None or entry.appid is None:
            return None
        return self.appids.get(entry.appid)


def _check_treat_as_chain(entry: ClassEntry, classes: Mapping[uuid.UUID, ClassEntry]) -> None:
    seen = [entry.clsid]
    current = entry
    while current.treat_as is not None:
        if current.treat_as in seen:
            chain = " -> ".join(format_guid(c) for c in [*seen, current.treat_as])
            raise ComError(hresult.E_INVALIDARG, f"TreatAs cycle: {chain}")
        seen.append(current.treat_as)
        nxt = classes.get(current.treat_as)
        if nxt is None:
            return
        current = nxt


EMPTY = Snapshot.build(0, (), ())
