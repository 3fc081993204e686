"""Giving the memory a long-running process has freed back to the system.

glibc's allocator keeps what Python frees in its arenas for reuse. Under a steady load of
many connection threads (hundreds of calls a second, objects made and released), the free
part of the arenas grows for many minutes, though what is in use does not, and the process's
resident size grows with it. ``release_free_memory`` hands those free pages back
(``malloc_trim(0)``, which also releases free pages amid a heap); the service and every
exporter call it once per ping period. Where the C library has no malloc_trim (musl, macOS)
it does nothing.
"""

from __future__ import annotations

import ctypes
from typing import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_trim = _malloc_trim()


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether the C library could."""
    if _trim is None:
        return False
    _trim(0)
    return True
