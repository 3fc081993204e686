"""Waiting in tests: for a condition, never for a length of time; and services that are always
closed.

A test that must see a real process or thread do something polls for the outcome with
``wait_until``; the bound only limits how long a broken run takes to fail, so it is generous,
and a slow machine makes the test slower, not red."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_INTERVAL = 0.01


def poll_until(condition: Callable[[], T], timeout: float, interval: float = POLL_INTERVAL) -> T:
    """Call ``condition`` until it returns something true or ``timeout`` seconds pass; returns
    the last value (false if the time ran out). It is called once more at the bound, so a
    condition that became true while the caller was not scheduled still counts."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def wait_until(condition: Callable[[], T], timeout: float = 10.0, what: str | None = None,
               interval: float = POLL_INTERVAL) -> T:
    """Poll ``condition`` until it returns something true, and return that; fail the test
    with ``what`` (or the condition's name) if it is still false after ``timeout`` seconds."""
    value = poll_until(condition, timeout, interval)
    if not value:
        said = what or getattr(condition, "__name__", repr(condition))
        raise AssertionError(f"still not true after {timeout:g} s: {said} (last: {value!r})")
    return value


def read_line(proc: subprocess.Popen, timeout: float = 30.0) -> str:
    """The next line a child process writes to its stdout pipe, waited for up to ``timeout``
    ("" at the end of its output). It reads the pipe's descriptor a byte at a time, so nothing
    waits in a Python buffer where select() cannot see it: read a child's lines only this way
    before its last (communicate() may take the rest)."""
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = bytearray()
    while not line.endswith(b"\n"):
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise AssertionError(f"no whole line from pid {proc.pid} after {timeout:g} s "
                                 f"(got {bytes(line)!r}, exit status {proc.poll()})")
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line.decode()


class ManualClock:
    """A clock for code that takes one (``clock=``): it moves only when the test moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self._now = start

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, moment: float) -> None:
        with self._lock:
            self._now = moment


@contextlib.contextmanager
def running_service(classes, host: str, port: int = 0, **options):
    """A started Service on ``host`` serving ``classes`` (with ``options``); closed on the way
    out, whatever happened (it stops the server processes it started, by their pid)."""
    from pydcom.service.service import Service

    service = Service(classes, [host], port, **options)
    try:
        yield service.start()
    finally:
        service.close()
