"""VARIANT, BSTR and SAFEARRAY on the wire (MS-OAUT 2.2.7, 2.2.23, 2.2.29, 2.2.30).

A ``Variant`` is a VARTYPE and a value in its wire form (``pydcom.automation.convert`` maps them
to and from ordinary Python values):

    EMPTY, NULL              None
    I1 I2 I4 I8 UI1 UI2 UI4 UI8 INT UINT, ERROR (an unsigned HRESULT)     int
    R4 R8, DATE (days since 1899-12-30)                                   float
    CY, DECIMAL              decimal.Decimal (CY: a whole number of 1/10,000ths)
    BOOL                     bool
    BSTR                     str, or None for a NULL BSTR
    DISPATCH, UNKNOWN        MInterfacePointer (an OBJREF), or None
    ARRAY | t                SafeArray
    BYREF | t                the value of t; BYREF | VARIANT holds a Variant

``VARIANT`` (a [unique] pointer to wireVARIANTStr) and ``BSTR`` are NDR types for declared
parameter lists. Their codec is written by hand rather than declared: the union's discriminant
is the vt with the array type bits cleared, a VT_ARRAY arm is a PSAFEARRAY (two referent ids,
then the SAFEARRAY), and the byte-level checks decide what a peer may make us allocate.
Decoding is strict: an unknown VARTYPE, a size that disagrees with the data, more dimensions or
elements than the bytes can hold, a SAFEARRAY whose features contradict its type are
``VariantError`` (an NdrError: RPC_X_BAD_STUB_DATA, or DISP_E_BADVARTYPE where an HRESULT
answers). The clSize a peer sends is never trusted (impacket writes 5 whatever the size).
"""

from __future__ import annotations

import decimal
import enum
import struct
from dataclasses import dataclass
from typing import Any

from pydcom import hresult
from pydcom.ndr.core import NdrType, Pointer, Reader, Writer, decode, unique
from pydcom.ndr.errors import NdrError
from pydcom.guid import guid_to_bytes
from pydcom.wire import ids
from pydcom.wire.orpc import MInterfacePointer

MAX_DIMENSIONS = 32  # Windows' own arrays stop at 60; a deeper one is not data but an attack
MAX_NESTING = 32  # VARIANTs inside arrays inside VARIANTs


class VT(enum.IntEnum):
    """VARENUM (MS-OAUT 2.2.7)."""

    EMPTY = 0
    NULL = 1
    I2 = 2
    I4 = 3
    R4 = 4
    R8 = 5
    CY = 6
    DATE = 7
    BSTR = 8
    DISPATCH = 9
    ERROR = 10
    BOOL = 11
    VARIANT = 12
    UNKNOWN = 13
    DECIMAL = 14
    I1 = 16
    UI1 = 17
    UI2 = 18
    UI4 = 19
    I8 = 20
    UI8 = 21
    INT = 22
    UINT = 23
    VOID = 24
    HRESULT = 25
    PTR = 26
    SAFEARRAY = 27
    CARRAY = 28
    USERDEFINED = 29
    LPSTR = 30
    LPWSTR = 31
    RECORD = 36
    ARRAY = 0x2000
    BYREF = 0x4000


TYPEMASK = 0x0FFF


class VariantError(NdrError):
    """A VARIANT that cannot be encoded or is not valid on the wire."""

    hresult = hresult.DISP_E_BADVARTYPE


@dataclass(frozen=True, slots=True)
class Variant:
    """A VARTYPE and its value in wire form (see the module docstring)."""

    vt: int
    value: Any = None

    def __repr__(self) -> str:
        return f"Variant({vt_name(self.vt)}, {self.value!r})"


