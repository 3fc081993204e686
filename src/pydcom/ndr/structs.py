"""Declared structures and parameter lists: each declared once, encode and decode both from it.

    class COMVERSION(ndr.Struct):
        \"\"\"MS-DCOM 2.2.11\"\"\"
        MajorVersion = ndr.u16
        MinorVersion = ndr.u16

Fields are class attributes whose values are NDR types (or other Struct classes), in the order of
the spec's IDL. A field's value defaults to its type's default (0, GUID_NULL, None, b"").
Instances have __slots__, compare by value and print readably.

Speed: runs of fields with a fixed layout (primitives, GUIDs, pointers' referent ids, fixed arrays,
nested flat structures) are compiled, once per starting offset modulo 8, into one
``struct.Struct``, so a flat structure is one pack or unpack call; flat structures (and
conformant ones whose other fields are flat) and parameter lists also get generated
straight-line encode and decode functions. A structure whose last member is a conformant array
is a conformant structure: the array's max_count goes first (C706 14.3.7).
"""

from __future__ import annotations

import functools
import keyword
import operator
import struct
from typing import Any, ClassVar, Iterator

from pydcom.guid import guid_from_bytes
from pydcom.ndr.core import (
    GUID,
    Array,
    FixedArray,
    NdrType,
    Primitive,
    Pointer,
    Reader,
    Writer,
    _Pending,
    as_type,
    check_consumed,
    guid_to_le,
    resolve_pending,
    settle,
    u8,
)
from pydcom.ndr.errors import NdrError


class _Run:
    """Consecutive flat fields, packed with one struct format per starting offset mod 8."""

    __slots__ = ("fields", "align", "_formats")

    def __init__(self, fields: list[tuple[str, NdrType]]) -> None:
        self.fields = fields
        self.align = max(kind.align for _, kind in fields)
        self._formats: list[struct.Struct | None] = [None] * 8

    def format(self, offset: int) -> struct.Struct:
        fmt = self._formats[offset & 7]
        if fmt is None:
            parts, position = [], offset & 7
            for _, kind in self.fields:
                part, position = kind.layout(position)
                parts.append(part)
            fmt = self._formats[offset & 7] = struct.Struct("<" + "".join(parts))
        return fmt


