"""Why RpcServer uses a thread per connection: the same echo server as blocking threads and as
asyncio (its fastest form, a Protocol with data_received), measured in one run.

    python bench/bench_server_model.py [--seconds 2] [--clients 8]

The server runs in a subprocess on CPU 0; clients run on CPU 0 (same CPU) and on CPU 1 (split).
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing import get_context

MESSAGE = bytes(24)


def serve_threads() -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    print(listener.getsockname()[1], flush=True)

    def echo(sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := sock.recv(65536):
            sock.sendall(data)

    while True:
        sock, _ = listener.accept()
        threading.Thread(target=echo, args=(sock,), daemon=True).start()


def serve_asyncio() -> None:
    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def client_loop(port: int, seconds: float, cpu: int, queue) -> None:
    os.sched_setaffinity(0, {cpu})
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sock.sendall(MESSAGE)
        sock.recv(65536)
        count += 1
    sock.close()
    queue.put(count)


def measure(model: str, clients: int, client_cpu: int, seconds: float) -> float:
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, __file__, "--serve", model],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        ctx = get_context("fork")
        queue = ctx.Queue()
        workers = [ctx.Process(target=client_loop, args=(port, seconds, client_cpu, queue))
                   for _ in range(clients)]
        for w in workers:
            w.start()
        total = sum(queue.get() for _ in workers)
        for w in workers:
            w.join()
        return total / seconds
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--serve", choices=["threads", "asyncio"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        (serve_threads if args.serve == "threads" else serve_asyncio)()
        return
    cpus = sorted(os.sched_getaffinity(0))
    print("echo round trips/s, server on CPU 0 (threads = a thread per connection)")
    print(f"{'placement':14}{'clients':>8}{'threads':>12}{'asyncio':>12}{'asyncio/threads':>17}")
    for label, cpu in (("same CPU", cpus[0]), ("split CPUs", cpus[-1])):
        for clients in (1, args.clients):
            threads = measure("threads", clients, cpu, args.seconds)
            asyncio_rate = measure("asyncio", clients, cpu, args.seconds)
            print(f"{label:14}{clients:>8}{threads:>12,.0f}{asyncio_rate:>12,.0f}"
                  f"{asyncio_rate / threads:>17.2f}")


if __name__ == "__main__":
    main()
