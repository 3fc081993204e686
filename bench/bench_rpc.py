"""Null RPC call on loopback beside raw Python blocking-socket ping-pong, measured in one run.

    python bench/bench_rpc.py [--seconds 2] [--clients 8]

For each placement (server and clients on one CPU; server on CPU 0 and clients on CPU 1) it
measures, for a raw echo server and for pydcom's RpcServer with a null operation (empty request,
empty response):
  - one client: calls/s, p50 and p99 latency;
  - N client processes: total calls/s, p50 and p99;
  - connect (+ bind) + first call, against a raw connect + one ping-pong.
Both servers are threaded (a thread per connection), so the ratio is the cost of the protocol.
This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from multiprocessing import get_context

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from pydcom.rpc import Interface, RpcClient, RpcServer, SyntaxId  # noqa: E402

NULL_IF = SyntaxId(uuid.UUID("0b5a2f6e-8d1c-4c51-9a3e-7f00000000b1"), 1, 0)
RAW_MESSAGE = bytes(24)  # the size of a null request PDU, and of its response


# -- servers (run in a subprocess pinned with taskset) ---------------------------------------
def serve_raw(listener: socket.socket) -> None:
    def echo(sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with sock:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                sock.sendall(data)

    while True:
        sock, _ = listener.accept()
        threading.Thread(target=echo, args=(sock,), daemon=True).start()


def run_server(kind: str) -> None:
    if kind == "raw":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        print(listener.getsockname()[1], flush=True)
        serve_raw(listener)
    else:
        server = RpcServer(interfaces=[Interface(NULL_IF, {0: lambda call: b""})]).start()
        print(server.address[1], flush=True)
        threading.Event().wait()


# -- clients -------------------------------------------------------------------------------
def raw_loop(port: int, seconds: float) -> list[int]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies = []
    clock = time.perf_counter_ns
    deadline = clock() + int(seconds * 1e9)
    send, recv, msg = sock.sendall, sock.recv, RAW_MESSAGE
    while True:
        start = clock()
        send(msg)
        recv(65536)
        end = clock()
        latencies.append(end - start)
        if end > deadline:
            break
    sock.close()
    return latencies


def rpc_loop(port: int, seconds: float) -> list[int]:
    client = RpcClient("127.0.0.1", port)
    client.call(NULL_IF, 0)
    latencies = []
    clock = time.perf_counter_ns
    deadline = clock() + int(seconds * 1e9)
    call = client.call
    while True:
        start = clock()
        call(NULL_IF, 0)
        end = clock()
        latencies.append(end - start)
        if end > deadline:
            break
    client.close()
    return latencies


def raw_connect(port: int) -> int:
    start = time.perf_counter_ns()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(RAW_MESSAGE)
    sock.recv(65536)
    elapsed = time.perf_counter_ns() - start
    sock.close()
    return elapsed


def rpc_connect(port: int) -> int:
    start = time.perf_counter_ns()
    client = RpcClient("127.0.0.1", port)
    client.call(NULL_IF, 0)
    elapsed = time.perf_counter_ns() - start
    client.close()
    return elapsed


def _worker(kind: str, port: int, seconds: float, cpu: int, queue) -> None:
    os.sched_setaffinity(0, {cpu})
    latencies = (raw_loop if kind == "raw" else rpc_loop)(port, seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((latencies, usage.ru_utime + usage.ru_stime))


def summarize(latencies: list[int], seconds: float | None = None) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    rate = len(latencies) / seconds if seconds else 1e9 / statistics.fmean(latencies)
    return rate, p50, p99


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(kind: str, cpu: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, __file__, "--serve", kind],
                            stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, port


def measure(kind: str, server_cpu: int, client_cpu: int, seconds: float, clients: int) -> dict:
    proc, port = start_server(kind, server_cpu)
    try:
        os.sched_setaffinity(0, {client_cpu})
        loop = raw_loop if kind == "raw" else rpc_loop
        loop(port, 0.2)  # warm up
        one = summarize(loop(port, seconds))
        ctx = get_context("fork")
        queue = ctx.Queue()
        workers = [ctx.Process(target=_worker, args=(kind, port, seconds, client_cpu, queue))
                   for _ in range(clients)]
        cpu_before = cpu_seconds(proc.pid)
        for w in workers:
            w.start()
        results = [queue.get() for _ in workers]
        for w in workers:
            w.join()
        merged = [x for r, _ in results for x in r]
        client_us = sum(cpu for _, cpu in results) / len(merged) * 1e6
        many = summarize(merged, seconds)
        server_us = (cpu_seconds(proc.pid) - cpu_before) / len(merged) * 1e6
        connect = raw_connect if kind == "raw" else rpc_connect
        for _ in range(20):
            connect(port)
        connects = sorted(connect(port) for _ in range(300))
        connect_us = connects[len(connects) // 2] / 1000
    finally:
        proc.kill()
        proc.wait()
    return {"one": one, "many": many, "connect": connect_us, "server_us": server_us,
            "client_us": client_us}


def median_of(results: list[dict]) -> dict:
    def med(values):
        return sorted(values)[len(values) // 2]
    merged = {}
    for key, value in results[0].items():
        if isinstance(value, tuple):
            merged[key] = tuple(med([r[key][i] for r in results]) for i in range(len(value)))
        else:
            merged[key] = med([r[key] for r in results])
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; medians shown")
    parser.add_argument("--serve", choices=["raw", "rpc"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_server(args.serve)
        return
    cpus = sorted(os.sched_getaffinity(0))
    placements = [("same CPU", cpus[0], cpus[0])]
    if len(cpus) > 1:
        placements.append(("split CPUs", cpus[0], cpus[1]))
    print(f"null call, {args.seconds:.1f} s per run, {args.clients} client processes for 'many', "
          f"median of {args.rounds} alternating rounds")
    for label, server_cpu, client_cpu in placements:
        # Alternate the two, several rounds, and keep each figure's median: this machine's
        # speed drifts by tens of percent from one second to the next.
        rounds = [(measure("raw", server_cpu, client_cpu, args.seconds, args.clients),
                   measure("rpc", server_cpu, client_cpu, args.seconds, args.clients))
                  for _ in range(args.rounds)]
        raw, rpc = (median_of([r[i] for r in rounds]) for i in (0, 1))
        print(f"\n== {label}: server on CPU {server_cpu}, clients on CPU {client_cpu}")
        print(f"{'':24}{'raw socket':>22}{'pydcom rpc':>22}{'ratio':>8}")
        for key, name in (("one", "1 client"), ("many", f"{args.clients} clients")):
            r, p = raw[key], rpc[key]
            print(f"{name + ' calls/s':24}{r[0]:>22,.0f}{p[0]:>22,.0f}{p[0] / r[0]:>8.2f}")
            print(f"{name + ' p50/p99 us':24}{f'{r[1]:.1f}/{r[2]:.1f}':>22}"
                  f"{f'{p[1]:.1f}/{p[2]:.1f}':>22}")
        print(f"{'server CPU us/call (N)':24}{raw['server_us']:>22.1f}{rpc['server_us']:>22.1f}")
        print(f"{'client CPU us/call (N)':24}{raw['client_us']:>22.1f}{rpc['client_us']:>22.1f}")
        print(f"{'connect+first call us':24}{raw['connect']:>22.1f}{rpc['connect']:>22.1f}"
              f"{rpc['connect'] / raw['connect']:>8.2f}  (rpc includes bind; ratio = time, lower is better)")


if __name__ == "__main__":
    main()
