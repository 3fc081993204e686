"""The NDR 2.0 engine: the marshaling buffers and every kind of type (C706 chapter 14).

Little-endian only, which is what DCOM uses (MS-RPCE 2.2.5). Alignment is relative to the start
of the stub (or of a type serialization body). Padding bytes are written as 0 and ignored when read
(MS-DCOM 2.2).

Pointers (C706 14.3.10-14.3.12): an embedded pointer is a 4-byte referent id in place; its
referent is deferred until the enclosing unit (a top-level parameter, or a referent) is complete,
and referents are written in pointer order, each followed at once by its own deferred referents
(depth first, as the Microsoft NDR engine does). Referent ids are 0x00020000, 0x00020004, ...
as Windows writes them.

Decoding is strict: every count, offset and length is checked against the bytes that remain
before anything is allocated, and every failure is an ``NdrError``.
"""

from __future__ import annotations

import operator
import struct
import uuid
from typing import Any, Callable, Iterator

from pydcom.guid import guid_from_bytes, guid_to_bytes
from pydcom.ndr.errors import NdrError

MAX_DEPTH = 64  # nested units (pointer referents inside referents...) before we refuse
FIRST_REFERENT_ID = 0x00020000

_U32 = struct.Struct("<I")


HOLD_MIN = 65536  # bytes a gathering Writer keeps by reference rather than copying


class Writer:
    """The marshaling buffer of one stub or serialization body.

    A gathering writer (``gather=True``) keeps a large bytes value given to ``put`` by
    reference instead of copying it into ``buf``: ``parts()`` is then the stub as buffers to
    send in order. What is held is a multiple of 8 bytes long (the rest is copied), so ``buf``
    keeps every alignment of the stub; ``held`` counts the bytes held so far, which a length
    measured across ``buf`` adds."""

    __slots__ = ("buf", "deferred", "next_id", "full_ids", "depth", "held", "_holds")

    def __init__(self, gather: bool = False) -> None:
        self.buf = bytearray()
        self.deferred: list | None = None  # referents waiting for the current unit to end
        self.next_id = FIRST_REFERENT_ID
        self.full_ids: dict[int, int] = {}  # id(object) -> referent id, for full pointers
        self.depth = 0
        self.held = 0
        self._holds: list | None = [] if gather else None  # (where in buf, bytes, length held)

    def put(self, data: bytes) -> None:
        """Append ``data``, held by reference when this writer gathers and it is large."""
        holds = self._holds
        if holds is None or len(data) < HOLD_MIN or type(data) is not bytes:
            self.buf += data
            return
        length = len(data) & ~7
        holds.append((len(self.buf), data, length))
        self.held += length
        self.buf += data[length:]

    def parts(self) -> list:
        """The stub as buffers in order: ``buf`` alone, or cut where values are held."""
        if not self._holds:
            return [self.buf]
        view = memoryview(self.buf)
        parts = []
        at = 0
        for where, data, length in self._holds:
            parts.append(view[at:where])
            parts.append(memoryview(data)[:length])
            at = where
        parts.append(view[at:])
        return parts

    def align(self, n: int) -> None:
        pad = -len(self.buf) % n
        if pad:
            self.buf += bytes(pad)

    def referent_id(self) -> int:
        value = self.next_id
        self.next_id += 4
        return value

    def unit(self, kind: "NdrType", value: Any, owner: Any = None) -> None:
        """Encode one unit and then its deferred referents, depth first (C706 14.3.12.3)."""
        if kind.pointerless:  # nothing can be deferred: no bookkeeping
            kind.encode(self, value, owner)
            return
        saved = self.deferred
        self.deferred = []
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NdrError(f"data nested more than {MAX_DEPTH} pointers deep")
        kind.encode(self, value, owner)
        queue, self.deferred = self.deferred, saved
        for referent_kind, referent, referent_owner in queue:
            if referent_kind.pointerless:  # its own unit would defer nothing
                referent_kind.encode(self, referent, referent_owner)
            else:
                self.unit(referent_kind, referent, referent_owner)
        self.depth -= 1

    def getvalue(self) -> bytes:
        return b"".join(self.parts()) if self._holds else bytes(self.buf)


