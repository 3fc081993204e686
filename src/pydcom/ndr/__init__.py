"""NDR 2.0, the transfer syntax of DCE/RPC (C706 chapter 14; MS-RPCE 2.2.4-2.2.6).

Declare a structure once, in the order of its IDL; encode and decode both come from it::

    from pydcom import ndr

    class COMVERSION(ndr.Struct):
        \"\"\"MS-DCOM 2.2.11\"\"\"
        MajorVersion = ndr.u16
        MinorVersion = ndr.u16

    class DUALSTRINGARRAY(ndr.Struct):          # a conformant structure: max_count goes first
        \"\"\"MS-DCOM 2.2.19.2\"\"\"
        wNumEntries = ndr.u16
        wSecurityOffset = ndr.u16
        aStringArray = ndr.conformant(ndr.u16, size_is="wNumEntries")

    class ORPCTHIS(ndr.Struct):
        \"\"\"MS-DCOM 2.2.13.3\"\"\"
        version = COMVERSION
        flags = ndr.u32
        reserved1 = ndr.u32
        cid = ndr.GUID
        extensions = ndr.unique(ORPC_EXTENT_ARRAY)

    class ResolveOxidRequest(ndr.Params):     # a method's [in] parameters, each a unit
        pOxid = ndr.u64
        cRequestedProtseqs = ndr.u16
        arRequestedProtseqs = ndr.ref(ndr.conformant(ndr.u16, size_is="cRequestedProtseqs"))

    stub = ResolveOxidRequest(pOxid=7, cRequestedProtseqs=1, arRequestedProtseqs=[7]).encode()
    request = ResolveOxidRequest.decode(stub)   # NdrError on anything malformed

Types: ``u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 boolean char wchar enum16 v1_enum HRESULT
error_status_t GUID``; ``fixed_array(T, n)``; ``conformant(T, size_is)``, ``varying(T, length_is)``,
``conformant_varying(T, size_is, length_is)``; ``wstring``/``cstring`` (the referents of
``[string]`` pointers: ``unique(wstring)``); ``ref(T)``, ``unique(T)``, ``full(T)``;
``union(switch_type, {tag: T}, switch_is=None)``. ``size_is``/``length_is``/``switch_is`` name a
field of the enclosing structure (or parameter list), or are functions of it. Values: ints,
floats, ``uuid.UUID``, ``bytes`` for byte arrays, lists for other arrays, ``str`` for strings,
None for NULL pointers, ``(tag, value)`` for encapsulated unions.

``ndr.ts1`` frames values as type serialization version 1 streams (MS-RPCE 2.2.6).
"""

from pydcom.ndr import core, structs, ts1
from pydcom.ndr.core import (
    GUID,
    HRESULT,
    Array,
    FixedArray,
    NdrType,
    Pointer,
    Primitive,
    Reader,
    String,
    Union,
    Writer,
    boolean,
    char,
    conformant,
    conformant_varying,
    cstring,
    decode,
    encode,
    enum16,
    error_status_t,
    f32,
    f64,
    fixed_array,
    full,
    i8,
    i16,
    i32,
    i64,
    ref,
    u8,
    u16,
    u32,
    u64,
    union,
    unique,
    v1_enum,
    varying,
    wchar,
    wstring,
)
from pydcom.ndr.errors import NdrError
from pydcom.ndr.structs import Params, Struct

__all__ = [
    "GUID", "HRESULT", "Array", "FixedArray", "NdrError", "NdrType", "Params", "Pointer",
    "Primitive", "Reader", "String", "Struct", "Union", "Writer", "boolean", "char",
    "conformant", "conformant_varying", "cstring", "decode", "encode", "enum16",
    "error_status_t", "f32", "f64", "fixed_array", "full", "i8", "i16", "i32", "i64", "ref",
    "ts1", "u8", "u16", "u32", "u64", "union", "unique", "v1_enum", "varying", "wchar", "wstring",
]
