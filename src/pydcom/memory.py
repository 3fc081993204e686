"""Keeping a long-running server's memory to what it uses, on glibc.

glibc's allocator gives each thread that allocates at the same time as another an arena of
its own, up to eight per CPU, and keeps what Python frees in them for reuse. A service with
hundreds of connection threads, under a steady load of calls and objects made and released,
so spreads its blocks over many arenas, whose free part grows for many minutes though what
is in use does not, and its resident size grows with it. Two remedies:
- ``limit_arenas`` (``mallopt(M_ARENA_MAX)``): Python threads allocate under the GIL, one at a
  time, so more arenas buy no concurrency, only fragmentation. The service and every server
  process keep two (measured: a surrogate under 200 clients levelled off at about 67 MB
  within four minutes instead of growing to 77 MB in ten).
- ``release_free_memory`` (``malloc_trim(0)``, which also releases free pages amid a heap):
  the service and every exporter call it once per ping period.
Where the C library has neither (musl, macOS) they do nothing.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable


M_ARENA_MAX = -8  # mallopt's parameter number for the arena limit (glibc's malloc.h)
SERVER_ARENAS = 2


def _libc_function(name: str, *argtypes: Any) -> Callable[..., int] | None:
    try:
        function = getattr(ctypes.CDLL(None), name)  # the process's own C library
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function


_trim = _libc_function("malloc_trim", ctypes.c_size_t)
_mallopt = _libc_function("mallopt", ctypes.c_int, ctypes.c_int)


def limit_arenas(count: int = SERVER_ARENAS) -> bool:
    """Let the allocator make at most ``count`` arenas from now on; whether the C library
    could. Called by a server process as it starts, before its connection threads."""
    return _mallopt is not None and _mallopt(M_ARENA_MAX, count) == 1


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether the C library could."""
    if _trim is None:
        return False
    _trim(0)
    return True
