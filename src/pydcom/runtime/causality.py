"""Causality ids (MS-DCOM 1.3.5, 3.2.4.2): a call made while serving a call carries the
incoming call's cid; any other call starts a new causality chain."""

from __future__ import annotations

import threading
import uuid

_local = threading.local()


def current() -> uuid.UUID | None:
    """The cid of the call this thread is serving, if any."""
    return getattr(_local, "cid", None)


class serving:  # noqa: N801 - used as a function: ``with serving(cid): ...``
    """While serving a call with causality id ``cid``, calls this thread makes carry it."""

    __slots__ = ("_cid", "_previous")

    def __init__(self, cid: uuid.UUID) -> None:
        self._cid = cid

    def __enter__(self) -> None:
        self._previous = getattr(_local, "cid", None)
        _local.cid = self._cid

    def __exit__(self, *exc_info) -> None:
        _local.cid = self._previous
