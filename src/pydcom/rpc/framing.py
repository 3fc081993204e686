"""Cutting a TCP byte stream into whole DCE/RPC fragments by their frag_length (C706 12.6.3.1).

The buffer never holds more than what was fed plus one partial fragment, and a fragment is at
most 65535 bytes (frag_length is 16 bits), so a peer cannot make it grow without bound.

A long message arrives as fragments back to back. For it, bytes may be read into the buffer
itself (``space`` and ``filled``: one persistent buffer, no bytes object per read), and
``take_stubs`` moves the stubs of a run of fragments of one call straight into that call's
reassembly buffer: each stub byte is copied once, with one struct call per fragment. Once a
fragment's header has come, the rest of its stub is read by the socket straight into the
reassembly buffer, with the next fragment's header (``space`` then views that buffer): a
stub byte read so is not copied in user space at all.
"""

from __future__ import annotations

import struct
import sys
from typing import Iterator

from pydcom.rpc.pdu import HEADER_SIZE, Header, peek_header

_COMMON = struct.Struct("<8sHHI")  # the common header: leading 8 bytes, lengths, call_id
BULK_SPACE = 256 * 1024  # the buffer's size while a long message is read into it
_MIN_SPACE = 65536 + 64  # room kept for a read: a whole fragment and more


_refcount = getattr(sys, "getrefcount", None)
SPARE_MAX = 8 << 20  # a longer message's buffer is not kept for the next one


def stub_buffer(spare: bytearray | None, size: int) -> bytearray:
    """A buffer to reassemble a stub of about ``size`` bytes in (its writes grow it past that):
    ``spare``, the buffer of its connection's last long message, when nothing holds that one
    any more but the connection's own attribute (with this parameter and getrefcount's
    argument, three references: whoever took the stub has let it go, and no view of it is
    left), else a new one. A connection receiving long messages one after another so keeps
    one buffer instead of making one per message: a fresh megabyte costs more in page faults,
    when the allocator gives its pages back between messages, than copying into it does.
    Where reference counts are not exact (not CPython), always a new one. A connection keeps
    no buffer over ``SPARE_MAX`` bytes."""
    if spare is not None and _refcount is not None and _refcount(spare) == 3:
        return spare
    return bytearray(size)