class Reader:
    """The unmarshaling cursor over one stub or serialization body."""

    __slots__ = ("data", "pos", "end", "deferred", "full_seen", "depth", "path")

    def __init__(self, data: bytes | bytearray, pos: int = 0, end: int | None = None) -> None:
        # A bytearray (a stub reassembled from fragments) is read where it is, and what
        # ``take`` takes of it is bytes of its own: copying it whole first would copy every
        # byte once more. Any other buffer is copied.
        self.data = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        self.pos = pos
        self.end = len(self.data) if end is None else end
        self.deferred: list | None = None
        self.full_seen: dict[int, Any] = {}
        self.depth = 0
        self.path: list = []  # field names, and the types of referents being read

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def error(self, message: str) -> NdrError:
        where = ".".join(p if isinstance(p, str) else f"*{p.name}" for p in self.path) or "stub"
        return NdrError(f"{message} (at offset {self.pos}, in {where})")

    def align(self, n: int) -> None:
        self.pos += -self.pos % n
        if self.pos > self.end:
            raise self.error("alignment runs past the end of the data")

    def need(self, size: int) -> None:
        if size < 0 or self.pos + size > self.end:
            raise self.error(f"needs {size} bytes, {self.end - self.pos} remain")

    def take(self, size: int) -> bytes:
        self.need(size)
        start = self.pos
        self.pos = end = start + size
        data = self.data
        if type(data) is bytearray:  # bytes, copied once (a slice would be a bytearray)
            return bytes(memoryview(data)[start:end])
        return data[start:end]

    def unpack(self, fmt: struct.Struct) -> tuple:
        self.need(fmt.size)
        values = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return values

    def u32(self) -> int:
        self.need(4)
        (value,) = _U32.unpack_from(self.data, self.pos)
        self.pos += 4
        return value

    def check_count(self, count: int, element_size: int, what: str) -> None:
        """Refuse a count the remaining bytes cannot hold, before anything is allocated."""
        if count * max(element_size, 1) > self.end - self.pos:
            raise self.error(f"{what} of {count} elements cannot fit in "
                             f"{self.end - self.pos} remaining bytes")

    def unit(self, kind: "NdrType", owner: Any = None) -> Any:
        if kind.pointerless:  # nothing can be deferred: no bookkeeping
            return kind.decode(self, owner)
        saved = self.deferred
        self.deferred = []
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"data nested more than {MAX_DEPTH} pointers deep")
        value = kind.decode(self, owner)
        queue, self.deferred = self.deferred, saved
        for referent_kind, setter, referent_owner, referent_id in queue:
            self.path.append(referent_kind)  # named only if an error needs it
            # The referent's unit is complete here, so a pointer inside it is settled too.
            if referent_kind.pointerless:  # its own unit would defer nothing
                referent = referent_kind.decode(self, referent_owner)
            else:
                referent = resolve_pending(self.unit(referent_kind, referent_owner))
            self.path.pop()
            setter(referent)
            if referent_id is not None:
                waiting = self.full_seen.get(referent_id)
                self.full_seen[referent_id] = referent
                if waiting is not None:
                    for alias in waiting.setters:
                        alias(referent)
        self.depth -= 1
        return value


