"""A separate process for the multi-process concurrency tests.

    python -m tests.runtime.activation_worker MODE THREADS SECONDS

Uses the default registry (PYDCOM_REGISTRY) and a recording activator. Prints ``ready`` when
warmed up, then one JSON line with what it saw. Modes:

- ``flip-reader``: activate in process and resolve the remote class; count what was seen.
- ``timed-reader``: the same calls by CLSID, each recorded as (start, end, outcome). It
  prints ``early`` once it has made ``ENOUGH`` of them, then reads a moment (a
  ``time.monotonic()`` reading, the same clock in every process) from stdin, and stops when
  ``ENOUGH`` of its calls have started after that moment. SECONDS only bounds a broken run.
- ``flip-writer``: switch between the two valid configurations.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter

from pydcom import registry
from pydcom.runtime import out_of_process
from tests.runtime import scenario
from tests.runtime.support import RecordingActivator


def flip_reader(deadline: float, out: dict) -> None:
    seen: Counter = Counter()
    calls = 0
    while time.monotonic() < deadline:
        try:
            if not scenario.one_inproc(calls):
                out["errors"].append("wrong sum")
            seen["|".join(map(str, scenario.one_remote()))] += 1
        except Exception as exc:  # noqa: BLE001 - reported, judged by the test
            out["errors"].append(repr(exc))
        calls += 1
    out["calls"].append(calls)
    out["seen"].update(seen)


ENOUGH = 101  # timed calls before the test's moment, and after it


class Tally:
    """The timed readers' calls so far: how many, and how many started after the moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.late = 0
        self.moment: float | None = None
        self.enough_early = threading.Event()
        self.enough_late = threading.Event()

    def count(self, started: float) -> None:
        with self._lock:
            self.calls += 1
            if self.calls >= ENOUGH:
                self.enough_early.set()
            if self.moment is not None and started > self.moment:
                self.late += 1
                if self.late >= ENOUGH:
                    self.enough_late.set()


def timed_reader(deadline: float, out: dict, tally: Tally, stop: threading.Event) -> None:
    records = []
    i = 0
    while not stop.is_set() and time.monotonic() < deadline:
        record = scenario.timed_attempt(i)
        records.append(record)
        tally.count(record[0])
        i += 1
    out["records"].extend(records)


def run_timed_readers(threads: int, deadline: float, out: dict) -> None:
    tally, stop = Tally(), threading.Event()
    workers = [threading.Thread(target=timed_reader, args=(deadline, out, tally, stop))
               for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        if tally.enough_early.wait(max(0.0, deadline - time.monotonic())):
            print("early", flush=True)
            line = sys.stdin.readline()  # the moment; nothing if the test is gone
            if line:
                tally.moment = float(line)
                tally.enough_late.wait(max(0.0, deadline - time.monotonic()))
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def main(mode: str, threads: int, seconds: float) -> None:
    reg = registry.default_registry()
    out_of_process.set_activator(RecordingActivator())
    out: dict = {"errors": [], "calls": [], "seen": Counter(), "records": [], "writes": 0}
    if mode == "flip-writer":
        print("ready", flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            scenario.write_config(reg, "XY"[out["writes"] % 2])
            out["writes"] += 1
            time.sleep(0.002)
    else:
        scenario.one_inproc(0)  # import the class before the clock starts
        print("ready", flush=True)
        deadline = time.monotonic() + seconds
        if mode == "timed-reader":
            run_timed_readers(threads, deadline, out)
        else:
            workers = [threading.Thread(target=flip_reader, args=(deadline, out))
                       for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
    out["errors"] = out["errors"][:5] + ([f"... {len(out['errors'])} in all"]
                                         if len(out["errors"]) > 5 else [])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