@dataclass(frozen=True, slots=True)
class SafeArray:
    """A SAFEARRAY (MS-OAUT 2.2.30.10): the element VARTYPE, each dimension's (lower bound,
    count), first dimension first, and the elements in storage order, where the first index
    varies fastest. Elements are values in the form a Variant of type ``vt`` holds.

    The first dimension is SafeArrayGetLBound's dimension 1 (Visual Basic's first index) and
    travels first in rgsabound."""

    vt: int
    bounds: tuple[tuple[int, int], ...]
    values: tuple | bytes  # bytes for VT_UI1, so that a byte string travels as one piece

    def __post_init__(self) -> None:
        if self.vt == VT.UI1 and not isinstance(self.values, bytes):
            object.__setattr__(self, "values", bytes(self.values))
        count = 1
        for _, n in self.bounds:
            count *= n
        if not self.bounds or count != len(self.values):
            raise VariantError(f"a SAFEARRAY of bounds {self.bounds} cannot hold "
                               f"{len(self.values)} elements")


def vt_name(vt: int) -> str:
    names = [name for flag, name in ((VT.ARRAY, "ARRAY"), (VT.BYREF, "BYREF")) if vt & flag]
    base = vt & TYPEMASK
    names.append(VT(base).name if base in VT._value2member_map_ else f"0x{base:x}")
    return "VT_" + "|".join(names)


# -- scalars ---------------------------------------------------------------------------------
# vt -> struct format of the arm, little-endian
_SCALARS: dict[int, struct.Struct] = {
    VT.I1: struct.Struct("<b"), VT.UI1: struct.Struct("<B"),
    VT.I2: struct.Struct("<h"), VT.UI2: struct.Struct("<H"), VT.BOOL: struct.Struct("<h"),
    VT.I4: struct.Struct("<i"), VT.UI4: struct.Struct("<I"), VT.INT: struct.Struct("<i"),
    VT.UINT: struct.Struct("<I"), VT.ERROR: struct.Struct("<I"), VT.R4: struct.Struct("<f"),
    VT.I8: struct.Struct("<q"), VT.UI8: struct.Struct("<Q"), VT.R8: struct.Struct("<d"),
    VT.DATE: struct.Struct("<d"), VT.CY: struct.Struct("<q"),
}
_DECIMAL = struct.Struct("<HBBIQ")  # wReserved, scale, sign, Hi32, Lo64 (MS-OAUT 2.2.26)
_HEADER = struct.Struct("<IIHHHHI")  # clSize, rpcReserved, vt, 3 reserved, discriminant