class NdrType:
    """A marshalable type. ``align`` is its alignment; ``flat`` types have a fixed layout that
    compiles into a struct format (``fmt``), with ``to_raw``/``from_raw`` converting values."""

    name = "type"
    align = 1
    flat = False
    fmt = ""  # struct format of a flat type (without the byte-order prefix), aligned start
    min_size = 1  # fewest bytes an encoded value can take, for count checks

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        raise NotImplementedError

    def decode(self, r: Reader, owner: Any = None) -> Any:
        raise NotImplementedError

    default: Any = None  # the value a structure field of this type starts with
    pointerless = True  # no pointer anywhere inside: no referents to defer

    # flat types only: a fixed layout that folds into a structure's struct format
    def layout(self, offset: int) -> tuple[str, int]:
        """The struct format of this type placed at ``offset`` (padding included), and the
        offset after it."""
        raise NotImplementedError

    def run_format(self, offset: int) -> struct.Struct:
        """The compiled layout of a flat type placed at ``offset`` (cached per offset mod 8)."""
        formats = self.__dict__.get("_run_formats")
        if formats is None:
            formats = self._run_formats = [None] * 8
        fmt = formats[offset & 7]
        if fmt is None:
            fmt = formats[offset & 7] = struct.Struct("<" + self.layout(offset & 7)[0])
        return fmt

    def to_raw(self, value: Any, out: list, w: Writer, owner: Any = None) -> None:
        out.append(value)

    def from_raw(self, raw: Iterator, r: Reader, setter: Callable[[Any], None] | None,
                 owner: Any = None) -> Any:
        return next(raw)

    def __repr__(self) -> str:
        return self.name


class Primitive(NdrType):
    """An integer or float of fixed size (C706 14.2): aligned to its size."""

    flat = True
    default = 0

    def __init__(self, name: str, code: str) -> None:
        self.name = name
        self.fmt = code
        self._struct = struct.Struct("<" + code)
        self.align = self.min_size = self.size = self._struct.size

    def layout(self, offset: int) -> tuple[str, int]:
        pad = -offset % self.align
        return "x" * pad + self.fmt, offset + pad + self.size

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        w.align(self.align)
        try:
            w.buf += self._struct.pack(value)
        except struct.error as exc:
            raise NdrError(f"{self.name} cannot hold {value!r}: {exc}") from None

    def decode(self, r: Reader, owner: Any = None) -> Any:
        r.align(self.align)
        return r.unpack(self._struct)[0]


u8 = Primitive("u8", "B")
i8 = Primitive("i8", "b")
boolean = Primitive("boolean", "B")
char = Primitive("char", "B")
u16 = Primitive("u16", "H")
i16 = Primitive("i16", "h")
wchar = Primitive("wchar", "H")
enum16 = Primitive("enum16", "H")  # a plain NDR enum is 2 bytes (C706 14.2.2)
u32 = Primitive("u32", "I")
i32 = Primitive("i32", "i")
v1_enum = Primitive("v1_enum", "I")  # MS-RPCE 2.2.4.6
u64 = Primitive("u64", "Q")
i64 = Primitive("i64", "q")
f32 = Primitive("f32", "f")
f64 = Primitive("f64", "d")
HRESULT = Primitive("HRESULT", "I")  # unsigned: pydcom holds HRESULTs as unsigned 32-bit
error_status_t = Primitive("error_status_t", "I")

def guid_to_le(value: uuid.UUID) -> bytes:
    try:
        return guid_to_bytes(value)
    except AttributeError:
        raise NdrError(f"GUID value must be a uuid.UUID, not {type(value).__name__}") from None


class _Guid(NdrType):
    """GUID: Data1 u32, Data2 u16, Data3 u16, Data4 8 bytes; aligned 4 (MS-DTYP 2.3.4)."""

    name = "GUID"
    align = 4
    flat = True
    fmt = "16s"
    min_size = size = 16
    default = uuid.UUID(int=0)

    def layout(self, offset: int) -> tuple[str, int]:
        pad = -offset % 4
        return "x" * pad + "16s", offset + pad + 16

    def encode(self, w: Writer, value: uuid.UUID, owner: Any = None) -> None:
        w.align(4)
        out: list = []
        self.to_raw(value, out, w)
        w.buf += out[0]

    def decode(self, r: Reader, owner: Any = None) -> uuid.UUID:
        r.align(4)
        return guid_from_bytes(r.take(16))

    def to_raw(self, value: Any, out: list, w: Writer, owner: Any = None) -> None:
        out.append(guid_to_le(value))

    def from_raw(self, raw: Iterator, r: Reader, setter, owner: Any = None) -> uuid.UUID:
        return guid_from_bytes(next(raw))


