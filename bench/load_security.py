"""A load test: many concurrent authenticated clients against one service, each activating
Demo.Calculator and calling it, for a fixed time; failures, calls/s, latency percentiles and the
service's memory over the run.

    python bench/load_security.py [--clients 200] [--seconds 60] [--processes 4] [--level integrity]

The service (a Service with NTLM, its accounts file, Demo.Calculator in a surrogate) runs in a
process of its own; the clients are threads spread over --processes processes, each thread an
authenticated client that activates a new object every 20 calls and releases it. Every call must
succeed: the run prints each failure it saw. A load test, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from bench_security import HOST, PASSWORD, USER, serve_dcom  # noqa: E402 - bench/


def clients(port: int, threads: int, seconds: float, level: str, out: str,
            ping_period: float) -> None:
    """Run ``threads`` clients for ``seconds``; write the results to ``out`` as JSON (a file,
    not a pipe: the parent reads it when every client process is done)."""
    from pydcom.automation import wrap
    from pydcom.examples.calculator import CALC_CLSID
    from pydcom.rpc.security import AuthLevel, ClientAuth
    from pydcom.runtime.client import ClientRuntime
    from pydcom.runtime.iids import IID_IDispatch
    from pydcom.runtime.scm_client import remote_activate

    runtime = ClientRuntime(auth=ClientAuth(USER, PASSWORD, level=AuthLevel.named(level)),
                            ping_period=ping_period)
    latencies: list[list[int]] = [[] for _ in range(threads)]
    activations = [0] * threads
    failures: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(threads)
    deadline = [0.0]

    def client(index: int) -> None:
        mine, clock = latencies[index], time.perf_counter_ns
        calc = None
        try:
            start_line.wait()
            i = 0
            while time.monotonic() < deadline[0]:
                if calc is None or i % 20 == 0:
                    if calc is not None:
                        calc.release()
                    [(_, proxy)] = remote_activate(runtime, (HOST, port), CALC_CLSID,
                                                   [IID_IDispatch])
                    calc = wrap(proxy)
                    activations[index] += 1
                begin = clock()
                if calc.Add(index, i) != index + i:
                    raise AssertionError(f"Add({index}, {i}) is wrong")
                mine.append(clock() - begin)
                i += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            if calc is not None:
                try:
                    calc.release()
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        failures.append(f"release: {exc}")

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    deadline[0] = time.monotonic() + seconds + 5  # until all are started
    for worker in workers:
        worker.start()
    deadline[0] = time.monotonic() + seconds
    for worker in workers:
        worker.join(seconds + 120)
    runtime.close()
    with open(out, "w") as file:
        json.dump({"latencies": [x for mine in latencies for x in mine],
                   "activations": sum(activations), "failures": failures,
                   "stuck": sum(w.is_alive() for w in workers)}, file)


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """The processes ``pid`` started, from any of its threads."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found.extend(int(p) for p in listed.read().split())
    except FileNotFoundError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--level", default="integrity", choices=("connect", "integrity", "privacy"))
    parser.add_argument("--ping-period", type=float, default=120.0,
                        help="the service's and the clients' (shorter: collection is seen "
                             "within the run)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_dcom(args.level, prefix="pydcom-load-", ping_period=args.ping_period)
        return
    if args.port:
        clients(args.port, args.threads, args.seconds, args.level, args.out, args.ping_period)
        return

    service = subprocess.Popen([sys.executable, __file__, "--serve", "--level", args.level,
                                "--ping-period", str(args.ping_period)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    runs: list[subprocess.Popen] = []
    try:
        port = int(service.stdout.readline())
        per = [args.clients // args.processes + (i < args.clients % args.processes)
               for i in range(args.processes)]
        started = time.monotonic()
        folder = tempfile.mkdtemp(prefix="pydcom-load-")
        outs = [os.path.join(folder, f"clients-{i}.json") for i in range(len(per))]
        runs = [subprocess.Popen([sys.executable, __file__, "--port", str(port), "--threads",
                                  str(n), "--seconds", str(args.seconds), "--level", args.level,
                                  "--out", out, "--ping-period", str(args.ping_period)])
                for n, out in zip(per, outs)]
        memory = []  # (seconds, service KiB, its server processes' KiB)
        while any(run.poll() is None for run in runs):
            servers = sum(rss_kib(child) for child in children(service.pid))
            memory.append((time.monotonic() - started, rss_kib(service.pid), servers))
            time.sleep(2)
        results = []
        for out in outs:
            with open(out) as file:
                results.append(json.load(file))
            os.remove(out)
        os.rmdir(folder)
    finally:
        for run in runs:  # a client process left behind by a failure: stopped by its pid
            if run.poll() is None:
                run.kill()
                run.wait()
        service.stdin.close()
        try:
            service.wait(15)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
    latencies = sorted(x for r in results for x in r["latencies"])
    failures = [f for r in results for f in r["failures"]]
    stuck = sum(r["stuck"] for r in results)
    calls = len(latencies)
    print(f"{args.clients} authenticated clients ({args.level}) in {args.processes} processes, "
          f"{args.seconds:g} s, against one service (server on the same two CPUs)")
    print(f"calls: {calls:,} ({calls / args.seconds:,.0f}/s), activations: "
          f"{sum(r['activations'] for r in results):,}, failures: {len(failures)}, "
          f"clients stuck: {stuck}")
    if latencies:
        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] / 1e6
        print(f"latency ms: p50 {pct(0.50):.2f}, p90 {pct(0.90):.2f}, p99 {pct(0.99):.2f}, "
              f"max {latencies[-1] / 1e6:.2f}, mean {statistics.fmean(latencies) / 1e6:.2f}")
    if memory:
        print("memory KiB (service, its server processes) at "
              + ", ".join(f"{t:.0f}s: {s:,}/{v:,}" for t, s, v in memory[::max(1, len(memory) // 8)])
              + f", end: {memory[-1][1]:,}/{memory[-1][2]:,}")
    for failure in sorted(set(failures))[:10]:
        print(f"  failure: {failure} (x{failures.count(failure)})")


if __name__ == "__main__":
    main()
