"""Collection of unpinged objects (MS-DCOM 3.1.1.6.2): every ping period, the exporter's objects
that nobody has called or marshaled for three periods are dropped, unless the machine's
resolver says some client still pings them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Protocol

from pydcom.memory import release_free_memory
from pydcom.runtime.export_tables import ExportTables

log = logging.getLogger("pydcom.runtime")


class LiveOids(Protocol):
    """What collection asks of the machine's resolver: which of these OIDs are still pinged;
    and what it tells it: which are gone."""

    def live_oids(self, oxid: int, oids: list[int]) -> set[int]: ...
    def forget_oids(self, oxid: int, oids: list[int]) -> None: ...


class Collector:
    """Reclaims an exporter's idle objects on a thread of its own, every ``period()`` seconds
    (read each time: the exporter learns its period when it registers)."""

    def __init__(self, tables: ExportTables, oxid: int, resolver: LiveOids | None,
                 period: Callable[[], float]) -> None:
        self.tables = tables
        self.oxid = oxid
        self.resolver = resolver
        self.period = period
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="exporter-janitor")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing.set()

    def _loop(self) -> None:
        while not self._closing.wait(self.period()):
            try:
                self.reclaim()
            except Exception:  # noqa: BLE001 - the next period tries again
                log.warning("reclaiming unpinged objects failed", exc_info=True)
            release_free_memory()  # what this period's calls and objects freed

    def reclaim(self) -> list[int]:
        """Release objects no client has pinged or called for three ping periods."""
        if self.resolver is None:
            return []
        cutoff = time.monotonic() - 3 * self.period()
        idle = self.tables.idle_oids(cutoff)
        reclaimed = []
        if idle:
            live = self.resolver.live_oids(self.oxid, idle)
            reclaimed = self.tables.drop_idle(idle, live, cutoff)
            if reclaimed:
                log.info("reclaimed %d objects whose clients stopped pinging", len(reclaimed))
        gone = self.tables.take_gone()  # the reclaimed and the released
        if gone:  # the resolver no longer takes pings for them
            self.resolver.forget_oids(self.oxid, gone)
        return reclaimed