GUID = _Guid()


# --- sizes: size_is / length_is given as a field name, a number, or a function of the owner ----
SizeSpec = str | int | Callable[[Any], int] | None


def resolve_size(spec: SizeSpec, owner: Any) -> int | None:
    if spec is None:
        return None
    if isinstance(spec, int):
        return spec
    if isinstance(spec, str):
        return getattr(owner, spec)
    return spec(owner)


def size_getter(spec: SizeSpec) -> Callable[[Any], int | None] | None:
    """``resolve_size`` for one spec, as one call: None when there is no spec."""
    if spec is None:
        return None
    if isinstance(spec, int):
        return lambda owner: spec
    if isinstance(spec, str):
        return operator.attrgetter(spec)
    return spec


class FixedArray(NdrType):
    """``T name[N]``: N elements in place, no counts (C706 14.3.3.1). Byte arrays are bytes."""

    def __init__(self, element: NdrType, count: int) -> None:
        self.element = element = as_type(element)
        self.count = count
        self.name = f"{element.name}[{count}]"
        self.align = element.align
        self.min_size = element.min_size * count
        self.flat = element.flat
        self.pointerless = element.pointerless
        self._bytes = element is u8

    def layout(self, offset: int) -> tuple[str, int]:
        if self._bytes:
            return f"{self.count}s", offset + self.count
        parts = []
        for _ in range(self.count):
            part, offset = self.element.layout(offset)
            parts.append(part)
        return "".join(parts), offset

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        self._check(value)
        if self._bytes:
            w.buf += bytes(value)
            return
        for item in value:
            self.element.encode(w, item, owner)

    def decode(self, r: Reader, owner: Any = None) -> Any:
        if self._bytes:
            return r.take(self.count)
        r.check_count(self.count, self.element.min_size, self.name)
        return _decode_items(r, self.element, self.count, owner)

    def _check(self, value: Any) -> None:
        if value is None or len(value) != self.count:
            raise NdrError(f"{self.name} needs {self.count} elements, got "
                           f"{'none' if value is None else len(value)}")

    def to_raw(self, value: Any, out: list, w: Writer, owner: Any = None) -> None:
        self._check(value)
        if self._bytes:
            out.append(bytes(value))
            return
        for item in value:
            self.element.to_raw(item, out, w, owner)

    def from_raw(self, raw: Iterator, r: Reader, setter, owner: Any = None) -> Any:
        if self._bytes:
            return next(raw)
        items: list = [None] * self.count
        pointerless = self.element.pointerless
        for i in range(self.count):
            items[i] = self.element.from_raw(raw, r, None if pointerless else _item_setter(items, i),
                                             owner)
        return items


def _decode_items(r: Reader, element: NdrType, count: int, owner: Any) -> list:
    """Elements one by one; an element that is a pointer is filled in when its referent is read."""
    items: list = [None] * count
    if element.pointerless:
        for i in range(count):
            items[i] = element.decode(r, owner)
        return items
    for i in range(count):
        items[i] = settle(element.decode(r, owner), _item_setter(items, i))
    return items


def _item_setter(items: list, index: int) -> Callable[[Any], None]:
    def set_item(value: Any) -> None:
        items[index] = value
    return set_item


def fixed_array(element: NdrType, count: int) -> FixedArray:
    return FixedArray(element, count)


