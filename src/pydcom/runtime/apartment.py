"""Threading models (MS-DCOM leaves them to the implementation; COM's ThreadingModel values):
"Apartment" objects see their calls one at a time on one thread; "Free", "Both" and "Neutral"
objects are called on whatever thread the call arrived on, concurrently.

An apartment's thread that calls out (to another machine, say) does not simply block: while it
waits, calls that belong to the same causality (MS-DCOM 1.3.5: the same causality id) run on it,
as COM's single-threaded apartments let a callback in. An object that calls out to an object
which calls it back therefore gets the callback instead of a deadlock; calls of other causalities
wait their turn, so the object still sees one call at a time.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

APARTMENT = "apartment"
CONCURRENT_MODELS = {"free", "both", "neutral"}

_local = threading.local()


def threading_model(obj: Any) -> str:
    """The model an object (or class) declares with ``_reg_threading_`` (pywin32's name);
    "both" if none."""
    return str(getattr(obj, "_reg_threading_", "both") or "both").lower()


def current_apartment() -> "Apartment | None":
    """The apartment whose thread this is, if any."""
    return getattr(_local, "apartment", None)


class Apartment:
    """A single-threaded apartment: one thread runs every call posted to it, in order; while that
    thread waits on a call it made (``call_out``), it runs the calls of that call's causality."""

    def __init__(self, name: str = "sta") -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        # Causality ids the thread is waiting on, each with the queue its nested calls go to.
        # Changed only by the apartment's thread, under the lock; read by callers under it.
        self._waiting: dict[bytes | None, queue.SimpleQueue] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        _local.apartment = self
        while True:
            item = self._queue.get()
            if item is None:
                return
            _execute(item)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def call(self, fn: Callable[..., Any], *args: Any, cid: bytes | None = None) -> Any:
        """Run ``fn(*args)`` on the apartment's thread and wait for it; reentrant from it. A call
        of causality ``cid`` that the thread is waiting on runs inside that wait."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        future: Future = Future()
        with self._lock:
            target = self._waiting.get(cid, self._queue) if cid is not None else self._queue
            target.put((future, fn, args))
        return future.result()

    def call_out(self, fn: Callable[[], Any], cid: bytes | None) -> Any:
        """On the apartment's thread: run ``fn`` (a call to elsewhere, of causality ``cid``) on
        another thread, and meanwhile run the calls of causality ``cid`` that arrive here."""
        nested: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            outer = self._waiting.get(cid)
            self._waiting[cid] = nested
        done: Future = Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                done.set_exception(exc)
            nested.put(None)

        try:
            threading.Thread(target=run, name=f"{self._thread.name}-out", daemon=True).start()
            while True:  # ``fn`` is an ORPC call, bounded by the client's call timeout
                item = nested.get()
                if item is None:
                    return done.result()
                _execute(item)
        finally:
            with self._lock:
                if outer is None:
                    del self._waiting[cid]
                else:
                    self._waiting[cid] = outer
            # Calls that reached the nested queue after the answer: the thread runs them next.
            while True:
                try:
                    item = nested.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    self._queue.put(item)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)


def _execute(item: tuple) -> None:
    future, fn, args = item
    if future.set_running_or_notify_cancel():
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            future.set_exception(exc)
