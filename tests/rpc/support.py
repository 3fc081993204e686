"""Test interfaces served by the RPC tests' servers."""

from __future__ import annotations

import threading
import uuid

from pydcom.rpc import Interface, RpcFault, RpcServer, ServerLimits, SyntaxId

# Random UUIDs of our own (Wireshark knows none of them, so it never mistakes them for a real
# interface).
TEST_IF = SyntaxId(uuid.UUID("c8a3e0d2-51f6-4e1c-9d27-3b6f0a0e7b11"), 1, 0)
OTHER_IF = SyntaxId(uuid.UUID("2d7f8e10-9c3b-4a55-8e61-5a0c1d2e3f40"), 0, 0)

OP_ECHO, OP_FAULT, OP_CRASH, OP_SLOW, OP_REVERSE = 0, 1, 2, 3, 4


class SlowCalls:
    """OP_SLOW's calls in this process: a test waits until its call has started (so the server
    is inside it) instead of guessing how long that takes, and may end those still running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[threading.Event] = set()
        self.started = 0

    def run(self, seconds: float) -> None:
        finish = threading.Event()
        with self._lock:
            self.started += 1
            self._running.add(finish)
        try:
            finish.wait(seconds)
        finally:
            with self._lock:
                self._running.discard(finish)

    def finish_all(self) -> None:
        with self._lock:
            for finish in self._running:
                finish.set()


SLOW_CALLS = SlowCalls()


def _slow(call):
    SLOW_CALLS.run(float(call.stub.decode() or "0.5"))
    return b"done"


def _fault(call):
    raise RpcFault(int.from_bytes(call.stub[:4] or b"\x05\x00\x00\x00", "little"))


def _crash(call):
    raise RuntimeError("handler bug")


TEST_INTERFACES = (
    Interface(TEST_IF, {OP_ECHO: lambda call: call.stub, OP_FAULT: _fault, OP_CRASH: _crash,
                        OP_SLOW: _slow, OP_REVERSE: lambda call: call.stub[::-1]}, "test"),
    Interface(OTHER_IF, {0: lambda call: b"other:" + call.stub}, "other"),
)


def start_server(auth=None, **limits) -> RpcServer:
    return RpcServer("127.0.0.1", 0, interfaces=TEST_INTERFACES,
                     limits=ServerLimits(**limits), auth=auth).start()
