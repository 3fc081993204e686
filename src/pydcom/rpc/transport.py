"""Socket plumbing both ends share: writing a list of buffers to a stream socket in one system
call (a gathering write, sendmsg), so that a fragmented PDU's headers and the stub pieces they
frame leave without being joined; and the buffer a connection reads into."""

from __future__ import annotations

import mmap
import socket

# At most this many buffers per sendmsg: Linux takes IOV_MAX (1024) at a time.
_MAX_BUFFERS = 512
_GATHER = hasattr(socket.socket, "sendmsg")


def send_buffers(sock: socket.socket, buffers: list) -> None:
    """Send every byte of ``buffers`` in order, as sendall would their join; OSError as sendall
    raises it (a send timeout included, BlockingIOError)."""
    if not _GATHER:
        for buffer in buffers:
            sock.sendall(buffer)
        return
    sendmsg = sock.sendmsg
    start = 0
    count = len(buffers)
    while start < count:
        batch = buffers[start:start + _MAX_BUFFERS]
        sent = sendmsg(batch)
        start += len(batch)
        # A partial write (a signal, a send timeout after some bytes): skip what went out,
        # then send the rest of the buffer it stopped in, and go on.
        for i, buffer in enumerate(batch):
            size = len(buffer)  # bytes, bytearray or a byte-format memoryview: bytes = len
            if sent < size:
                sock.sendall(memoryview(buffer)[sent:])
                buffers = batch[i + 1:] + buffers[start:]
                start, count = 0, len(buffers)
                break
            sent -= size


def recv_buffer(size: int) -> memoryview:
    """A connection's own buffer for recv_into: an anonymous page mapping rather than a heap
    block, so that connections coming and going leave no holes in the allocator's arenas,
    and its pages go back to the system when the connection is let go."""
    return memoryview(mmap.mmap(-1, size))
