"""DCOM activation, pinging and exporting, measured against raw sockets in the same run.

    python bench/bench_dcom.py [--seconds 3]

- one activation from a cold client (connect, RemoteCreateInstance, connect to the exporter,
  first call on the object) beside a raw TCP connect + one ping-pong;
- remote activations per second, 1 and 16 client threads sharing one client runtime;
- ComplexPing adding 10,000 and 100,000 OIDs to a new set;
- memory per exported object with 100,000 objects exported.

The service and its surrogate run on CPU 0 (the surrogate inherits it), the client on CPU 1
when there are two CPUs ("split"), and everything on CPU 0 for "same CPU".
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [os.path.join(ROOT, "src"), ROOT]
# The service's server processes import the tests' sample class from the Python path.
os.environ["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), ROOT,
                                            os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)

from pydcom.runtime.client import ClientRuntime  # noqa: E402
from pydcom.runtime.exporter import ObjectExporter  # noqa: E402
from pydcom.runtime.scm_client import remote_activate  # noqa: E402
from pydcom.service.resolver import Resolver  # noqa: E402
from pydcom.wire import object_exporter as oe  # noqa: E402
from pydcom.wire.dualstringarray import DualStringArray  # noqa: E402
from tests.service.sample_classes import CALC_CLSID, ICalc  # noqa: E402

HOST = "127.0.0.7"


def serve() -> None:
    """The service process: a pydcom service and a raw echo server, ports on stdout."""
    from pydcom.service.classes import ClassEntry, StaticClassStore
    from pydcom.service.service import Service

    store = StaticClassStore([ClassEntry(CALC_CLSID, python="tests.service.sample_classes:Calculator")])
    service = Service(store, [HOST], 0, grace=600).start()
    echo = socket.socket()
    echo.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    echo.bind((HOST, 0))
    echo.listen(128)

    def echo_connection(sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := sock.recv(65536):
            sock.sendall(data)
        sock.close()

    def accept() -> None:
        while True:
            sock, _ = echo.accept()
            threading.Thread(target=echo_connection, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(service.port, echo.getsockname()[1], flush=True)
    sys.stdin.read()
    service.close()


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def raw_connect_pingpong(port: int) -> float:
    start = time.perf_counter()
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(bytes(24))
    sock.recv(65536)
    elapsed = time.perf_counter() - start
    sock.close()
    return elapsed


def cold_activation(port: int) -> float:
    runtime = ClientRuntime()
    start = time.perf_counter()
    [(_, calc)] = remote_activate(runtime, (HOST, port), CALC_CLSID, [ICalc.iid])
    calc.Add(1, 2)
    elapsed = time.perf_counter() - start
    calc.release()
    runtime.close()
    return elapsed


def activation_rate(port: int, threads: int, seconds: float) -> float:
    runtime = ClientRuntime()
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            [(_, calc)] = remote_activate(runtime, (HOST, port), CALC_CLSID, [ICalc.iid])
            calc.release()
            counts[index] += 1

    work_threads = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for t in work_threads:
        t.start()
    for t in work_threads:
        t.join()
    elapsed = time.perf_counter() - start
    runtime.close()
    return sum(counts) / elapsed


def complex_ping(port: int, count: int) -> float:
    runtime = ClientRuntime()
    oids = list(range(1, count + 1))
    setid = 0  # the first request makes the set
    start = time.perf_counter()
    for first in range(0, count, 0xFFFF):
        chunk = oids[first:first + 0xFFFF]
        request = oe.ComplexPingRequest(setid, first // 0xFFFF + 1,
                                        len(chunk), 0, chunk, None)
        answer = oe.ComplexPingResponse.decode(
            runtime.call((HOST, port), oe.SYNTAX, oe.OP_COMPLEX_PING, request.encode()))
        setid = answer.pSetId
    elapsed = time.perf_counter() - start
    runtime.close()
    return elapsed


class Plain:
    """The smallest exportable object."""

    __slots__ = ("__weakref__",)


def memory_per_object(count: int) -> tuple[float, float]:
    """(bytes per exported object for the exporter's tables, bytes including the objects)."""
    resolver = Resolver(lambda: DualStringArray(), ping_period=3600)
    exporter = ObjectExporter([HOST], resolver=resolver, ping_period=3600)
    objects = [Plain() for _ in range(count)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for obj in objects:
        exporter.marshal(obj)
    gc.collect()
    tables = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    exporter.close()
    resolver.close()
    object_size = sys.getsizeof(Plain())
    return tables / count, tables / count + object_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    cpus = sorted(os.sched_getaffinity(0))
    placements = [("same CPU", cpus[0], cpus[0])]
    if len(cpus) > 1:
        placements.append(("split CPUs", cpus[0], cpus[1]))
    for label, server_cpu, client_cpu in placements:
        proc = subprocess.Popen(["taskset", "-c", str(server_cpu), sys.executable, __file__, "--serve"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            port, echo_port = map(int, proc.stdout.readline().split())
            os.sched_setaffinity(0, {client_cpu})
            cold_activation(port)  # starts the surrogate
            for _ in range(20):
                cold_activation(port)
                raw_connect_pingpong(echo_port)
            # Interleaved, so that both see the same machine (this one's speed drifts).
            activations, raws = [], []
            for _ in range(400):
                activations.append(cold_activation(port))
                raws.append(raw_connect_pingpong(echo_port))
            activation, raw = median(activations) * 1e6, median(raws) * 1e6
            print(f"\n== {label}: service and surrogate on CPU {server_cpu}, client on CPU {client_cpu}")
            print(f"one activation (connect, RemoteCreateInstance, first call): {activation:8.0f} us")
            print(f"raw TCP connect + one ping-pong:                            {raw:8.0f} us"
                  f"   ratio {activation / raw:.1f}x")
            for threads in (1, 16):
                rate = activation_rate(port, threads, args.seconds)
                print(f"remote activations per second, {threads:2d} thread(s): {rate:10,.0f}")
            for count in (10_000, 100_000):
                print(f"ComplexPing adding {count:7,} OIDs to a new set: {complex_ping(port, count) * 1000:8.1f} ms")
        finally:
            proc.stdin.close()
            proc.wait(30)
    tables, total = memory_per_object(100_000)
    print(f"\nmemory per exported object at 100,000 objects: {tables:.0f} bytes in the exporter's "
          f"tables, {total:.0f} with the object itself")


if __name__ == "__main__":
    main()