class StructType(NdrType):
    """The NDR type of a declared Struct class."""

    flat = False

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = cls.__name__
        fields = [(name, as_type(kind)) for name, kind in cls._fields_]
        self.fields = fields
        tail = fields[-1][1] if fields else None
        self.tail = tail if isinstance(tail, Array) and tail.conformant else None
        if any(isinstance(k, Array) and k.conformant for _, k in fields[:-1]) or any(
                isinstance(k, StructType) and k.tail is not None for _, k in fields):
            raise TypeError(f"{self.name}: a conformant array may only be the last member, "
                            "and a conformant structure may not be nested")
        body = fields[:-1] if self.tail is not None else fields
        self.align = max([k.align for _, k in fields] + [4 if self.tail else 1])
        self.pointerless = all(k.pointerless for _, k in fields)
        self.flat = self.tail is None and all(k.flat for _, k in fields)
        self.min_size = sum(k.min_size for _, k in fields) + (4 if self.tail else 0)
        self.segments: list[_Run | tuple[str, NdrType]] = []
        run: list[tuple[str, NdrType]] = []
        for name, kind in body:
            if kind.flat:
                run.append((name, kind))
                continue
            if run:
                self.segments.append(_Run(run))
                run = []
            self.segments.append((name, kind))
        if run:
            self.segments.append(_Run(run))
        self.size = None
        if self.flat:
            _, end = self.layout(0)
            self.size = end
        if self.flat or (self.tail is not None and len(self.segments) == 1
                         and type(self.segments[0]) is _Run):
            _compile(self)

    # -- flat layout, when nested in another structure's run ----------------------------------
    def layout(self, offset: int) -> tuple[str, int]:
        pad = -offset % self.align
        parts, position = ["x" * pad], offset + pad
        for _, kind in self.fields:
            part, position = kind.layout(position)
            parts.append(part)
        return "".join(parts), position

    def to_raw(self, value: Any, out: list, w: Writer, owner: Any = None) -> None:
        for name, kind in self.fields:
            kind.to_raw(getattr(value, name), out, w, value)

    def from_raw(self, raw: Iterator, r: Reader, setter, owner: Any = None) -> Any:
        obj = self.cls.__new__(self.cls)
        for name, kind in self.fields:
            setter = None if kind.pointerless else functools.partial(setattr, obj, name)
            setattr(obj, name, kind.from_raw(raw, r, setter, obj))
        return obj

    # -- encode and decode ------------------------------------------------------------------
    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        if not isinstance(value, self.cls):
            raise NdrError(f"{self.name} expected, got {type(value).__name__}")
        tail = self.tail
        if tail is not None:
            tail.encode_max_count(w, getattr(value, self.fields[-1][0]), value)
        w.align(self.align)
        buf = w.buf
        for segment in self.segments:
            if type(segment) is _Run:
                out: list = []
                for name, kind in segment.fields:
                    kind.to_raw(getattr(value, name), out, w, value)
                try:
                    buf += segment.format(len(buf)).pack(*out)
                except struct.error as exc:
                    raise NdrError(f"{self.name}: {exc}") from None
            else:
                name, kind = segment
                kind.encode(w, getattr(value, name), value)
        if tail is not None:
            tail.encode_body(w, getattr(value, self.fields[-1][0]), value)

    def decode(self, r: Reader, owner: Any = None) -> Any:
        max_count = self.tail.decode_max_count(r) if self.tail is not None else None
        r.align(self.align)
        obj = self.cls.__new__(self.cls)
        for segment in self.segments:
            if type(segment) is _Run:
                raw = iter(r.unpack(segment.format(r.pos)))
                for name, kind in segment.fields:
                    # Only a type with a pointer inside stores a referent later, through a setter.
                    setter = None if kind.pointerless else functools.partial(setattr, obj, name)
                    setattr(obj, name, kind.from_raw(raw, r, setter, obj))
            else:
                name, kind = segment
                r.path.append(name)
                value = kind.decode(r, obj)
                if type(value) is _Pending:
                    value = settle(value, functools.partial(setattr, obj, name))
                setattr(obj, name, value)
                r.path.pop()
        if self.tail is not None:
            name = self.fields[-1][0]
            r.path.append(name)
            setattr(obj, name, self.tail.decode_body(r, obj, max_count))
            r.path.pop()
        return obj


def _leaves(fields: list[tuple[str, NdrType]], prefix: str, top: bool = True
            ) -> list[tuple[str, str, NdrType]] | None:
    """(attribute path, conversion, type) of every leaf of flat fields, in layout order;
    None if some member has no direct leaf form. Pointers may only be the structure's own
    members, so that the structure itself owns their referents."""
    leaves: list[tuple[str, str, NdrType]] = []
    for name, member in fields:
        path = f"{prefix}{name}"
        if isinstance(member, Primitive):
            leaves.append((path, "", member))
        elif member is GUID:
            leaves.append((path, "guid", member))
        elif isinstance(member, FixedArray) and member.element is u8:
            leaves.append((path, "bytes", member))
        elif isinstance(member, Pointer) and top:
            leaves.append((path, "pointer", member))
        elif isinstance(member, StructType) and member.pointerless:
            inner = _leaves(member.fields, path + ".", top=False)
            if inner is None:
                return None
            leaves.extend(inner)
        else:
            return None
    return leaves


