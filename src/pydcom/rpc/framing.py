"""Cutting a TCP byte stream into whole DCE/RPC fragments by their frag_length (C706 12.6.3.1).

The buffer never holds more than what was fed plus one partial fragment, and a fragment is at
most 65535 bytes (frag_length is 16 bits), so a peer cannot make it grow without bound.
"""

from __future__ import annotations

from typing import Iterator

from pydcom.rpc.pdu import HEADER_SIZE, Header, peek_header


class FrameBuffer:
    """Accumulates bytes; ``next_frame()`` returns (header, fragment bytes) or None.

    ``pending`` is the number of bytes held that are not yet a whole fragment.
    """

    __slots__ = ("_buf", "_pos", "pending")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.pending = 0

    def feed(self, data: bytes) -> None:
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos > 65536:  # compact: drop what was consumed
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data
        self.pending = len(self._buf) - self._pos

    def next_frame(self) -> tuple[Header, bytes] | None:
        """The next whole fragment, or None if more bytes are needed. PduError if the header is bad."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        header = peek_header(buf, pos)
        end = pos + header.frag_length
        if end > len(buf):
            return None
        self._pos = end
        self.pending = len(buf) - end
        with memoryview(buf) as view:  # one copy of the fragment, not two
            return header, bytes(view[pos:end])


class Gathered:
    """A stub in parts, bytes-like each, that are its bytes in order: what an encoder gives
    when it keeps a large value by reference instead of copying it into its buffer. The RPC
    layer cuts it into fragments (``cut``) and writes the parts with their headers in one
    gathering write, so the value is never copied in user space on the way out. ``len`` is
    its size in bytes; ``bytes()`` joins it."""

    __slots__ = ("parts", "size")

    def __init__(self, parts: list) -> None:
        self.parts = parts
        self.size = sum(map(len, parts))

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)

    def __radd__(self, other: bytes) -> bytes:  # a header before it: joined, copied
        return b"".join((other, *self.parts))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Gathered):
            other = bytes(other)
        return isinstance(other, (bytes, bytearray, memoryview)) and bytes(self) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Gathered({len(self.parts)} parts, {self.size} bytes)"


def cut(stub: bytes | bytearray | memoryview | Gathered, room: int
        ) -> Iterator[tuple[int, int, list]]:
    """A stub cut for fragments of at most ``room`` stub bytes: (offset, size, [views of its
    bytes]) per fragment, one at least (an empty stub is one empty fragment). Views, not
    copies: the stub's bytes leave as they are."""
    if not isinstance(stub, Gathered):
        view = memoryview(stub)
        total = len(view)
        for start in range(0, total or 1, room):
            piece = view[start:start + room]
            yield start, len(piece), [piece]
        return
    parts = [memoryview(part) for part in stub.parts if len(part)]
    total, index, offset = stub.size, 0, 0  # where the next fragment starts: parts[index][offset:]
    for start in range(0, total or 1, room):
        need = size = min(room, total - start)
        pieces = []
        while need:
            part = parts[index]
            piece = part[offset:offset + need]
            pieces.append(piece)
            need -= len(piece)
            offset += len(piece)
            if offset == len(part):
                index, offset = index + 1, 0
        yield start, size, pieces
