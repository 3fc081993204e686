"""Causality ids (MS-DCOM 1.3.5, 3.2.4.2): a call made while serving a call carries the
incoming call's cid; any other call starts a new causality chain with a new cid.

A cid is held as its 16 wire bytes (MS-DTYP 2.3.4), as ORPCTHIS carries it, so that the calls
that pass it on never convert it. New ones are this process's random 8 bytes and a counter:
unique GUIDs, made without a system call each.
"""

from __future__ import annotations

import itertools
import os
import struct
import threading
from typing import Any, Callable



class _CallState(threading.local):
    """Per thread: the cid and the CallSecurity of the call being served (None outside one);
    class defaults, so that reading them is a plain attribute read."""

    cid: bytes | None = None
    security: Any = None


_local = _CallState()
_prefix = os.urandom(8)
_counter = itertools.count(1)  # next() on a count is atomic: threads never share a value
_pack = struct.Struct("<Q").pack


def new_cid() -> bytes:
    """A causality id never used before."""
    return _pack(next(_counter)) + _prefix


def current() -> bytes | None:
    """The cid of the call this thread is serving, if any."""
    return _local.cid


def outgoing() -> bytes:
    """The cid for a call this thread makes now: the one it serves, or a new one."""
    return _local.cid or new_cid()


def security() -> Any:
    """The CallSecurity of the call this thread serves (who called, at which level), or None
    outside a call: the CoGetCallContext role (MS-RPCE 3.3.3.4.3)."""
    return _local.security


def run(cid: bytes, security: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` while serving a call of causality ``cid``: calls it makes carry ``cid``,
    and ``security()`` says who made it."""
    local = _local
    previous = local.cid, local.security
    local.cid, local.security = cid, security
    try:
        return fn(*args)
    finally:
        local.cid, local.security = previous
