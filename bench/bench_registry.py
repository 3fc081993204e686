"""Registry reads and in-process activation, while another process commits 100 changes a second.

    python bench/bench_registry.py [--seconds 1.0]

A benchmark, not a test. Prints operations per second and the ratio to a baseline measured in
the same run: for reads, one SQLite SELECT per lookup (what a registry without snapshots would
do); for activation, constructing the Python object directly.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, ROOT)

import pydcom  # noqa: E402
from pydcom.registry import AppIdEntry, ClassEntry, Registry  # noqa: E402
from pydcom.runtime.activation import plan_activation  # noqa: E402
from pydcom.runtime.coclass import coclass_entry  # noqa: E402
from tests.runtime.sample_classes import CALC_CLSID, IID_ICALC, Calculator  # noqa: E402

CLASSES = 200
CHURN = uuid.UUID("0f8e5c2a-bbbb-4a2b-9c3d-000000000001")
APP = uuid.UUID("0f8e5c2a-bbbb-4a2b-9c3d-0000000000aa")


def writer(path: str, seconds: float, rate: float) -> None:
    """Commit ``rate`` changes a second (alternating two RemoteServerNames) for ``seconds``."""
    reg = Registry(path)
    start = time.monotonic()
    n = 0
    while (now := time.monotonic()) < start + seconds:
        reg.update_appid(APP, remote_server_name=f"host{n % 2}")
        n += 1
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
    print(f"{n / (time.monotonic() - start):.0f}", flush=True)


def rate(fn, seconds: float, threads: int = 1) -> float:
    """Calls of ``fn`` per second, over ``threads`` threads, for about ``seconds``."""
    counts = [0] * threads
    go = threading.Barrier(threads + 1)

    def loop(slot: int) -> None:
        go.wait()
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            for _ in range(200):
                fn()
            n += 200
        counts[slot] = n

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    go.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--writer", nargs=2, metavar=("PATH", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer(args.writer[0], float(args.writer[1]), 100.0)
        return

    folder = tempfile.mkdtemp(prefix="pydcom-bench-")
    path = os.path.join(folder, "registry.sqlite3")
    reg = Registry(path)
    reg.load_entries([coclass_entry(Calculator),
                      ClassEntry(CHURN, progid="Bench.Remote", appid=APP),
                      *(ClassEntry(uuid.UUID(int=i + 1), progid=f"Bench.Class{i}",
                                   inproc_server="bench.mod:C") for i in range(CLASSES))],
                     [AppIdEntry(APP, remote_server_name="host0")])
    pydcom.registry.use(reg)
    pydcom.runtime.out_of_process.set_activator(_Recorder())

    local = threading.local()

    def select_read():  # the baseline: a query per lookup, on a connection per thread
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path)
        local.conn.execute("SELECT * FROM class WHERE clsid = ?",
                           ("{00000000-0000-0000-0000-000000000007}",)).fetchone()

    key = uuid.UUID(int=7)

    def snapshot_read():
        reg.snapshot().classes.get(key)

    def create():
        pydcom.create_instance(CALC_CLSID, pydcom.CLSCTX.INPROC_SERVER, None, IID_ICALC).release()

    measurements = [
        ("snapshot read, 1 thread", snapshot_read, 1, select_read, "SELECT per read"),
        ("snapshot read, 8 threads", snapshot_read, 8, select_read, "SELECT per read"),
        ("resolve ProgID -> remote target, 1 thread",
         lambda: plan_activation("Bench.Remote"), 1, None, ""),
        ("in-process create_instance, 1 thread", create, 1, Calculator, "Calculator()"),
        ("in-process create_instance, 8 threads", create, 8, Calculator, "Calculator()"),
    ]
    total = len(measurements) * 2 * args.seconds + 2
    proc = subprocess.Popen([sys.executable, __file__, "--writer", path, str(total)],
                            stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.2)
        start_generation = reg.snapshot().generation
        print(f"registry of {CLASSES + 2} classes; another process commits 100 changes/s")
        print(f"{'measurement':44} {'ops/s':>12} {'baseline ops/s':>15}  ratio")
        for name, fn, threads, baseline, what in measurements:
            ours = rate(fn, args.seconds, threads)
            if baseline is None:
                print(f"{name:44} {ours:12,.0f}")
                continue
            base = rate(baseline, args.seconds, threads)
            print(f"{name:44} {ours:12,.0f} {base:15,.0f}  {ours / base:5.2f}x ({what})")
        seen = reg.snapshot().generation - start_generation
        print(f"snapshots replaced during the run: {seen} (writer: ", end="")
        proc.wait(timeout=total + 30)
        print(f"{proc.stdout.read().strip()} commits/s)")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        reg.close()


class _Recorder:
    def get_class_object(self, plan, iid):
        return plan

    def create_instance(self, plan, iids):
        raise NotImplementedError


if __name__ == "__main__":
    main()