class FrameBuffer:
    """Accumulates bytes; ``next_frame()`` returns (header, fragment bytes) or None.

    ``_buf[_pos:_end]`` holds the bytes not taken yet; past ``_end`` is room for ``space``.
    ``pending`` is the number of bytes held that are not taken yet, stub bytes read straight
    into a reassembly buffer included until ``take_stubs`` counts them.
    """

    __slots__ = ("_buf", "_pos", "_end", "pending", "_into", "_at", "_left", "_head",
                 "_last", "_written", "_short")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._end = 0
        self.pending = 0
        # Reading a fragment's stub straight into a reassembly buffer (take_stubs): ``_into``
        # from ``_at`` on takes the ``_left`` bytes still to come of it, then ``_head`` bytes
        # of the next fragment's header unless it is the message's ``_last``; ``_written``
        # counts the bytes so read since take_stubs last looked.
        self._into: bytearray | None = None
        self._at = self._left = self._head = self._written = 0
        self._last = False
        # The bytes a fragment's header lacks, when take_stubs found it cut short: the next
        # read takes just those, so that the stub after them can be read straight in.
        self._short = 0

    def feed(self, data: bytes) -> None:
        if self._into is not None:  # amid a stub read straight into its buffer: its bytes first
            with self.space() as room:
                count = min(len(room), len(data))
                room[:count] = data[:count]
            self.filled(count)
            data = data[count:]
            if not data:
                return
        if self._pos == self._end:
            self._pos = self._end = 0
        elif self._pos > 65536:  # compact: drop what was consumed
            self._compact()
        end = self._end + len(data)
        self._buf[self._end:end] = data  # in the room past _end, or growing the buffer
        self._end = end
        self.pending = end - self._pos + self._written

    def _compact(self) -> None:
        """Move the bytes not taken yet to the front (at most a fragment's worth)."""
        pos, end = self._pos, self._end
        with memoryview(self._buf) as view:
            self._buf[:end - pos] = bytes(view[pos:end])  # same length: in place
        self._pos, self._end = 0, end - pos

    def space(self) -> memoryview:
        """A writable view of the room after the bytes held, for a socket's recv_into; then
        ``filled`` with what it read. The view must be let go before the next ``feed``.
        Amid a stub read straight into its reassembly buffer, a view of that buffer instead:
        the rest of the fragment's stub and the next fragment's header."""
        into = self._into
        if into is not None:
            start = self._at
            stop = start + self._left + (0 if self._last else self._head)
            if len(into) < stop:  # the alloc_hint promised less than comes
                into.extend(bytes(stop - len(into)))
            return memoryview(into)[start:stop]
        if self._pos == self._end:
            self._pos = self._end = 0
        elif len(self._buf) - self._end < _MIN_SPACE:
            self._compact()
        room = len(self._buf) - self._end
        if room < _MIN_SPACE:
            self._buf += bytes(max(BULK_SPACE - len(self._buf), _MIN_SPACE - room))
        if self._short:
            return memoryview(self._buf)[self._end:self._end + self._short]
        return memoryview(self._buf)[self._end:]

    def filled(self, count: int) -> None:
        """``count`` bytes were read into ``space``."""
        into = self._into
        if into is None:
            self._end += count
            self.pending = self._end - self._pos
            self._short = 0
            return
        stub = min(count, self._left)
        self._at += stub
        self._left -= stub
        self._written += stub
        if count > stub:  # the next fragment's header, read after the stub: ours to frame
            self._buf[:count - stub] = into[self._at:self._at + count - stub]
            self._pos, self._end = 0, count - stub
        self.pending = self._end - self._pos + self._written

    def next_frame(self) -> tuple[Header, bytes] | None:
        """The next whole fragment, or None if more bytes are needed; PduError for a bad header."""
        buf, pos = self._buf, self._pos
        if self._end - pos < HEADER_SIZE:
            return None
        header = peek_header(buf, pos)
        end = pos + header.frag_length
        if end > self._end:
            return None
        self._pos = end
        self.pending = self._end - end
        with memoryview(buf) as view:  # one copy of the fragment, not two
            return header, bytes(view[pos:end])

    def take_stubs(self, into: bytearray, at: int, middle: bytes, last: bytes, call_id: int,
                   head: int, room: int, max_frag: int) -> tuple[int, bool]:
        """Copy into ``into`` from ``at`` on the stubs of the whole fragments at the front that
        go on with call ``call_id`` as the simplest form does: each begins with the leading 8
        bytes ``middle`` or, the call's last, ``last`` (version, PTYPE, pfc_flags and data
        representation at once), has no auth verifier and a frag_length from ``head`` (the
        bytes before its stub) to ``max_frag``, and its stub fits in ``room`` bytes more.
        Stops after the last fragment and before any other, which ``next_frame`` then reads.
        A fragment of that form whose header has come but not all its stub has its stub
        read on straight into ``into`` (``space``); a later call with the same ``into``
        counts what was so read. Returns where the stub now ends and whether the last
        fragment was taken."""
        if self._into is not None:
            if self._into is into:
                at += self._written
                room -= self._written
                self._written = 0
                self.pending = self._end - self._pos
                if self._left:
                    return at, False
                if self._last:
                    self._into = None
                    return at, True
            self._into = None
            self._written = 0
        buf, pos, end = self._buf, self._pos, self._end
        done = False
        with memoryview(buf) as view:
            while end - pos >= HEADER_SIZE:
                leading, frag_length, auth_length, frag_call = _COMMON.unpack_from(buf, pos)
                if leading != middle and leading != last or auth_length or \
                        frag_call != call_id or not head <= frag_length <= max_frag or \
                        frag_length - head > room:
                    break
                whole = pos + frag_length <= end
                if not whole and end - pos < head:
                    break  # not even its header yet
                stop = at + min(frag_length, end - pos) - head
                into[at:stop] = view[pos + head:min(pos + frag_length, end)]  # grows ``into``
                room -= stop - at
                at = stop
                if not whole:  # the rest of its stub goes straight into ``into``
                    self._into, self._at, self._head = into, at, head
                    self._left = pos + frag_length - end
                    self._last = leading == last
                    self._written = 0
                    pos = end
                    break
                pos += frag_length
                if leading == last:
                    done = True
                    break
        if pos == end:
            pos = end = self._end = 0
        self._pos = pos
        self.pending = end - pos
        self._short = head - (end - pos) if not done and self._into is None and \
            end - pos < head else 0
        return at, done


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
