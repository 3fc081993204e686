"""A separate process for the multi-process concurrency tests.

    python -m tests.runtime.activation_worker MODE THREADS SECONDS

Uses the default registry (PYDCOM_REGISTRY) and a recording activator. Prints ``ready`` when
warmed up, then one JSON line with what it saw. Modes:

- ``flip-reader``: activate in process and resolve the remote class; count what was seen.
- ``timed-reader``: the same calls by CLSID, each recorded as (start, end, outcome).
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


def timed_reader(deadline: float, out: dict) -> None:
    records = []
    i = 0
    while time.monotonic() < deadline:
        records.append(scenario.timed_attempt(i))
        i += 1
    out["records"].extend(records)


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
        work = flip_reader if mode == "flip-reader" else timed_reader
        workers = [threading.Thread(target=work, args=(deadline, out)) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    out["errors"] = out["errors"][:5] + ([f"... {len(out['errors'])} in all"]
                                         if len(out["errors"]) > 5 else [])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
