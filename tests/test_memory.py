"""release_free_memory: the free pages of a fragmented heap go back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pydcom.memory import release_free_memory

GLIBC = sys.platform.startswith("linux") and "glibc" in " ".join(
    __import__("platform").libc_ver())


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_a_fragmented_heap_gives_its_free_pages_back():
    """40 MB of 2 KB objects, one in 64 kept (so the heap cannot shrink from its top): after
    they are freed the process still holds the pages, until release_free_memory."""
    script = textwrap.dedent("""
        from pydcom.memory import release_free_memory

        def rss():
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status
                            if line.startswith("VmRSS"))

        objects = [bytes([i % 251]) * 2000 for i in range(20000)]
        kept = objects[::64]
        del objects
        before = rss()
        assert release_free_memory()
        print(before - rss(), len(kept))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=True)
    released_kib, _ = map(int, result.stdout.split())
    assert released_kib > 20_000, result.stdout


def test_it_says_whether_the_c_library_could():
    assert release_free_memory() is GLIBC


ARENA_COUNT = textwrap.dedent("""
    import ctypes, sys, threading, zlib
    from pydcom.memory import limit_arenas

    if sys.argv[1] == "limited":
        assert limit_arenas(2)
    data = bytes(range(256)) * 4096

    def work():  # zlib allocates with the GIL released: threads at once, arenas of their own
        for _ in range(40):
            zlib.compress(data, 1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
""")


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's")
def test_limited_arenas_stay_within_the_limit():
    def arenas(mode: str) -> int:
        result = subprocess.run([sys.executable, "-c", ARENA_COUNT, mode], capture_output=True,
                                text=True, timeout=60, check=True)
        return result.stderr.count("Arena ")

    assert arenas("limited") <= 2 < arenas("free")
