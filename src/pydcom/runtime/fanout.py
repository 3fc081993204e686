"""Housekeeping that goes to several machines at once (pings, batched releases), so that one
machine that does not answer holds up its own work only, for at most its call timeout."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor, wait
from typing import TypeVar

T = TypeVar("T")


def for_each(executor: Executor | None, work: Callable[[T], None], items: Iterable[T]) -> None:
    """``work(item)`` for every item: on ``executor``'s threads at once, then wait for all; in
    turn on this thread without one. ``work`` handles its own failures."""
    items = list(items)
    if executor is None or len(items) < 2:
        for item in items:
            work(item)
        return
    wait([executor.submit(work, item) for item in items])
