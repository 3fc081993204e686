"""Hostile input on the authenticated path, against a live server that takes calls at packet
integrity and above, in its own process: mutated NTLM tokens in bind, alter_context and auth3;
tampered, truncated, replayed and reordered signed PDUs; legs out of order; handshakes never
finished. Each is refused (a fault, a bind_nak, a closed connection), the server keeps serving,
its memory stays bounded, and no connection thread dies. With test_fuzz.py's unauthenticated
run, over 20,000 hostile inputs in all."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time

import pytest

from pydcom.hresult import E_ACCESSDENIED
from pydcom.rpc import RpcClient
from pydcom.rpc import pdu as P
from pydcom.rpc.client_connection import ClientConnection
from pydcom.rpc.constants import NDR_SYNTAX, PFC_SINGLE
from pydcom.rpc.errors import RpcError
from pydcom.rpc.security import AuthLevel, ClientAuth

from ..support import wait_until
from .serve_test_interfaces import ACCOUNT
from .support import OP_ECHO, OTHER_IF, TEST_IF
from .test_fuzz import ROOT, mutate, open_sockets, rss_kib

TOTAL_INPUTS = 12_000
TIME_BOUND = 180.0
LEVELS = (AuthLevel.CONNECT, AuthLevel.PKT_INTEGRITY, AuthLevel.PKT_PRIVACY)


def _token_mutation(rng: random.Random, token: bytes) -> bytes:
    """An NTLM message bent: bits, lengths and offsets of its fields, truncation, garbage."""
    raw = bytearray(token)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.4 and raw:
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        elif roll < 0.6 and len(raw) > 20:  # a field's length or offset
            at = rng.randrange(12, min(len(raw), 88) - 2, 2)
            raw[at:at + 2] = rng.choice([b"\xff\xff", b"\x00\x00", os.urandom(2)])
        elif roll < 0.8 and raw:
            del raw[rng.randrange(len(raw)):]
        else:
            raw += os.urandom(rng.randint(1, 40))
    return bytes(raw)


class Session:
    """One connection: a real client's state beside the hostile bytes sent on it."""

    def __init__(self, port: int, rng: random.Random) -> None:
        self.rng = rng
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.conn = ClientConnection(auth=ClientAuth(*ACCOUNT, level=rng.choice(LEVELS)))
        self.sent: list[bytes] = []  # what went out, for replays
        self.context = 0
        self.open = True

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
        except OSError:
            self.open = False
            return False
        self.sent.append(data)
        return True

    def drain(self, wait: bool = False) -> bytes:
        """What the server answered so far: all that is there now, or with ``wait`` the first
        answer (the server answers a bind or closes, within the socket's 2 s)."""
        self.sock.settimeout(2 if wait else 0)
        data = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.open = False
                    break
                data += chunk
                if wait:
                    break
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            self.open = False
        return data

    def handshake(self) -> int:
        """Bind, with the NEGOTIATE as it is or bent; then the auth3, as it is, bent, twice,
        or never. The inputs sent."""
        rng = self.rng
        bind = self.conn.bind([TEST_IF])
        if rng.random() < 0.3:
            pdu = P.decode_pdu(bind)
            pdu.auth = P.AuthVerifier(pdu.auth.auth_type, rng.choice((1, 2, 5, 6, 9)),
                                      rng.choice((0, 0, 1, 79231)),
                                      _token_mutation(rng, pdu.auth.token))
            bind = pdu.encode()
        if not self.send(bind):
            return 0
        answer = self.drain(wait=True)
        try:
            self.conn.receive_data(answer)
            event = self.conn.next_event()
        except RpcError:
            return 1
        if event is None or TEST_IF not in getattr(event, "accepted", {}):
            return 1
        self.context = event.accepted[TEST_IF]
        auth3 = self.conn.data_to_send()
        roll = rng.random()
        if roll < 0.1:
            return 1  # a handshake never finished
        if roll < 0.3:
            pdu = P.decode_pdu(auth3)
            pdu.auth.token = _token_mutation(rng, pdu.auth.token)
            auth3 = pdu.encode()
        sent = 1 + self.send(auth3)
        if roll > 0.9:
            sent += self.send(auth3)  # the last leg twice
        return sent

    def hostile(self) -> bool:
        """One hostile input on the open connection."""
        rng, conn = self.rng, self.conn
        roll = rng.random()
        try:
            _, fragments = conn.request(self.context, OP_ECHO, os.urandom(rng.randint(0, 300)))
        except RpcError:
            fragments = [P.Request(conn.next_call_id(), self.context, OP_ECHO, b"x").encode()]
        request = fragments[0]
        if roll < 0.2:  # a valid call now and then: the state stays interesting
            data = request
        elif roll < 0.4:  # tampered anywhere
            raw = bytearray(request)
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            data = bytes(raw)
        elif roll < 0.5 and self.sent:  # a replay of anything sent before
            data = rng.choice(self.sent)
        elif roll < 0.6:  # reordered: the next request before this one
            _, later = conn.request(self.context, OP_ECHO, b"later")
            data = later[0] + request
        elif roll < 0.7:  # a signature cut short or lengthened
            cut = rng.randint(1, 20)
            data = request[:-cut] if rng.random() < 0.5 else request + os.urandom(cut)
        elif roll < 0.8:  # an alter_context with a bent handshake on another context
            token = _token_mutation(rng, rng.choice(
                (b"NTLMSSP\x00\x01\x00\x00\x00" + os.urandom(28),
                 b"NTLMSSP\x00\x03\x00\x00\x00" + os.urandom(60), b"")))
            data = P.AlterContext(conn.next_call_id(), (P.ContextElement(
                rng.randrange(8), rng.choice((TEST_IF, OTHER_IF)), (NDR_SYNTAX,)),),
                auth=P.AuthVerifier(10, rng.choice((2, 5, 6)), rng.randrange(4), token)).encode()
        elif roll < 0.9:  # an auth3 out of turn
            data = P.Auth3(PFC_SINGLE, conn.next_call_id(), P.AuthVerifier(
                10, 5, rng.randrange(4), _token_mutation(rng, b"NTLMSSP\x00\x03\x00\x00\x00"
                                                          + os.urandom(80)))).encode()
        else:
            data = mutate(rng, request, self.sent or [request])
        ok = self.send(data)
        self.drain()
        return ok

    def close(self) -> None:
        self.sock.close()