class Array(NdrType):
    """Conformant, varying or conformant varying array (C706 14.3.3.2-14.3.3.4).

    A conformant array carries max_count; inside a structure it must be the last member, and its
    max_count is then hoisted to the start of the structure (C706 14.3.7), which the structure
    does. ``size_is`` and ``length_is`` name the fields (or give a function of the owner) that
    the counts must equal; without them the value's length is used. Byte arrays are ``bytes``.
    """

    def __init__(self, element: NdrType, *, conformant: bool, varying: bool,
                 size_is: SizeSpec = None, length_is: SizeSpec = None,
                 first_is: SizeSpec = None) -> None:
        self.element = element = as_type(element)
        self.conformant = conformant
        self.varying = varying
        self.size_is = size_is
        self.length_is = length_is
        self.first_is = first_is
        kind = "conformant " * conformant + "varying " * varying
        self.name = f"{kind}{element.name}[]"
        self.align = max(4, element.align)
        self.pointerless = element.pointerless
        self.min_size = 4 * (conformant + 2 * varying)
        self._bytes = element is u8
        self.default = b"" if self._bytes else ()
        self._size_of = size_getter(size_is)

    # the parts: counts, then elements
    def encode_max_count(self, w: Writer, value: Any, owner: Any) -> None:
        count = len(value)
        expected = self._size_of(owner) if self._size_of is not None else None
        if expected is not None and expected != count and not self.varying:
            raise NdrError(f"{self.name}: size_is says {expected}, the value has {count}")
        buf = w.buf
        pad = -len(buf) % 4
        buf += _PADDED_U32[pad].pack(expected if expected is not None and self.varying else count)

    def encode_body(self, w: Writer, value: Any, owner: Any) -> None:
        if self.varying:
            length = resolve_size(self.length_is, owner)
            if length is not None and length != len(value):
                raise NdrError(f"{self.name}: length_is says {length}, the value has {len(value)}")
            w.align(4)
            w.buf += struct.pack("<II", resolve_size(self.first_is, owner) or 0, len(value))
        if not value:
            return
        element = self.element
        if self._bytes:
            w.buf += bytes(value)
        elif isinstance(element, Primitive):
            w.align(element.align)
            try:
                w.buf += struct.pack(f"<{len(value)}{element.fmt}", *value)
            except struct.error as exc:
                raise NdrError(f"{self.name}: {exc}") from None
        elif element is GUID:
            w.align(4)
            w.buf += b"".join(map(guid_to_le, value))
        elif element.flat:  # e.g. an array of flat structures: one pack per element
            buf = w.buf
            for item in value:
                raw = []
                element.to_raw(item, raw, w, owner)
                try:
                    buf += element.run_format(len(buf)).pack(*raw)
                except struct.error as exc:
                    raise NdrError(f"{self.name}: {exc}") from None
        else:
            for item in value:
                element.encode(w, item, owner)

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        if value is None:
            raise NdrError(f"{self.name} value is missing")
        if self.conformant:
            self.encode_max_count(w, value, owner)
        self.encode_body(w, value, owner)

    def decode_max_count(self, r: Reader) -> int:
        pos = r.pos + (-r.pos % 4)
        if pos + 4 > r.end:
            r.align(4)
            r.need(4)  # raises, saying where
        r.pos = pos + 4
        return _U32.unpack_from(r.data, pos)[0]

    def decode_body(self, r: Reader, owner: Any, max_count: int | None) -> Any:
        if max_count is not None and owner is not None and self._size_of is not None:
            expected = self._size_of(owner)
            if expected != max_count:
                raise r.error(f"max_count {max_count} disagrees with size_is {expected}")
        count = max_count
        if self.varying:
            r.align(4)
            offset, count = r.unpack(_OFFSET_COUNT)
            if max_count is not None and offset + count > max_count:
                raise r.error(f"offset {offset} + actual_count {count} exceeds max_count "
                              f"{max_count}")
            length = resolve_size(self.length_is, owner) if owner is not None else None
            if length is not None and length != count:
                raise r.error(f"actual_count {count} disagrees with length_is {length}")
        element = self.element
        if self._bytes:
            return r.take(count)
        r.check_count(count, element.min_size, self.name)
        if count == 0:
            return []
        if isinstance(element, Primitive):
            r.align(element.align)
            return list(r.unpack(struct.Struct(f"<{count}{element.fmt}")))
        if element is GUID:
            r.align(4)
            raw = r.take(16 * count)
            return [guid_from_bytes(raw[i:i + 16]) for i in range(0, 16 * count, 16)]
        if element.flat:
            items: list = [None] * count
            pointerless = element.pointerless
            for i in range(count):
                fields = iter(r.unpack(element.run_format(r.pos)))
                items[i] = element.from_raw(fields, r, None if pointerless else _item_setter(items, i),
                                            owner)
            return items
        return _decode_items(r, element, count, owner)

    def decode(self, r: Reader, owner: Any = None) -> Any:
        max_count = self.decode_max_count(r) if self.conformant else None
        return self.decode_body(r, owner, max_count)


