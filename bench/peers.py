"""Baselines for pydcom's call benchmarks: raw sockets, ZeroMQ and Pyro5, measured in the same run.

    python bench/peers.py [--seconds 1] [--rounds 3] [--threads 1 8]

What is measured, for each peer:
  - calls/s of a small request answered by a small reply:
      raw   TCP with TCP_NODELAY: a 4-byte length and 16 bytes out, the same frame echoed back
            (the floor: no serialization, no dispatch);
      zmq   pyzmq REQ/REP: two int64s packed with struct, answered with their sum;
      pyro  Pyro5 proxy call add(2, 3) on a registered object (TCP_NODELAY, marshal serializer);
  - MB/s of a 1 MiB echo round trip: 1 MiB out, the same 1 MiB back; MB/s is round trips/s x
    1,048,576 / 1e6, the payload counted once (the bytes on the wire both ways are twice that).

How: each peer's server runs in its own subprocess pinned with `taskset -c SERVER_CPU`, listening
on 127.0.0.1 on an ephemeral port that it prints on stdout; it exits when its stdin closes, and
the parent also kills it by pid in a finally. The client pins itself (os.sched_setaffinity) to
CLIENT_CPU, runs N client threads (each its own socket, REQ socket or proxy; a few warm-up calls
each), releases them together and counts calls for a fixed number of seconds; the rate is total
calls over the time until the last thread stops. Peers alternate within each round and the
median of the rounds is reported, since this machine's speed drifts from second to second.
Servers: raw is a thread per connection; zmq is one REP socket in one thread (fair-queued between
clients); Pyro5 is its default thread-pool server.

Another benchmark imports measure_peers() (and calls_per_second(), to measure its own calls the
same way) and prints its figures beside these. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from typing import Callable

import Pyro5.api
import zmq

HOST = "127.0.0.1"  # loopback only
TIMEOUT = 30.0  # seconds; bounds every wait (socket I/O, server start, thread joins)
MIB = 1024 * 1024
PAYLOAD = bytes(MIB)
HEADER = struct.Struct("<I")  # raw frames: a little-endian length, then that many bytes
ADD = struct.Struct("<qq")  # zmq add request: two int64s
SUM = struct.Struct("<q")  # zmq add reply
PEERS = ("raw", "zmq", "pyro")
NAMES = {"raw": "raw socket", "zmq": "ZeroMQ REQ/REP", "pyro": "Pyro5"}

# marshal rather than serpent: marshal carries bytes as bytes and is the faster of the two (here
# about 2x on add and 8x on the 1 MiB echo); serpent sends bytes as a base64 dict, which the
# caller must turn back with serpent.tobytes.
Pyro5.config.SERIALIZER = "marshal"
Pyro5.config.SOCK_NODELAY = True  # as the raw sockets


# -- raw frames --------------------------------------------------------------------------------
def recv_frame(sock: socket.socket) -> bytes | bytearray:
    """One length-prefixed frame, header included; a small frame costs a single recv."""
    data = sock.recv(65536)
    while len(data) < HEADER.size:
        more = sock.recv(65536)
        if not more:
            raise EOFError
        data += more
    total = HEADER.size + HEADER.unpack_from(data)[0]
    if len(data) == total:
        return data
    buf = bytearray(total)
    buf[: len(data)] = data
    view, got = memoryview(buf), len(data)
    while got < total:
        n = sock.recv_into(view[got:])
        if not n:
            raise EOFError
        got += n
    return buf


# -- servers (each in a subprocess: peers.py --serve KIND) ---------------------------------------
def serve_raw() -> int:
    listener = socket.create_server((HOST, 0), backlog=128)

    def echo(sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(600)  # an idle client; the parent closes connections it is done with
        with sock:
            try:
                while True:
                    sock.sendall(recv_frame(sock))
            except (EOFError, OSError):
                return

    def accept() -> None:
        while True:
            sock, _ = listener.accept()
            threading.Thread(target=echo, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def serve_zmq() -> int:
    rep = zmq.Context(io_threads=1).socket(zmq.REP)
    port = rep.bind_to_random_port(f"tcp://{HOST}")

    def loop() -> None:
        while True:
            frame = rep.recv(copy=False)
            if len(frame) == ADD.size:  # add; anything else is echoed
                rep.send(SUM.pack(sum(ADD.unpack(frame.bytes))))
            else:
                rep.send(frame, copy=False)

    threading.Thread(target=loop, daemon=True).start()
    return port


@Pyro5.api.expose
class PyroPeer:
    def add(self, a: int, b: int) -> int:
        return a + b

    def echo(self, data: bytes) -> bytes:
        return data


def serve_pyro() -> int:
    daemon = Pyro5.api.Daemon(host=HOST, port=0)
    daemon.register(PyroPeer(), "peer")
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    return daemon.sock.getsockname()[1]


def serve(kind: str) -> None:
    port = {"raw": serve_raw, "zmq": serve_zmq, "pyro": serve_pyro}[kind]()
    print(port, flush=True)
    sys.stdin.read()  # the parent closes stdin (or dies): stop
    os._exit(0)


class Server:
    """A peer's server in a subprocess pinned to one CPU, ``script --serve kind`` (this file's
    peers by default; another benchmark's own servers too): it prints its port, and stops
    when its stdin closes, else by its pid. A context manager."""

    def __init__(self, kind: str, cpu: int, script: str = __file__) -> None:
        self.kind = kind
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(cpu), sys.executable, os.path.abspath(script), "--serve", kind],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
            line = self.proc.stdout.readline() if ready else ""
            if not line.strip().isdigit():
                raise RuntimeError(f"{kind} server did not start (printed {line!r})")
            self.port = int(line)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.proc.stdin.close()  # asked first: a server with processes of its own stops them
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # Popen.kill signals this pid only (taskset execs the server)
            self.proc.wait(TIMEOUT)
        self.proc.stdout.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# -- clients: connect(kind, port, bulk) -> (call, close) -----------------------------------------
def connect_raw(port: int, bulk: bool):
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frame = HEADER.pack(MIB) + PAYLOAD if bulk else HEADER.pack(ADD.size) + ADD.pack(2, 3)
    send = sock.sendall

    def call() -> None:
        send(frame)
        if len(recv_frame(sock)) != len(frame):
            raise RuntimeError("raw echo: wrong length")

    return call, sock.close


def connect_zmq(port: int, bulk: bool, context: zmq.Context):
    req = context.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, int(TIMEOUT * 1000))
    req.setsockopt(zmq.SNDTIMEO, int(TIMEOUT * 1000))
    req.connect(f"tcp://{HOST}:{port}")
    send, recv = req.send, req.recv

    def add() -> None:
        send(ADD.pack(2, 3))
        if SUM.unpack(recv())[0] != 5:
            raise RuntimeError("zmq add: wrong sum")

    def echo() -> None:
        send(PAYLOAD, copy=False)
        if len(recv(copy=False)) != MIB:
            raise RuntimeError("zmq echo: wrong length")

    return (echo if bulk else add), req.close


def connect_pyro(port: int, bulk: bool):
    proxy = Pyro5.api.Proxy(f"PYRO:peer@{HOST}:{port}")
    proxy._pyroTimeout = TIMEOUT
    proxy._pyroBind()

    def add() -> None:
        if proxy.add(2, 3) != 5:
            raise RuntimeError("pyro add: wrong sum")

    def echo() -> None:
        if len(proxy.echo(PAYLOAD)) != MIB:
            raise RuntimeError("pyro echo: wrong length")

    return (echo if bulk else add), proxy._pyroRelease


# -- the measuring loop -------------------------------------------------------------------------
def calls_per_second(connect: Callable[[], tuple[Callable[[], object], Callable[[], object]]],
                     seconds: float, threads: int, warmup: int = 3) -> float:
    """Total calls/s of `threads` threads, each with its own connect() -> (call, close).

    Each thread connects and makes `warmup` calls; then all start together and call for
    `seconds`. Threads inherit the calling thread's CPU affinity.
    """
    counts = [0] * threads
    ends = [0.0] * threads
    started: list[float] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads, action=lambda: started.append(time.perf_counter()))

    def worker(i: int) -> None:
        try:
            call, close = connect()
            try:
                for _ in range(warmup):
                    call()
                barrier.wait(TIMEOUT)
                clock, n = time.perf_counter, 0
                deadline = started[0] + seconds
                while True:
                    call()
                    n += 1
                    if clock() >= deadline:
                        break
                counts[i], ends[i] = n, clock()
            finally:
                close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + 2 * TIMEOUT)
    if errors:
        raise errors[0]
    if any(w.is_alive() for w in workers):
        raise TimeoutError("a client thread did not finish")
    return sum(counts) / (max(ends) - started[0])


def measure_peers(server_cpu: int, client_cpu: int, seconds: float = 1.0, threads: int = 1,
                  rounds: int = 3) -> dict[str, dict[str, float]]:
    """Measure every peer with `threads` client threads; the median of `rounds` rounds.

    Returns {"raw" | "zmq" | "pyro": {"calls_per_s": small calls/s, "echo_mb_per_s": MB/s of
    the 1 MiB echo round trip}}. The calling thread is pinned to client_cpu while measuring and
    its affinity restored afterwards.
    """
    affinity = os.sched_getaffinity(0)
    servers: dict[str, Server] = {}
    context = None
    try:
        for kind in PEERS:
            servers[kind] = Server(kind, server_cpu)
        os.sched_setaffinity(0, {client_cpu})
        context = zmq.Context(io_threads=1)  # after pinning: its I/O thread inherits the CPU
        connects = {
            "raw": lambda port, bulk: connect_raw(port, bulk),
            "zmq": lambda port, bulk: connect_zmq(port, bulk, context),
            "pyro": lambda port, bulk: connect_pyro(port, bulk),
        }
        samples: dict[str, dict[str, list[float]]] = {
            kind: {"calls_per_s": [], "echo_mb_per_s": []} for kind in PEERS}
        for _ in range(rounds):
            for kind in PEERS:
                port, connect = servers[kind].port, connects[kind]
                small = calls_per_second(lambda: connect(port, False), seconds, threads, warmup=50)
                bulk = calls_per_second(lambda: connect(port, True), seconds, threads)
                samples[kind]["calls_per_s"].append(small)
                samples[kind]["echo_mb_per_s"].append(bulk * MIB / 1e6)
    finally:
        if context is not None:
            context.term()
        os.sched_setaffinity(0, affinity)
        for server in servers.values():
            server.stop()
    return {kind: {key: statistics.median(values) for key, values in figures.items()}
            for kind, figures in samples.items()}


# -- the table ----------------------------------------------------------------------------------
def placements() -> list[tuple[str, int, int]]:
    """("same CPU", cpu0, cpu0) and, with two CPUs or more, ("split CPUs", cpu0, cpu1)."""
    cpus = sorted(os.sched_getaffinity(0))
    result = [("same CPU", cpus[0], cpus[0])]
    if len(cpus) > 1:
        result.append(("split CPUs", cpus[0], cpus[1]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians shown")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--serve", choices=PEERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    print(f"{args.seconds:g} s per measurement, median of {args.rounds} rounds; "
          f"(x) = ratio to raw socket; 1 MiB echo MB/s counts the payload once per round trip")
    for label, server_cpu, client_cpu in placements():
        results = {n: measure_peers(server_cpu, client_cpu, args.seconds, n, args.rounds)
                   for n in args.threads}
        print(f"\n== {label}: servers on CPU {server_cpu}, client threads on CPU {client_cpu}")
        print(f"{'':28}" + "".join(f"{NAMES[kind]:>22}" for kind in PEERS))
        for key, what, fmt in (("calls_per_s", "calls/s", ",.0f"),
                               ("echo_mb_per_s", "1 MiB echo MB/s", ",.1f")):
            for n, result in results.items():
                raw = result["raw"][key]
                cells = [f"{raw:{fmt}}"] + [f"{result[k][key]:{fmt}} ({result[k][key] / raw:.2f})"
                                            for k in PEERS[1:]]
                row = f"{what}, {n} thread{'s' if n > 1 else ''}"
                print(f"{row:28}" + "".join(f"{cell:>22}" for cell in cells))


if __name__ == "__main__":
    main()
