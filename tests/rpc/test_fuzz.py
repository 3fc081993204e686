"""Mutated and random PDUs against a live server in its own process: it must keep serving and
its memory must stay bounded."""

from __future__ import annotations

import os
import random
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pydcom.rpc import RpcClient
from pydcom.rpc import pdu as P
from pydcom.rpc.constants import NDR64_SYNTAX, NDR_SYNTAX, bind_time_feature_syntax

from ..support import wait_until
from .support import OP_ECHO, OTHER_IF, TEST_IF

ROOT = Path(__file__).resolve().parents[2]
TOTAL_PDUS = 12_000
# The run normally takes a second or two. The bound only keeps a broken run from taking the
# suite's whole timeout; how fast the server is is for bench/, not for this test.
TIME_BOUND = 120.0


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_sockets(pid: int) -> int:
    """How many sockets the process holds: its listener, plus one per connection it serves."""
    fds = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except FileNotFoundError:  # closed while we looked
            pass
    return count


def seeds() -> list[bytes]:
    ctx = (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),)
    return [
        P.Bind(1, ctx).encode(),
        P.Bind(1, ctx + (P.ContextElement(1, TEST_IF, (NDR64_SYNTAX,)),
                         P.ContextElement(2, TEST_IF, (bind_time_feature_syntax(3),)))).encode(),
        P.AlterContext(2, (P.ContextElement(3, OTHER_IF, (NDR_SYNTAX,)),)).encode(),
        P.Request(3, 0, OP_ECHO, b"payload" * 5).encode(),
        P.Request(4, 0, OP_ECHO, b"x" * 40, flags=1).encode(),
        P.Request(4, 0, OP_ECHO, b"y" * 40, flags=2).encode(),
        P.Request(5, 0, OP_ECHO, b"obj", object=TEST_IF.uuid).encode(),
        P.Request(6, 0, OP_ECHO, b"a", auth=P.AuthVerifier(10, 6, 0, bytes(16))).encode(),
        P.Bind(1, ctx, auth=P.AuthVerifier(10, 2, 0, b"NTLMSSP\0" + bytes(24))).encode(),
        P.Auth3(3, 7, P.AuthVerifier(10, 2, 0, bytes(40))).encode(),
        P.Orphaned(3, 8).encode(),
        P.CoCancel(3, 9).encode(),
        P.Shutdown(3, 9).encode(),
        P.encode_fault(10, 0, 5),
    ]


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    raw = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.3 and raw:  # flip bits
            i = rng.randrange(len(raw))
            raw[i] ^= 1 << rng.randrange(8)
        elif choice < 0.5 and raw:  # interesting byte values
            i = rng.randrange(len(raw))
            raw[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif choice < 0.6 and len(raw) >= 12:  # frag_length / auth_length lies
            struct.pack_into("<H", raw, rng.choice([8, 10]), rng.choice([0, 15, 16, 0xFFFF,
                                                                          rng.randrange(0x10000)]))
        elif choice < 0.7 and raw:  # truncate
            del raw[rng.randrange(len(raw)):]
        elif choice < 0.8:  # extend
            raw += os.urandom(rng.randint(1, 64))
        elif choice < 0.9 and len(raw) > 3:  # another PDU type
            raw[2] = rng.randrange(24)
        else:  # splice with another seed
            other = rng.choice(corpus)
            cut = rng.randrange(len(other) + 1)
            raw = raw[:rng.randrange(len(raw) + 1)] + other[cut:]
    return bytes(raw)


def fuzz_connection(port: int, rng: random.Random, corpus: list[bytes], count: int) -> int:
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.settimeout(0.0)
        if rng.random() < 0.7:
            sock.sendall(corpus[0])
            sent += 1
        for _ in range(count):
            roll = rng.random()
            if roll < 0.1:
                data = os.urandom(rng.randint(1, 200))
            elif roll < 0.2:
                data = rng.choice(corpus)
            else:
                data = mutate(rng, rng.choice(corpus), corpus)
            try:
                sock.sendall(data)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            try:
                while sock.recv(65536):
                    pass
            except (BlockingIOError, ConnectionResetError):
                pass
    return sent


@pytest.mark.slow
def test_fuzzed_pdus_leave_the_server_serving_and_bounded():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    proc = subprocess.Popen([sys.executable, "-m", "tests.rpc.serve_test_interfaces"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env,
                            cwd=ROOT)
    try:
        port = int(proc.stdout.readline())
        idle = open_sockets(proc.pid)  # the listener

        def connections_done() -> bool:  # every connection the fuzzer made is closed
            return open_sockets(proc.pid) <= idle

        rng = random.Random(20261127)
        corpus = seeds()
        deadline = time.monotonic() + TIME_BOUND
        sent = 0
        baseline = None
        while sent < TOTAL_PDUS:
            assert time.monotonic() < deadline, f"{sent} of {TOTAL_PDUS} PDUs after {TIME_BOUND}s"
            sent += fuzz_connection(port, rng, corpus, rng.randint(1, 40))
            if baseline is None and sent >= 2000:
                wait_until(connections_done, 30, "the server closed the fuzzer's connections")
                baseline = rss_kib(proc.pid)
        assert proc.poll() is None, "the server process died"
        with RpcClient("127.0.0.1", port, connect_timeout=5, timeout=10) as client:
            assert client.call(TEST_IF, OP_ECHO, b"still serving") == b"still serving"
        wait_until(connections_done, 30, "the server closed the fuzzer's connections")
        grown = rss_kib(proc.pid) - baseline
        assert grown < 16 * 1024, f"server RSS grew by {grown} KiB over the fuzz run"
    finally:
        try:
            _, errors = proc.communicate(timeout=10)  # closes stdin: the server stops
        except subprocess.TimeoutExpired:
            proc.kill()
            _, errors = proc.communicate()
    # A connection thread that died of an exception would have said so here.
    assert "Exception in thread" not in errors, errors[-3000:]