_OFFSET_COUNT = struct.Struct("<II")
_PADDED_U32 = [struct.Struct(f"<{pad}xI") for pad in range(4)]  # a u32 after 0-3 pad bytes


def conformant(element: NdrType, size_is: SizeSpec = None) -> Array:
    """``[size_is(...)] T name[]``"""
    return Array(element, conformant=True, varying=False, size_is=size_is)


def varying(element: NdrType, length_is: SizeSpec = None) -> Array:
    """``[length_is(...)] T name[N]``"""
    return Array(element, conformant=False, varying=True, length_is=length_is)


def conformant_varying(element: NdrType, size_is: SizeSpec = None,
                       length_is: SizeSpec = None) -> Array:
    """``[size_is(...), length_is(...)] T name[]``"""
    return Array(element, conformant=True, varying=True, size_is=size_is, length_is=length_is)


class String(NdrType):
    """``[string] wchar_t*`` / ``[string] char*`` referent: a conformant varying array whose
    counts include the terminating NUL (C706 14.3.4). Values are ``str``."""

    def __init__(self, wide: bool) -> None:
        self.wide = wide
        self.name = "wstring" if wide else "cstring"
        self.align = 4
        self.min_size = 12
        self._unit = 2 if wide else 1
        self._codec = "utf-16-le" if wide else "latin-1"

    def encode(self, w: Writer, value: str, owner: Any = None) -> None:
        try:
            raw = value.encode(self._codec) + bytes(self._unit)
        except (AttributeError, UnicodeEncodeError) as exc:
            raise NdrError(f"{self.name} cannot hold {value!r}: {exc}") from None
        count = len(raw) // self._unit
        w.align(4)
        w.buf += struct.pack("<III", count, 0, count)
        w.buf += raw

    def decode(self, r: Reader, owner: Any = None) -> str:
        r.align(4)
        max_count, offset, count = r.unpack(_THREE_U32)
        if offset != 0 or count > max_count or count == 0:
            raise r.error(f"{self.name} counts max {max_count}, offset {offset}, actual {count}")
        raw = r.take(count * self._unit)
        if raw[-self._unit:] != bytes(self._unit):
            raise r.error(f"{self.name} without its terminating NUL")
        try:
            return raw[:-self._unit].decode(self._codec)
        except UnicodeDecodeError as exc:
            raise r.error(f"{self.name} is not valid {self._codec}: {exc}") from None


_THREE_U32 = struct.Struct("<III")
wstring = String(wide=True)
cstring = String(wide=False)