def _compile(kind: StructType) -> None:
    """Replace the generic field-by-field code of a structure whose fields before any
    conformant tail have one fixed layout (pointers' referent ids included) with straight-line
    functions: one C-level attrgetter for all leaves, one builder, and an encode and decode
    that are one pack or unpack each, plus the tail's counts and elements."""
    tail = kind.tail
    body = kind.fields[:-1] if tail is not None else kind.fields
    leaves = _leaves(body, "")
    if not leaves:
        return
    getter = operator.attrgetter(*(path for path, _, _ in leaves))
    guid_at = [i for i, (_, how, _) in enumerate(leaves) if how == "guid"]
    bytes_at = [i for i, (_, how, _) in enumerate(leaves) if how == "bytes"]
    pointers_at = [(i, member) for i, (_, how, member) in enumerate(leaves) if how == "pointer"]
    single = len(leaves) == 1

    def to_raw(value: Any, out: list, w: Writer, owner: Any = None) -> None:
        try:
            values = [getter(value)] if single else list(getter(value))
        except AttributeError as exc:
            raise NdrError(f"{kind.name}: {exc}") from None
        for i in guid_at:
            values[i] = guid_to_le(values[i])
        for i in bytes_at:
            values[i] = bytes(values[i])
        for i, pointer in pointers_at:  # the structure owns its referents
            values[i] = pointer.referent_id(values[i], w, value)
        out.extend(values)

    lines = ["def from_raw(raw, r, setter, owner=None):"]
    names: dict[str, Any] = {}

    def build(cls: type, fields: list[tuple[str, NdrType]], var: str) -> None:
        names[f"{var}_cls"] = cls
        lines.append(f"    {var} = new({var}_cls)")
        for name, member in fields:
            if isinstance(member, StructType):
                inner = f"{var}_{name}"
                build(member.cls, member.fields, inner)
                lines.append(f"    {var}.{name} = {inner}")
            elif member is GUID:
                lines.append(f"    {var}.{name} = guid(next(raw))")
            elif isinstance(member, Pointer):
                # NULL costs nothing; a referent is read when the unit ends, through a setter.
                names[f"{var}_{name}_ptr"] = member
                call = f"{var}_{name}_ptr.from_id(v, r, partial(setattr, {var}, {name!r}), {var})"
                lines.append("    v = next(raw)")
                lines.append(f"    {var}.{name} = {call}" if member.kind == "ref"
                             else f"    {var}.{name} = {call} if v else None")
            else:
                lines.append(f"    {var}.{name} = next(raw)")

    build(kind.cls, body, "o")  # a tail is read after the body, by decode
    lines.append("    return o")
    namespace: dict[str, Any] = {"new": object.__new__, "guid": guid_from_bytes,
                                 "partial": functools.partial, **names}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from field names only
    from_raw = namespace["from_raw"]
    cls, align = kind.cls, kind.align
    run_format = kind.run_format if tail is None else kind.segments[0].format
    tail_name = kind.fields[-1][0]

    def encode(w: Writer, value: Any, owner: Any = None) -> None:
        if not isinstance(value, cls):
            raise NdrError(f"{kind.name} expected, got {type(value).__name__}")
        if tail is not None:
            tail.encode_max_count(w, getattr(value, tail_name), value)
        buf = w.buf
        pad = -len(buf) % align
        if pad:
            buf += bytes(pad)
        out: list = []
        to_raw(value, out, w, owner)
        try:
            buf += run_format(len(buf)).pack(*out)
        except struct.error as exc:
            raise NdrError(f"{kind.name}: {exc}") from None
        if tail is not None:
            tail.encode_body(w, getattr(value, tail_name), value)

    def decode(r: Reader, owner: Any = None) -> Any:
        if tail is None:
            r.align(align)
            return from_raw(iter(r.unpack(run_format(r.pos))), r, None, owner)
        max_count = tail.decode_max_count(r)
        r.align(align)
        obj = from_raw(iter(r.unpack(run_format(r.pos))), r, None, owner)
        r.path.append(tail_name)
        setattr(obj, tail_name, tail.decode_body(r, obj, max_count))
        r.path.pop()
        return obj

    kind.encode, kind.decode = encode, decode
    if tail is None:  # a flat structure nests in other structures' runs
        kind.to_raw, kind.from_raw = to_raw, from_raw


