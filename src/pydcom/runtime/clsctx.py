"""CLSCTX: the execution contexts an activation call accepts (Windows' values, wtypesbase.h)."""

from __future__ import annotations

import enum

from pydcom import hresult
from pydcom.hresult import ComError


class CLSCTX(enum.IntFlag):
    INPROC_SERVER = 0x1
    INPROC_HANDLER = 0x2
    LOCAL_SERVER = 0x4
    REMOTE_SERVER = 0x10
    INPROC = INPROC_SERVER | INPROC_HANDLER            # 0x3
    SERVER = INPROC_SERVER | LOCAL_SERVER | REMOTE_SERVER  # 0x15
    ALL = INPROC_HANDLER | SERVER                      # 0x17


CONTEXT_BITS = int(CLSCTX.ALL)


def context_bits(clsctx: object) -> int:
    """The context bits of ``clsctx`` (other CLSCTX modifier bits are ignored).

    E_INVALIDARG if it is not an int or names no context at all.
    """
    if isinstance(clsctx, int) and not isinstance(clsctx, bool) and clsctx >= 0:
        bits = int(clsctx) & CONTEXT_BITS
        if bits:
            return bits
    raise ComError(hresult.E_INVALIDARG, f"CLSCTX {clsctx!r} names no execution context")