@pytest.mark.slow
def test_hostile_input_on_the_authenticated_path_leaves_the_server_serving():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    proc = subprocess.Popen([sys.executable, "-m", "tests.rpc.serve_test_interfaces", "auth"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    try:
        port = int(proc.stdout.readline())
        idle = open_sockets(proc.pid)

        def connections_done() -> bool:
            return open_sockets(proc.pid) <= idle

        rng = random.Random(20261206)
        deadline = time.monotonic() + TIME_BOUND
        sent, baseline = 0, None
        while sent < TOTAL_INPUTS:
            assert time.monotonic() < deadline, f"{sent} of {TOTAL_INPUTS} after {TIME_BOUND}s"
            session = Session(port, rng)
            try:
                sent += session.handshake()
                for _ in range(rng.randint(1, 30)):
                    if not session.open or not session.hostile():
                        break
                    sent += 1
            finally:
                session.close()
            if baseline is None and sent >= 2000:
                wait_until(connections_done, 30, "the server closed the fuzzer's connections")
                baseline = rss_kib(proc.pid)
        assert proc.poll() is None, "the server process died"
        good = ClientAuth(*ACCOUNT, level=AuthLevel.PKT_PRIVACY)
        with RpcClient("127.0.0.1", port, connect_timeout=5, timeout=10, auth=good) as client:
            assert client.call(TEST_IF, OP_ECHO, b"still serving") == b"still serving"
        with RpcClient("127.0.0.1", port, connect_timeout=5, timeout=10) as anonymous:
            with pytest.raises(RpcError) as refused:
                anonymous.call(TEST_IF, OP_ECHO, b"x")
            assert refused.value.hresult == E_ACCESSDENIED
        wait_until(connections_done, 30, "the server closed the fuzzer's connections")
        grown = rss_kib(proc.pid) - baseline
        assert grown < 16 * 1024, f"server RSS grew by {grown} KiB over the fuzz run"
    finally:
        try:
            _, errors = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, errors = proc.communicate()
    assert "Exception in thread" not in errors, errors[-3000:]
    assert "Traceback" not in errors, errors[-3000:]