# Fixed-size VARIANTs, what most calls carry: numbers, booleans, dates, VT_ERROR (a CY needs its
# Decimal scaled), VT_EMPTY and VT_NULL. The whole wireVARIANTStr is then one struct (MS-OAUT
# 2.2.29.2: the header, then the arm aligned to its size within the 8-aligned structure):
# vt -> (that struct, clSize).
FIXED_VARIANTS: dict[int, tuple[struct.Struct, int]] = {}
for _vt, _arm in [*((vt, fmt) for vt, fmt in _SCALARS.items() if vt != VT.CY),
                  (VT.EMPTY, None), (VT.NULL, None)]:
    _code = "" if _arm is None else ("4x" if _arm.size == 8 else "") + _arm.format.lstrip("<")
    _layout = struct.Struct("<IIHHHHI" + _code)
    FIXED_VARIANTS[int(_vt)] = (_layout, (_layout.size + 7) // 8)
_BOOL = int(VT.BOOL)
_U32 = struct.Struct("<I")
_CY_SCALE = decimal.Decimal(10000)
_DEC_CONTEXT = decimal.Context(prec=60)


def _to_decimal(vt: int, value: Any) -> decimal.Decimal:
    try:
        return decimal.Decimal(value)
    except (TypeError, ValueError, ArithmeticError):
        raise VariantError(f"{vt_name(vt)} cannot hold {value!r}") from None


def _scalar_to_wire(vt: int, value: Any) -> Any:
    if vt == VT.BOOL:
        return -1 if value else 0
    if vt == VT.CY:  # a 64-bit count of 1/10,000ths (MS-OAUT 2.2.24)
        amount = _to_decimal(vt, value)
        try:
            scaled = _DEC_CONTEXT.multiply(amount, _CY_SCALE)
        except ArithmeticError:  # a signaling NaN
            raise VariantError(f"VT_CY cannot hold {value!r}") from None
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise VariantError(f"VT_CY holds a whole number of 1/10,000ths, not {value}")
        return int(scaled)
    return value


def _scalar_from_wire(vt: int, raw: Any) -> Any:
    if vt == VT.BOOL:
        return raw != 0
    if vt == VT.CY:
        return decimal.Decimal(raw).scaleb(-4)
    return raw


def _pack_decimal(value: decimal.Decimal) -> bytes:
    sign, digits, exponent = _to_decimal(VT.DECIMAL, value).as_tuple()
    if not isinstance(exponent, int):
        raise VariantError(f"VT_DECIMAL cannot hold {value}")
    mantissa = int("".join(map(str, digits)) or "0")
    scale = -exponent
    if scale < 0:  # 1E+3: make the exponent zero
        mantissa, scale = mantissa * 10 ** -scale, 0
    while scale > 28 and mantissa % 10 == 0:
        mantissa, scale = mantissa // 10, scale - 1
    if scale > 28 or mantissa >= 1 << 96:
        raise VariantError(f"VT_DECIMAL cannot hold {value} (96 bits, scale 0-28)")
    return _DECIMAL.pack(0, scale, 0x80 if sign else 0, mantissa >> 64, mantissa & (1 << 64) - 1)


def _unpack_decimal(data: bytes, offset: int, r: Reader) -> decimal.Decimal:
    _, scale, sign, hi, lo = _DECIMAL.unpack_from(data, offset)
    if scale > 28 or sign not in (0, 0x80):
        raise _error(r, f"VT_DECIMAL with scale {scale} and sign 0x{sign:x}")
    mantissa = hi << 64 | lo
    value = decimal.Decimal(mantissa).scaleb(-scale, _DEC_CONTEXT)
    return value.copy_negate() if sign else value  # exact, and keeps a negative zero


def _error(r: Reader, message: str) -> VariantError:
    return VariantError(r.error(message).args[0])


# -- BSTR (FLAGGED_WORD_BLOB, MS-OAUT 2.2.23) ------------------------------------------------
_BLOB_HEAD = struct.Struct("<III")  # max_count (hoisted), cBytes, clSize
NULL_BSTR_BYTES = 0xFFFFFFFF


def write_blob(w: Writer, text: str | None) -> None:
    """FLAGGED_WORD_BLOB, a BSTR's referent (MS-OAUT 2.2.23.1); None is a NULL BSTR."""
    w.align(4)
    if text is None:  # a NULL BSTR still travels, marked by cBytes (2.2.23.2)
        w.buf += _BLOB_HEAD.pack(0, NULL_BSTR_BYTES, 0)
        return
    if not isinstance(text, str):
        raise VariantError(f"a BSTR holds text, not {type(text).__name__}")
    data = text.encode("utf-16-le", "surrogatepass")
    words = len(data) // 2
    w.buf += _BLOB_HEAD.pack(words, len(data), words)
    w.buf += data


def read_blob(r: Reader) -> str | None:
    """FLAGGED_WORD_BLOB (MS-OAUT 2.2.23.1): the text, or None for a NULL BSTR."""
    r.align(4)
    max_count, cbytes, clsize = r.unpack(_BLOB_HEAD)
    if cbytes == NULL_BSTR_BYTES:
        if max_count or clsize:
            raise _error(r, "a NULL BSTR with data")
        return None
    if max_count != clsize or cbytes > 2 * clsize or cbytes + 1 < 2 * clsize:
        raise _error(r, f"a BSTR of {cbytes} bytes in {clsize} words (max_count {max_count})")
    data = r.take(2 * clsize)[:cbytes]
    if cbytes % 2:
        raise _error(r, "a BSTR of an odd number of bytes is not text")
    return data.decode("utf-16-le", "surrogatepass")


def _write_pointer(w: Writer, present: bool) -> bool:
    w.align(4)
    w.buf += _U32.pack(w.referent_id() if present else 0)
    return present


def _read_pointer(r: Reader) -> bool:
    r.align(4)
    return r.u32() != 0


class _BlobType(NdrType):
    name = "FLAGGED_WORD_BLOB"
    align = 4
    min_size = 12

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        write_blob(w, value)

    def decode(self, r: Reader, owner: Any = None) -> Any:
        return read_blob(r)


class _BstrType(Pointer):
    """BSTR (MS-OAUT 2.2.23): a [unique] pointer to FLAGGED_WORD_BLOB. The value is a str, or
    None for a NULL BSTR, which still points at a blob (one whose cBytes is 0xFFFFFFFF); a NULL
    pointer read is a NULL BSTR too."""

    def __init__(self) -> None:
        super().__init__(_BlobType(), "unique")
        self.name = "BSTR"

    def referent_id(self, value: Any, w: Writer, owner: Any = None) -> int:
        w.deferred.append((self.target, value, owner))
        return w.referent_id()


BSTR = _BstrType()


# -- the VARIANT itself ------------------------------------------------------------------------
_INTERFACES = (VT.DISPATCH, VT.UNKNOWN)
_MIP = MInterfacePointer.ndr


def discriminant(vt: int) -> int:
    """The union discriminant for ``vt``: vt itself, but an array's element type cleared
    (VT_ARRAY|VT_I4 is 0x2000), as Windows marshals it."""
    return vt & ~TYPEMASK if vt & VT.ARRAY else vt


def _check_vt(vt: int, r: Reader | None = None) -> None:
    base, flags = vt & TYPEMASK, vt & ~TYPEMASK
    ok = flags in (0, VT.ARRAY, VT.BYREF, VT.ARRAY | VT.BYREF)
    if flags & VT.ARRAY:
        ok = ok and base in _SF_OF
    elif flags & VT.BYREF:
        ok = ok and (base in _SCALARS or base in (VT.DECIMAL, VT.BSTR, VT.VARIANT)
                     or base in _INTERFACES)
    else:
        ok = ok and (base in _SCALARS or base in (VT.EMPTY, VT.NULL, VT.DECIMAL, VT.BSTR)
                     or base in _INTERFACES)
    if not ok:
        message = f"{vt_name(vt)} cannot travel in a VARIANT"
        raise _error(r, message) if r is not None else VariantError(message)


def write_variant(w: Writer, v: Variant, depth: int = 0) -> None:
    """wireVARIANTStr (MS-OAUT 2.2.29.2), then its pointees, depth first (C706 14.3.12.3)."""
    if depth > MAX_NESTING:
        raise VariantError(f"VARIANTs nested more than {MAX_NESTING} deep")
    fixed = FIXED_VARIANTS.get(v.vt) if type(v) is Variant else None
    if fixed is not None:  # one struct call; a value it cannot hold is explained below
        layout, size = fixed
        vt, value = v.vt, v.value
        try:
            packed = layout.pack(size, 0, vt, 0, 0, 0, vt) if layout.size == 20 else \
                layout.pack(size, 0, vt, 0, 0, 0, vt, (-1 if value else 0) if vt == _BOOL
                            else value)
        except (struct.error, TypeError, OverflowError):
            packed = None
        if packed is not None:
            w.align(8)
            w.buf += packed
            return
    vt = v.vt
    _check_vt(vt)
    w.align(8)
    start = len(w.buf)
    held = w.held
    w.buf += _HEADER.pack(0, 0, vt, 0, 0, 0, discriminant(vt))
    value = v.value
    if vt & VT.BYREF:
        _write_pointer(w, True)
        _write_referent(w, vt & ~VT.BYREF, value, depth)
    else:
        _write_referent(w, vt, value, depth)
    # clSize: the VARIANT's size with its pointees, in 8-byte units (MS-OAUT 2.2.29.2)
    _U32.pack_into(w.buf, start, (len(w.buf) - start + w.held - held + 7) // 8)


def _write_referent(w: Writer, vt: int, value: Any, depth: int) -> None:
    """The arm of ``vt``, inline, or as the pointee of a by-reference arm: the by-reference
    pointer (BSTR*, IDispatch**, PSAFEARRAY*, VARIANT*) is written already, so what follows is
    the BSTR, interface pointer, PSAFEARRAY or VARIANT it points at, each a pointer itself."""
    base = vt & TYPEMASK
    if vt & VT.ARRAY:  # by reference, write_variant has written the PSAFEARRAY* already
        write_psafearray(w, value, base, depth)
        return
    if base in _SCALARS:
        fmt = _SCALARS[base]
        w.align(fmt.size)
        try:
            w.buf += fmt.pack(_scalar_to_wire(base, value))
        except (struct.error, TypeError, OverflowError) as exc:
            raise VariantError(f"{vt_name(vt)} cannot hold {value!r}: {exc}") from None
    elif base == VT.DECIMAL:
        w.align(8)
        w.buf += _pack_decimal(value)
    elif base == VT.BSTR:  # a NULL BSTR too points at a blob (MS-OAUT 2.2.23.2)
        _write_pointer(w, True)
        write_blob(w, value)
    elif base in _INTERFACES:
        if _write_pointer(w, value is not None):
            w.unit(_MIP, value)
    elif base == VT.VARIANT:  # only by reference: the pointee is a VARIANT pointer
        if not isinstance(value, Variant):
            raise VariantError(f"VT_BYREF|VT_VARIANT holds a Variant, not {value!r}")
        _write_pointer(w, True)
        write_variant(w, value, depth + 1)
    # EMPTY and NULL have no arm


def read_variant(r: Reader, depth: int = 0) -> Variant:
    """wireVARIANTStr and its pointees (MS-OAUT 2.2.29.2); VariantError for a malformed one."""
    if depth > MAX_NESTING:
        raise _error(r, f"VARIANTs nested more than {MAX_NESTING} deep")
    pos = r.pos + (-r.pos % 8)
    if pos + 20 <= r.end:
        data = r.data
        vt = data[pos + 8] | data[pos + 9] << 8
        fixed = FIXED_VARIANTS.get(vt)
        if fixed is not None and pos + fixed[0].size <= r.end:
            fields = fixed[0].unpack_from(data, pos)
            if fields[6] == vt:  # the discriminant; a wrong one is explained below
                r.pos = pos + fixed[0].size
                if len(fields) == 7:
                    return Variant(vt)
                return Variant(vt, fields[7] != 0 if vt == _BOOL else fields[7])
    r.align(8)
    _clsize, _reserved, vt, _r1, _r2, _r3, disc = r.unpack(_HEADER)
    _check_vt(vt, r)
    if disc != discriminant(vt):
        raise _error(r, f"VARIANT discriminant 0x{disc:x} disagrees with {vt_name(vt)}")
    if vt & VT.BYREF:
        if not _read_pointer(r):
            raise _error(r, f"{vt_name(vt)} with a NULL pointer")
        return Variant(vt, _read_referent(r, vt & ~VT.BYREF, depth))
    return Variant(vt, _read_referent(r, vt, depth))


def _read_referent(r: Reader, vt: int, depth: int) -> Any:
    base = vt & TYPEMASK
    if vt & VT.ARRAY:
        return read_psafearray(r, base, depth)
    fmt = _SCALARS.get(base)
    if fmt is not None:
        r.align(fmt.size)
        return _scalar_from_wire(base, r.unpack(fmt)[0])
    if base == VT.DECIMAL:
        r.align(8)
        data = r.take(16)
        return _unpack_decimal(data, 0, r)
    if base == VT.BSTR:
        return read_blob(r) if _read_pointer(r) else None
    if base in _INTERFACES:
        return r.unit(_MIP) if _read_pointer(r) else None
    if base == VT.VARIANT:
        if not _read_pointer(r):
            raise _error(r, "VT_BYREF|VT_VARIANT pointing at a NULL VARIANT")
        return read_variant(r, depth + 1)
    return None  # EMPTY, NULL


class _VariantBodyType(NdrType):
    name = "wireVARIANTStr"
    align = 8
    min_size = 20
    pointerless = True  # it writes its own pointees: nothing is left for the unit to defer

    def encode(self, w: Writer, value: Any, owner: Any = None) -> None:
        if not isinstance(value, Variant):
            raise VariantError(f"a VARIANT, not {type(value).__name__}")
        write_variant(w, value)

    def decode(self, r: Reader, owner: Any = None) -> Any:
        return read_variant(r)


VARIANT_BODY = _VariantBodyType()
VARIANT = unique(VARIANT_BODY)
"""VARIANT (MS-OAUT 2.2.29.1): a [unique] pointer to wireVARIANTStr; None is a NULL pointer."""


# -- SAFEARRAY (MS-OAUT 2.2.30.10) -------------------------------------------------------------
FADF_RECORD = 0x0020
FADF_HAVEIID = 0x0040
FADF_HAVEVARTYPE = 0x0080
FADF_BSTR = 0x0100
FADF_UNKNOWN = 0x0200
FADF_DISPATCH = 0x0400
FADF_VARIANT = 0x0800
# The flags that say what the elements are; the others (FADF_AUTO, STATIC, EMBEDDED, FIXEDSIZE,
# and local ones such as FADF_CREATEVECTOR) are ignored on receipt (MS-OAUT 2.2.9).
_TYPE_FEATURES = (FADF_RECORD | FADF_HAVEIID | FADF_HAVEVARTYPE | FADF_BSTR | FADF_UNKNOWN
                  | FADF_DISPATCH | FADF_VARIANT)

SF_I1, SF_I2, SF_I4, SF_I8 = 0x10, 0x02, 0x03, 0x14
SF_BSTR, SF_UNKNOWN, SF_DISPATCH, SF_VARIANT, SF_HAVEIID = 0x08, 0x0D, 0x09, 0x0C, 0x800D

# element vt -> (SF_TYPE, struct format of one element or None, cbElements)
_SF_OF: dict[int, tuple[int, str | None, int]] = {
    VT.I1: (SF_I1, "b", 1), VT.UI1: (SF_I1, "B", 1),
    VT.I2: (SF_I2, "h", 2), VT.UI2: (SF_I2, "H", 2), VT.BOOL: (SF_I2, "h", 2),
    VT.I4: (SF_I4, "i", 4), VT.UI4: (SF_I4, "I", 4), VT.INT: (SF_I4, "i", 4),
    VT.UINT: (SF_I4, "I", 4), VT.ERROR: (SF_I4, "I", 4), VT.R4: (SF_I4, "f", 4),
    VT.I8: (SF_I8, "q", 8), VT.UI8: (SF_I8, "Q", 8), VT.R8: (SF_I8, "d", 8),
    VT.DATE: (SF_I8, "d", 8), VT.CY: (SF_I8, "q", 8),
    VT.BSTR: (SF_BSTR, None, 4), VT.VARIANT: (SF_VARIANT, None, 16),
    VT.UNKNOWN: (SF_HAVEIID, None, 4), VT.DISPATCH: (SF_HAVEIID, None, 4),
}
# What each element type sends in fFeatures; an array of interfaces carries its IID instead of
# its VARTYPE (FADF_HAVEIID and FADF_HAVEVARTYPE never together with SF_HAVEIID).
_FEATURES_SENT = {
    VT.BSTR: FADF_HAVEVARTYPE | FADF_BSTR, VT.VARIANT: FADF_HAVEVARTYPE | FADF_VARIANT,
    VT.UNKNOWN: FADF_HAVEIID | FADF_UNKNOWN, VT.DISPATCH: FADF_HAVEIID | FADF_DISPATCH,
}
# The consistency table of MS-OAUT 2.2.30.10: for each sfType, the element-type flags fFeatures
# may carry (Windows refuses anything else with RPC_X_BAD_STUB_DATA, <12>).
_SCALAR_FEATURES = frozenset({0, FADF_HAVEVARTYPE})
_FEATURES_ALLOWED: dict[int, frozenset[int]] = {
    SF_I1: _SCALAR_FEATURES, SF_I2: _SCALAR_FEATURES, SF_I4: _SCALAR_FEATURES,
    SF_I8: _SCALAR_FEATURES,
    SF_HAVEIID: frozenset({FADF_UNKNOWN | FADF_HAVEIID, FADF_DISPATCH | FADF_HAVEIID}),
    SF_BSTR: frozenset({FADF_BSTR, FADF_BSTR | FADF_HAVEVARTYPE}),
    SF_UNKNOWN: frozenset({FADF_UNKNOWN, FADF_UNKNOWN | FADF_HAVEVARTYPE,
                           FADF_UNKNOWN | FADF_HAVEIID}),
    SF_DISPATCH: frozenset({FADF_DISPATCH, FADF_DISPATCH | FADF_HAVEVARTYPE,
                            FADF_DISPATCH | FADF_HAVEIID}),
    SF_VARIANT: frozenset({FADF_VARIANT, FADF_VARIANT | FADF_HAVEVARTYPE}),
}
_SA_HEAD = struct.Struct("<IHHII")  # max_count (cDims), cDims, fFeatures, cbElements, cLocks
_BOUND = struct.Struct("<Ii")
_IID_OF = {VT.UNKNOWN: ids.IID_IUnknown, VT.DISPATCH: ids.IID_IDispatch}


def write_psafearray(w: Writer, array: SafeArray | None, base: int, depth: int) -> None:
    """PSAFEARRAY (MS-OAUT 2.2.6), the VT_ARRAY arm: a [unique] pointer to SAFEARRAY, itself a
    [unique] pointer to _wireSAFEARRAY (2.2.30.10), so two referent ids, then the structure.
    Windows sends both ids for a NULL array too (0, 0): its VARIANT marshaler writes the
    PSAFEARRAY slot and then the SAFEARRAY marshaler its own pointer."""
    _write_pointer(w, array is not None)
    if _write_pointer(w, array is not None):
        write_safearray(w, array, base, depth)


def read_psafearray(r: Reader, base: int, depth: int) -> SafeArray | None:
    """The VT_ARRAY arm written by ``write_psafearray``: two ids, then the SAFEARRAY. The second
    says whether an array follows; the first (Windows fills it from its own pointer's value, so
    it may be nonzero for a NULL array) may not be NULL when the second is not."""
    outer = _read_pointer(r)
    inner = _read_pointer(r)
    if not inner:
        return None
    if not outer:
        raise _error(r, "a NULL PSAFEARRAY followed by a SAFEARRAY")
    return read_safearray(r, base, depth)


def write_safearray(w: Writer, array: SafeArray, base: int, depth: int) -> None:
    """_wireSAFEARRAY, a conformant structure, then its data (MS-OAUT 2.2.30.10).

    The bounds travel first dimension first: the dimension whose index varies fastest, which
    the spec's C-like example calls the last ([0:5][0:2][0:10] travels as (10, 0), (2, 0),
    (5, 0)), and which Windows sends first (its in-memory rgsabound, last dimension first, is
    sent reversed)."""
    if not isinstance(array, SafeArray) or array.vt != base:
        raise VariantError(f"a SafeArray of {vt_name(base)} expected, not {array!r}")
    sf_type, fmt, size = _SF_OF[base]
    dims = len(array.bounds)
    if dims > MAX_DIMENSIONS:
        raise VariantError(f"a SAFEARRAY of {dims} dimensions")
    features = _FEATURES_SENT.get(base, FADF_HAVEVARTYPE)
    locks = base << 16 if features & FADF_HAVEVARTYPE else 0  # the VARTYPE in the high word
    count = len(array.values)
    w.align(4)
    try:
        w.buf += _SA_HEAD.pack(dims, dims, features, size, locks)
        w.buf += _U32.pack(sf_type)  # the SAFEARRAYUNION's discriminant
        w.buf += _U32.pack(count)  # Size / clSize of the arm
        _write_pointer(w, True)  # the arm's data pointer; the data is deferred past the bounds
        if sf_type == SF_HAVEIID:
            w.buf += guid_to_bytes(_IID_OF[base])
        for lower, n in array.bounds:
            w.buf += _BOUND.pack(n, lower)
    except struct.error as exc:
        raise VariantError(f"a SAFEARRAY cannot have the bounds {array.bounds}: {exc}") from None
    # the data: max_count, then the elements (and their own pointees)
    w.buf += _U32.pack(count)
    if base == VT.UI1:
        w.put(array.values)  # a gathering writer keeps a large one by reference
        return
    if fmt is not None:
        if size == 8:
            w.align(8)
        values = [_scalar_to_wire(base, v) for v in array.values]
        try:
            w.buf += struct.pack(f"<{count}{fmt}", *values)
        except (struct.error, OverflowError) as exc:
            raise VariantError(f"a SAFEARRAY of {vt_name(base)} cannot hold its values: "
                               f"{exc}") from None
        return
    # the pointers first, their referents after all of them; a NULL BSTR is still a blob
    for value in array.values:
        _write_pointer(w, base == VT.BSTR or value is not None)
    for value in array.values:
        if base == VT.BSTR:
            write_blob(w, value)
        elif value is None:
            continue
        elif base == VT.VARIANT:
            if not isinstance(value, Variant):
                raise VariantError(f"a SAFEARRAY of VARIANT holds Variants, not {value!r}")
            write_variant(w, value, depth + 1)
        else:
            w.unit(_MIP, value)


def _element_count(r: Reader, bounds: list[tuple[int, int]], element_size: int) -> int:
    if any(n == 0 for _, n in bounds):  # no elements, whatever the other dimensions say
        return 0
    count = 1
    for _, n in bounds:
        count *= n
        # Checked as it grows, so that no product of absurd counts is ever computed in full.
        r.check_count(count, element_size, "SAFEARRAY")
    return count


def read_safearray(r: Reader, base: int, depth: int) -> SafeArray:
    r.align(4)
    max_count, dims, features, _cb, locks = r.unpack(_SA_HEAD)
    if dims != max_count or not 1 <= dims <= MAX_DIMENSIONS:
        raise _error(r, f"a SAFEARRAY of {dims} dimensions (max_count {max_count})")
    sf_expected, fmt, size = _SF_OF[base]
    sf_type = r.u32()
    if features & FADF_HAVEVARTYPE and (locks >> 16) != base:
        raise _error(r, f"a SAFEARRAY of {vt_name(locks >> 16)} in a {vt_name(VT.ARRAY | base)}")
    accepted = {sf_expected}
    if base in _INTERFACES:
        accepted.add(SF_UNKNOWN if base == VT.UNKNOWN else SF_DISPATCH)
    if sf_type not in accepted:
        raise _error(r, f"SAFEARRAY type 0x{sf_type:x} for {vt_name(VT.ARRAY | base)}")
    if (features & _TYPE_FEATURES) not in _FEATURES_ALLOWED[sf_type]:
        raise _error(r, f"SAFEARRAY features 0x{features:x} disagree with its type 0x{sf_type:x}")
    size_field = r.u32()
    present = _read_pointer(r)
    if sf_type == SF_HAVEIID:
        r.take(16)
    r.check_count(dims, _BOUND.size, "SAFEARRAY bounds")
    bounds = [(lower, n) for n, lower in (r.unpack(_BOUND) for _ in range(dims))]
    count = _element_count(r, bounds, 4 if fmt is None else size)  # a pointer each at least
    if size_field != count:
        raise _error(r, f"a SAFEARRAY of {count} elements says it holds {size_field}")
    if not present:
        if count:
            raise _error(r, "a SAFEARRAY with elements and no data")
        return SafeArray(base, tuple(bounds), ())
    if r.u32() != count:
        raise _error(r, "a SAFEARRAY whose data disagrees with its bounds")
    if base == VT.UI1:
        return SafeArray(base, tuple(bounds), r.take(count))
    if fmt is not None:
        if size == 8:
            r.align(8)
        r.check_count(count, size, "SAFEARRAY data")
        raw = struct.unpack(f"<{count}{fmt}", r.take(count * size))
        values = tuple(_scalar_from_wire(base, v) for v in raw) if base in (VT.BOOL, VT.CY) else raw
        return SafeArray(base, tuple(bounds), values)
    r.check_count(count, 4, "SAFEARRAY data")
    present_items = [_read_pointer(r) for _ in range(count)]
    values: list = []
    for item in present_items:
        if not item:
            values.append(None)
        elif base == VT.BSTR:
            values.append(read_blob(r))
        elif base == VT.VARIANT:
            values.append(read_variant(r, depth + 1))
        else:
            values.append(r.unit(_MIP))
    return SafeArray(base, tuple(bounds), tuple(values))


def encode_variant(v: Variant | None) -> bytes:
    """A VARIANT as a top-level unit: its referent id, then wireVARIANTStr."""
    w = Writer()
    w.unit(VARIANT, v)
    return w.getvalue()


def decode_variant(data: bytes) -> Variant | None:
    return decode(VARIANT, data)