class _StructMeta(type):
    def __new__(mcls, name: str, bases: tuple, namespace: dict) -> type:
        inherited = [f for base in bases for f in getattr(base, "_fields_", ())]
        own = [(key, value) for key, value in namespace.items()
               if isinstance(value, NdrType) or isinstance(getattr(value, "ndr", None), NdrType)]
        for key, _ in own:
            del namespace[key]
        namespace["__slots__"] = tuple(key for key, _ in own)
        namespace["_fields_"] = tuple(inherited + own)
        cls = super().__new__(mcls, name, bases, namespace)
        if cls._fields_ or not namespace.get("_abstract_", False):
            cls.ndr = cls._type_class_(cls)
            if "__init__" not in namespace:
                _compile_init(cls)
        return cls


def _compile_init(cls: type) -> None:
    """A straight-line ``__init__(self, field=default, ...)`` for a declared structure, as
    dataclasses make one: constructing a structure is on every call's path."""
    names = [name for name, _ in cls._fields_]
    if not all(n.isidentifier() and not keyword.iskeyword(n) and not n.startswith("_")
               for n in names):
        return  # the generic Struct.__init__ handles any name
    defaults = {f"_d{i}": as_type(kind).default for i, (_, kind) in enumerate(cls._fields_)}
    params = ", ".join(f"{n}=_d{i}" for i, n in enumerate(names))
    body = "".join(f"\n    self.{n} = {n}" for n in names) or "\n    pass"
    namespace: dict[str, Any] = dict(defaults)
    exec(f"def __init__(self, {params}):{body}", namespace)  # noqa: S102 - identifiers only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init


class Struct(metaclass=_StructMeta):
    """Base of declared NDR structures."""

    _abstract_ = True
    _fields_: ClassVar[tuple[tuple[str, Any], ...]] = ()
    _type_class_: ClassVar[type] = StructType
    ndr: ClassVar[StructType]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields_
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} fields, got {len(args)}")
        for (name, kind), value in zip(fields, args):
            setattr(self, name, value)
        for name, kind in fields[len(args):]:
            if name in kwargs:
                setattr(self, name, kwargs.pop(name))
            else:
                setattr(self, name, as_type(kind).default)
        if kwargs:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(kwargs))!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name, _ in self._fields_)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name, _ in self._fields_)
        return f"{type(self).__name__}({inner})"

    def encode(self) -> bytes:
        """This structure as a top-level unit."""
        w = Writer()
        w.unit(self.ndr, self)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes, *, exact: bool = True):
        r = Reader(data)
        r.path.append(cls.__name__)
        value = r.unit(cls.ndr)
        if exact:
            check_consumed(r)
        return value


class ParamsType(StructType):
    """A method's parameter list (C706 14.3.12): each parameter a unit of its own, so embedded
    referents follow their own parameter. A top-level [ref] pointer is its referent alone; a
    top-level [unique] pointer is its referent id followed at once by the referent."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = cls.__name__
        self.fields = [(name, as_type(kind)) for name, kind in cls._fields_]
        self.align = 1
        self.min_size = 0
        self.tail = None
        self.flat = False
        self.segments = []
        self._compile()

    def _compile(self) -> None:
        """Straight-line encode and decode, one statement per parameter: a parameter list is
        on every call's path."""
        namespace: dict[str, Any] = {"new": object.__new__, "cls": self.cls, "NdrError": NdrError,
                                     "resolve": resolve_pending}
        enc = ["def encode(w, value, owner=None):"]
        dec = ["def decode(r, owner=None):", "    o = new(cls)", "    path = r.path"]
        for i, (name, kind) in enumerate(self.fields):
            if isinstance(kind, Pointer) and kind.kind == "ref":
                kind = kind.target
                if not isinstance(kind, Pointer):  # ref -> unique may be NULL
                    message = f"{self.name}.{name}: [ref] parameter is NULL"
                    enc.append(f"    if value.{name} is None:")
                    enc.append(f"        raise NdrError({message!r})")
            namespace[f"k{i}"] = kind
            if kind.pointerless:  # nothing to defer: no unit bookkeeping
                enc.append(f"    k{i}.encode(w, value.{name}, value)")
                dec.append(f"    path.append({name!r}); o.{name} = k{i}.decode(r, o); path.pop()")
            else:
                enc.append(f"    w.unit(k{i}, value.{name}, value)")
                dec.append(f"    path.append({name!r}); o.{name} = resolve(r.unit(k{i}, o)); "
                           "path.pop()")
        enc.append("    return None")
        dec.append("    return o")
        exec("\n".join(enc + dec), namespace)  # noqa: S102 - source built from field names only
        self.encode, self.decode = namespace["encode"], namespace["decode"]


