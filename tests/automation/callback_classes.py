"""Classes the callback tests host in surrogates: they call back objects their clients pass in."""

from __future__ import annotations

import threading
import uuid

NOTIFIER_CLSID = uuid.UUID("3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a51")
APARTMENT_NOTIFIER_CLSID = uuid.UUID("3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a52")


class Notifier:
    """Keeps a sink and calls it: the event-source pattern (free-threaded)."""

    _reg_threading_ = "Both"

    def __init__(self) -> None:
        self.sink = None

    def Advise(self, sink) -> None:
        self.sink = sink

    def Unadvise(self) -> None:
        sink, self.sink = self.sink, None
        if sink is not None:
            sink.release()

    def Fire(self, count: int, threads: int) -> int:
        """Call sink.Notify(i) for i in range(count), spread over ``threads`` threads; the
        number of calls that returned."""
        sink = self.sink
        done = [0] * threads
        errors: list[BaseException] = []

        def work(index: int) -> None:
            try:
                for i in range(index, count, threads):
                    sink.Notify(i)
                    done[index] += 1
            except BaseException as exc:  # noqa: BLE001 - reported to the caller
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        if errors:
            raise errors[0]
        return sum(done)

    def Relay(self, sink, value: int) -> int:
        """sink.Reenter(value): the sink calls back into this object before it answers."""
        try:
            return sink.Reenter(value)
        finally:
            sink.release()

    def Value(self) -> int:
        return 42

    def Sleep(self, seconds: float) -> float:
        import time
        time.sleep(seconds)
        return seconds


class ApartmentNotifier(Notifier):
    """The same, called on one thread: a callback into it must not deadlock."""

    _reg_threading_ = "Apartment"

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def Value(self) -> int:
        self.threads.add(threading.get_ident())
        return 42

    def Relay(self, sink, value: int) -> int:
        self.threads.add(threading.get_ident())
        return super().Relay(sink, value)

    def ThreadCount(self) -> int:
        """How many threads this object's methods ran on."""
        return len(self.threads)
