"""A loopback endpoint that takes no connections and refuses none: connect() gets no answer."""

from __future__ import annotations

import contextlib
import select
import socket
from typing import Iterator

from .support import wait_until


def connected(sock: socket.socket) -> bool:
    """Whether a non-blocking connect() has completed."""
    return bool(select.select([], [sock], [], 0)[1]) and not sock.getsockopt(
        socket.SOL_SOCKET, socket.SO_ERROR)


@contextlib.contextmanager
def unanswered_port(host: str) -> Iterator[int]:
    """A port on ``host`` whose listener's accept queue is full, so the kernel drops further
    SYNs: a connect() there waits out its whole timeout."""
    with socket.socket() as listener:
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):  # the first one or two fit in the queue; the rest keep it full
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex((host, port))
                fillers.append(filler)
            # The queue is full once the first filler's handshake is done: it sits there.
            wait_until(lambda: connected(fillers[0]), 5, "a connection waits in the accept queue")
            yield port
        finally:
            for filler in fillers:
                filler.close()
