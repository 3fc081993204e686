"""A loopback endpoint that takes no connections and refuses none: connect() gets no answer."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Iterator


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
            time.sleep(0.1)
            yield port
        finally:
            for filler in fillers:
                filler.close()
