"""Shapes for the NDR tests beside the DCOM structures pydcom.wire declares (which the tests
import from there, so they check the declarations production code uses): a VARIANT-like union,
strings, full pointers, nesting, every alignment."""

from __future__ import annotations

from pydcom import ndr
from pydcom.wire.orpc import COMVERSION, ORPC_EXTENT_ARRAY

VT_EMPTY, VT_I4, VT_BSTR_LIKE, VT_R8 = 0, 3, 8, 5


class VariantLike(ndr.Struct):
    """The shape of _wireVARIANT (MS-OAUT 2.2.29.2): a non-encapsulated union keyed by vt,
    whose discriminant the wire carries again as a u32."""
    clSize = ndr.u32
    rpcReserved = ndr.u32
    vt = ndr.u16
    wReserved1 = ndr.u16
    wReserved2 = ndr.u16
    wReserved3 = ndr.u16
    value = ndr.union(ndr.u32, {VT_EMPTY: None, VT_I4: ndr.i32, VT_R8: ndr.f64,
                                VT_BSTR_LIKE: ndr.unique(ndr.wstring)}, switch_is="vt")


class StringParams(ndr.Params):
    """[in, string, unique] wchar_t* pwszName; [in, string] char* name (top-level [ref])."""
    pwszName = ndr.unique(ndr.wstring)
    name = ndr.ref(ndr.cstring)


class Aliased(ndr.Struct):
    """Two full pointers that may point to the same object."""
    first = ndr.full(COMVERSION)
    second = ndr.full(COMVERSION)


class Nested(ndr.Struct):
    """Pointers whose referents hold pointers: referents follow depth first."""
    a = ndr.unique(ORPC_EXTENT_ARRAY)
    b = ndr.unique(ndr.u32)


class Mixed(ndr.Struct):
    """Every alignment: a byte, a short, a hyper, a fixed array, a varying array."""
    b = ndr.u8
    s = ndr.i16
    h = ndr.i64
    f = ndr.f64
    fixed = ndr.fixed_array(ndr.u16, 3)
    count = ndr.u32
    vary = ndr.varying(ndr.u32, length_is="count")