class Pointer(NdrType):
    """A ref, unique or full pointer (C706 14.3.10-14.3.12).

    Embedded in a structure or array it is a 4-byte referent id with its referent deferred.
    As a top-level parameter ``Params`` treats it specially: a [ref] pointer is just its
    referent; a [unique]/[ptr] pointer is the referent id followed at once by the referent.
    Values are the referent, or None for NULL.
    """

    flat = True
    fmt = "I"
    align = 4
    min_size = size = 4
    pointerless = False

    def __init__(self, target: NdrType, kind: str) -> None:
        self.target = as_type(target)
        self.kind = kind
        self.name = f"{kind}({self.target.name})"

    def layout(self, offset: int) -> tuple[str, int]:
        pad = -offset % 4
        return "x" * pad + "I", offset + pad + 4

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        w.align(4)
        out: list = []
        self.to_raw(value, out, w, owner)
        w.buf += _U32.pack(out[0])

    def to_raw(self, value: Any, out: list, w: Writer, owner: Any = None) -> None:
        out.append(self.referent_id(value, w, owner))

    def referent_id(self, value: Any, w: Writer, owner: Any = None) -> int:
        """The referent id to write for ``value`` (0 for NULL); the referent is deferred."""
        if value is None:
            if self.kind == "ref":
                raise NdrError(f"{self.name} must not be NULL")
            return 0
        if self.kind == "full":
            known = w.full_ids.get(id(value))
            if known is not None:  # aliased: the referent was already sent once
                return known
            w.full_ids[id(value)] = w.next_id
        w.deferred.append((self.target, value, owner))
        return w.referent_id()

    def decode(self, r: Reader, owner: Any = None) -> Any:
        r.align(4)
        box = _Pending()
        value = self.from_raw(iter((r.u32(),)), r, box.set, owner)
        if value is not None:  # an alias of a full pointer already read
            box.set(value)
        return box

    def from_raw(self, raw: Iterator, r: Reader, setter, owner: Any = None) -> Any:
        return self.from_id(next(raw), r, setter, owner)

    def from_id(self, referent_id: int, r: Reader, setter, owner: Any = None) -> Any:
        """The value for a referent id read: None for NULL or a referent still to come (it
        goes through ``setter`` when its unit ends), or a full pointer's alias already read."""
        if referent_id == 0:
            if self.kind == "ref":
                raise r.error(f"{self.name} is NULL")
            return None
        if self.kind == "full" and referent_id in r.full_seen:
            seen = r.full_seen[referent_id]
            if isinstance(seen, _Waiting):  # an alias of a referent not read yet
                seen.setters.append(setter)
                return None
            return seen
        r.deferred.append((self.target, setter, owner,
                           referent_id if self.kind == "full" else None))
        if self.kind == "full":
            r.full_seen[referent_id] = _Waiting()
        return None  # the setter fills it in once the unit is complete


class _Waiting:
    """Aliases of a full pointer whose referent has not been read yet."""

    __slots__ = ("setters",)

    def __init__(self) -> None:
        self.setters: list = []


class _Pending:
    """A pointer decoded outside a flat run: its referent arrives when the unit ends, and is
    then forwarded to wherever the pointer's value was stored."""

    __slots__ = ("value", "forward")

    def __init__(self) -> None:
        self.value = None
        self.forward: Callable[[Any], None] | None = None

    def set(self, value: Any) -> None:
        self.value = value
        if self.forward is not None:
            self.forward(value)


def settle(value: Any, setter: Callable[[Any], None]) -> Any:
    """Store a decoded value; a pending pointer's referent will go through ``setter``."""
    if type(value) is _Pending:
        value.forward = setter
        return value.value
    return value


def resolve_pending(value: Any) -> Any:
    return value.value if type(value) is _Pending else value


def ref(target: NdrType) -> Pointer:
    return Pointer(target, "ref")


def unique(target: NdrType) -> Pointer:
    return Pointer(target, "unique")


def full(target: NdrType) -> Pointer:
    return Pointer(target, "full")


