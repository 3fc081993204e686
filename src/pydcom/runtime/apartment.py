"""Threading models (MS-DCOM leaves them to the implementation; COM's ThreadingModel values):
"Apartment" objects see their calls one at a time on one thread; "Free", "Both" and "Neutral"
objects are called on whatever thread the call arrived on, concurrently.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

APARTMENT = "apartment"
CONCURRENT_MODELS = {"free", "both", "neutral"}


def threading_model(obj: Any) -> str:
    """The model an object (or class) declares with ``_reg_threading_`` (pywin32's name);
    "both" if none."""
    return str(getattr(obj, "_reg_threading_", "both") or "both").lower()


class Apartment:
    """A single-threaded apartment: one thread runs every call posted to it, in order."""

    def __init__(self, name: str = "sta") -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    future.set_exception(exc)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the apartment's thread and wait for it; reentrant from it."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        future: Future = Future()
        self._queue.put((future, fn, args))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)
