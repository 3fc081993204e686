"""Type serialization version 1 (MS-RPCE 2.2.6), the framing of DCOM activation properties.

A stream is an 8-byte common header, then for each top-level constructed type an 8-byte private
header (ObjectBufferLength, Filler) and the type's NDR, padded with zeros to a multiple of 8.
pydcom writes what the spec says (ObjectBufferLength includes the padding, private Filler 0);
it reads also what impacket writes (length without the padding, Filler 0xCCCCCCCC).
"""

from __future__ import annotations

import struct
from typing import Any

from pydcom.ndr.core import Reader, Writer, as_type
from pydcom.ndr.errors import NdrError

COMMON_HEADER = struct.pack("<BBHI", 1, 0x10, 8, 0xCCCCCCCC)
_PRIVATE = struct.Struct("<II")


def encode_body(value: Any) -> bytes:
    """One top-level constructed type with its private header, padded to 8 (MS-RPCE 2.2.6.2)."""
    w = Writer()
    w.unit(as_type(type(value)), value)
    return frame(w.buf)


def frame(ndr_body: bytes | bytearray) -> bytes:
    """A type's NDR with its private header, padded to 8 (MS-RPCE 2.2.6.2)."""
    pad = -len(ndr_body) % 8
    return _PRIVATE.pack(len(ndr_body) + pad, 0) + bytes(ndr_body) + bytes(pad)


def serialize(*values: Any) -> bytes:
    """A whole stream: the common header (MS-RPCE 2.2.6.1), then each value."""
    return COMMON_HEADER + b"".join(encode_body(v) for v in values)


def deserialize(data: bytes, *kinds: Any) -> list[Any]:
    """Parse a stream holding one value of each of ``kinds``, in order."""
    if len(data) < 8:
        raise NdrError("type serialization stream shorter than its common header")
    version, endianness, header_length, _filler = struct.unpack_from("<BBHI", data)
    if version != 1 or header_length != 8:
        raise NdrError(f"type serialization version {version}, header length {header_length}")
    if endianness != 0x10:
        raise NdrError("big-endian type serialization streams are not supported")
    offset, values = 8, []
    for kind in kinds:
        value, offset = decode_body(data, offset, kind)
        values.append(value)
    return values


def body_span(data: bytes, offset: int = 8) -> tuple[int, int]:
    """The start and ObjectBufferLength of the body whose private header is at ``offset``
    (rounded up to 8); NdrError if either runs past the stream."""
    offset += -offset % 8
    if offset + 8 > len(data):
        raise NdrError(f"private header at {offset} runs past the {len(data)}-byte stream")
    length, _filler = _PRIVATE.unpack_from(data, offset)
    start = offset + 8
    if length > len(data) - start:
        raise NdrError(f"ObjectBufferLength {length} runs past the stream")
    return start, length


def decode_body(data: bytes, offset: int, kind: Any) -> tuple[Any, int]:
    """Parse one private header and its type at ``offset``; return it and the next offset."""
    start, length = body_span(data, offset)
    # Alignment inside the body counts from the body's start, which is 8-aligned.
    r = Reader(data[start:start + length])
    r.path.append(getattr(kind, "__name__", str(kind)))
    value = r.unit(as_type(kind))
    end = start + r.pos
    return value, end + (-end % 8) if length % 8 else start + length