class Union(NdrType):
    """An NDR union (C706 14.3.8; MS-RPCE 2.2.4.5): the discriminant, then the selected arm,
    aligned as a whole to the largest of the discriminant and the arms.

    Encapsulated (``switch_is`` None): the value is ``(discriminant, arm value)``.
    Non-encapsulated (``switch_is`` names the owner's field): the value is the arm value and the
    discriminant, which the wire still carries first, must equal that field.
    An arm of ``None`` type is empty. ``default`` serves unlisted discriminants; without it they
    are an error.
    """

    def __init__(self, switch_type: Primitive, arms: dict[int, NdrType | None], *,
                 switch_is: SizeSpec = None, default: NdrType | None | bool = False,
                 name: str = "union") -> None:
        self.switch_type = switch_type
        self.arms = {tag: None if arm is None else as_type(arm) for tag, arm in arms.items()}
        if switch_is is None and any(isinstance(a, Pointer) for a in self.arms.values()):
            raise TypeError(f"{name}: an encapsulated union's arm may not be a bare pointer; "
                            "wrap it in a structure")
        self.switch_is = switch_is
        self._default_arm = default
        self.name = name
        aligns = [switch_type.align] + [a.align for a in self.arms.values() if a is not None]
        self.pointerless = all(a is None or a.pointerless for a in self.arms.values())
        if default is not False and default is not None:
            self._default_arm = default = as_type(default)
            aligns.append(default.align)
            self.pointerless = self.pointerless and default.pointerless
        self.align = max(aligns)
        self.min_size = switch_type.min_size

    def _arm(self, tag: int, error: Callable[[str], Exception]) -> NdrType | None:
        if tag in self.arms:
            return self.arms[tag]
        if self._default_arm is not False:
            return self._default_arm
        raise error(f"{self.name} has no arm for discriminant {tag}")

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        if self.switch_is is None:
            tag, arm_value = value
        else:
            tag, arm_value = resolve_size(self.switch_is, owner), value
        arm = self._arm(tag, NdrError)
        w.align(self.align)
        self.switch_type.encode(w, tag)
        if arm is not None:
            arm.encode(w, arm_value, owner)

    def decode(self, r: Reader, owner: Any = None) -> Any:
        r.align(self.align)
        tag = self.switch_type.decode(r)
        if self.switch_is is not None and owner is not None:
            expected = resolve_size(self.switch_is, owner)
            if expected != tag:
                raise r.error(f"{self.name} discriminant {tag} disagrees with switch_is {expected}")
        arm = self._arm(tag, r.error)
        value = arm.decode(r, owner) if arm is not None else None
        return (tag, value) if self.switch_is is None else value  # a pending pointer settles


def union(switch_type: Primitive, arms: dict[int, NdrType | None], *,
          switch_is: SizeSpec = None, default: NdrType | None | bool = False,
          name: str = "union") -> Union:
    return Union(switch_type, arms, switch_is=switch_is, default=default, name=name)


def encode(kind: NdrType, value: Any) -> bytes:
    """Marshal one value as a top-level unit (its deferred referents follow it)."""
    w = Writer()
    w.unit(kind, value)
    return w.getvalue()


def decode(kind: NdrType, data: bytes, *, exact: bool = True) -> Any:
    """Unmarshal one top-level unit; with ``exact`` nothing but padding may be left over."""
    r = Reader(data)
    r.path.append(kind.name)
    value = resolve_pending(r.unit(kind))
    if exact:
        check_consumed(r)
    return value


def check_consumed(r: Reader, slack: int = 7) -> None:
    """Refuse bytes left over beyond the alignment padding a sender may add (up to 7)."""
    left = r.end - r.pos
    if left > slack:
        raise r.error(f"{left} bytes left over after the data")


def as_type(kind: Any) -> NdrType:
    """An NdrType for a type or a Struct class."""
    if isinstance(kind, NdrType):
        return kind
    ndr = getattr(kind, "ndr", None)
    if isinstance(ndr, NdrType):
        return ndr
    raise TypeError(f"{kind!r} is not an NDR type")
