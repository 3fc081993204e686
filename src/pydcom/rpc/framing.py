"""Cutting a TCP byte stream into whole DCE/RPC fragments by their frag_length (C706 12.6.3.1).

The buffer never holds more than what was fed plus one partial fragment, and a fragment is at
most 65535 bytes (frag_length is 16 bits), so a peer cannot make it grow without bound.
"""

from __future__ import annotations

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
