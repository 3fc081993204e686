"""Kernel-side socket timeouts: they keep sockets blocking, one system call per read or write,
where Python's settimeout would add a poll() before each."""

from __future__ import annotations

import socket
import struct


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1e6))


def set_send_timeout(sock: socket.socket, seconds: float) -> None:
    """Bound each send, and a blocking connect() (which then fails with EINPROGRESS); 0: none."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(seconds))


def set_kernel_timeouts(sock: socket.socket, seconds: float) -> None:
    """Bound every recv (idle time) and send (a peer that stops reading); both end in EAGAIN."""
    value = _timeval(seconds)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
