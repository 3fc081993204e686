"""References given back, batched: a proxy's last release queues its public references, and
they leave shortly after as one RemRelease per exporter (MS-DCOM 3.2.4.4.2, 3.1.1.5.6.1.3).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from concurrent.futures import Executor
from typing import Callable

from pydcom.hresult import ComError
from pydcom.rpc.errors import RpcError
from pydcom.runtime import causality
from pydcom.runtime.fanout import for_each
from pydcom.runtime.oxids import OxidInfo
from pydcom.wire.orpc import REMINTERFACEREF, orpcthis
from pydcom.wire.remunknown import OP_REM_RELEASE, REMUNKNOWN_SYNTAX, RemReleaseRequest

log = logging.getLogger("pydcom.runtime")

# What releases are sent with: (endpoint, syntax, opnum, stub, ipid) -> response stub.
Call = Callable[..., bytes]


class ReleaseBatcher:
    """Releases waiting to be sent, by exporter, under one lock. ``wake`` is called when one is
    queued, so that whoever sends them (the client runtime's worker) sends them soon."""

    def __init__(self, call: Call, wake: Callable[[], None],
                 executor: Executor | None = None) -> None:
        """``executor``: where the exporters are sent their releases at once."""
        self._call = call
        self._executor = executor
        self._wake = wake
        self._waiting: dict[OxidInfo, list[REMINTERFACEREF]] = defaultdict(list)
        self._lock = threading.Lock()

    def queue(self, info: OxidInfo, ipid: uuid.UUID, public_refs: int) -> None:
        if not public_refs:
            return
        with self._lock:
            self._waiting[info].append(REMINTERFACEREF(ipid, public_refs, 0))
        self._wake()

    def flush(self) -> None:
        """Send the queued releases: one RemRelease per exporter (MS-DCOM 3.1.1.5.6.1.3)."""
        with self._lock:
            batches, self._waiting = self._waiting, defaultdict(list)
        for_each(self._executor, self._release, batches.items())

    def _release(self, batch: tuple[OxidInfo, list[REMINTERFACEREF]]) -> None:
        info, refs = batch
        request = RemReleaseRequest(orpcthis(causality.outgoing()), len(refs), refs).encode()
        try:
            self._call(info.endpoint, REMUNKNOWN_SYNTAX, OP_REM_RELEASE, request,
                       info.ipid_rem_unknown)
        except (RpcError, ComError) as exc:
            # The exporter is gone or will reclaim them when the pings stop.
            log.debug("releasing %d references at %s failed: %s", len(refs), info.endpoint, exc)