class Params(Struct):
    """Base of declared method parameter lists (the [in] or the [out] side of one method).

    ``encode()`` gives the stub; ``decode(stub)`` parses one, refusing leftover bytes.
    """

    _abstract_ = True
    _type_class_ = ParamsType

    def encode(self) -> bytes:
        w = Writer()
        self.ndr.encode(w, self)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes, *, exact: bool = True):
        r = Reader(data)
        r.path.append(cls.__name__)
        value = cls.ndr.decode(r)
        if exact:
            check_consumed(r)
        return value


class FlatLayout:
    """A parameter list whose parameters all have one fixed layout, coded with one struct call
    (C706 14.3.12: each parameter aligned in turn, no counts, no referents).

    The leaves are the parameters' primitive values in order, a structure's fields in its
    place, GUIDs as their 16 wire bytes (MS-DTYP 2.3.4), a top-level [ref] pointer as its
    referent (ORPCTHIS is such a structure, MS-DCOM 2.2.13.3). [unique] pointers may stand among them only as NULL: ``unpack`` answers None for
    data with a non-NULL one (or of another length), which the declared codec then reads.
    ``widths`` holds how many leaves each parameter has.
    """

    __slots__ = ("struct", "size", "pointers", "widths", "pack")

    def __init__(self, fmt: str, pointers: tuple[int, ...], widths: tuple[int, ...]) -> None:
        self.struct = struct.Struct("<" + fmt)
        self.size = self.struct.size
        self.pointers = pointers
        self.widths = widths
        self.pack = self.struct.pack  # leaves -> stub; a pointer's leaf is 0

    def unpack(self, data: bytes) -> tuple | None:
        if len(data) != self.size:
            return None
        leaves = self.struct.unpack(data)
        for i in self.pointers:
            if leaves[i]:
                return None
        return leaves


def _flat_leaves(kind: NdrType, offset: int, parts: list[str], pointers: list[int],
                 count: int, top: bool) -> tuple[int, int] | None:
    """Append ``kind``'s layout at ``offset``; (the offset after it, its leaves) or None."""
    if isinstance(kind, Pointer):
        if kind.kind == "ref":
            if not top:
                return None  # an embedded [ref] pointer always has a referent
            return _flat_leaves(kind.target, offset, parts, pointers, count, False)
        pointers.append(count)
    elif isinstance(kind, StructType):
        if not kind.flat:
            return None
        pad = -offset % kind.align
        parts.append("x" * pad)
        offset += pad
        leaves = 0
        for _, member in kind.fields:
            found = _flat_leaves(member, offset, parts, pointers, count + leaves, False)
            if found is None:
                return None
            offset, width = found
            leaves += width
        return offset, leaves
    elif not isinstance(kind, Primitive) and kind is not GUID:
        return None
    part, offset = kind.layout(offset)
    parts.append(part)
    return offset, 1


@functools.lru_cache(maxsize=None)
def flat_layout(params: type) -> FlatLayout | None:
    """The FlatLayout of a declared parameter list, or None if some parameter has none."""
    parts: list[str] = []
    pointers: list[int] = []
    widths: list[int] = []
    offset = count = 0
    for _, kind in params.ndr.fields:
        found = _flat_leaves(kind, offset, parts, pointers, count, True)
        if found is None:
            return None
        offset, width = found
        widths.append(width)
        count += width
    return FlatLayout("".join(parts), tuple(pointers), tuple(widths))
