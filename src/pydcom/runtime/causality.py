"""Causality ids (MS-DCOM 1.3.5, 3.2.4.2): a call made while serving a call carries the
incoming call's cid; any other call starts a new causality chain."""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Iterator

_local = threading.local()


def current() -> uuid.UUID | None:
    """The cid of the call this thread is serving, if any."""
    return getattr(_local, "cid", None)


@contextlib.contextmanager
def serving(cid: uuid.UUID) -> Iterator[None]:
    previous = getattr(_local, "cid", None)
    _local.cid = cid
    try:
        yield
    finally:
        _local.cid = previous
