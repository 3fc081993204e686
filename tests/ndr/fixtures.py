"""DCOM-shaped structures declared for the NDR tests (the production declarations live in
pydcom.wire). Each follows its IDL in MS-DCOM."""

from __future__ import annotations

from pydcom import ndr


class COMVERSION(ndr.Struct):
    """MS-DCOM 2.2.11"""
    MajorVersion = ndr.u16
    MinorVersion = ndr.u16


class ORPC_EXTENT(ndr.Struct):
    """MS-DCOM 2.2.13.1: a conformant structure, data rounded up to 8 bytes."""
    id = ndr.GUID
    size = ndr.u32
    data = ndr.conformant(ndr.u8, size_is=lambda s: (s.size + 7) & ~7)


class ORPC_EXTENT_ARRAY(ndr.Struct):
    """MS-DCOM 2.2.13.2"""
    size = ndr.u32
    reserved = ndr.u32
    extent = ndr.unique(ndr.conformant(ndr.unique(ORPC_EXTENT), size_is=lambda s: (s.size + 1) & ~1))


class ORPCTHIS(ndr.Struct):
    """MS-DCOM 2.2.13.3"""
    version = COMVERSION
    flags = ndr.u32
    reserved1 = ndr.u32
    cid = ndr.GUID
    extensions = ndr.unique(ORPC_EXTENT_ARRAY)


class ORPCTHAT(ndr.Struct):
    """MS-DCOM 2.2.13.4"""
    flags = ndr.u32
    extensions = ndr.unique(ORPC_EXTENT_ARRAY)


class DUALSTRINGARRAY(ndr.Struct):
    """MS-DCOM 2.2.19.2"""
    wNumEntries = ndr.u16
    wSecurityOffset = ndr.u16
    aStringArray = ndr.conformant(ndr.u16, size_is="wNumEntries")


class MInterfacePointer(ndr.Struct):
    """MS-DCOM 2.2.14"""
    ulCntData = ndr.u32
    abData = ndr.conformant(ndr.u8, size_is="ulCntData")


class STDOBJREF(ndr.Struct):
    """MS-DCOM 2.2.18.3"""
    flags = ndr.u32
    cPublicRefs = ndr.u32
    oxid = ndr.u64
    oid = ndr.u64
    ipid = ndr.GUID


class REMQIRESULT(ndr.Struct):
    """MS-DCOM 2.2.24"""
    hResult = ndr.HRESULT
    std = STDOBJREF


class RemQueryInterfaceResponse(ndr.Params):
    """MS-DCOM 3.1.1.5.6.1.1 [out]: ppQIResults is [size_is(,cIids)] REMQIRESULT**."""
    ORPCthat = ORPCTHAT
    ppQIResults = ndr.ref(ndr.unique(ndr.conformant(REMQIRESULT)))
    ErrorCode = ndr.HRESULT


class ComplexPingRequest(ndr.Params):
    """MS-DCOM 3.1.2.5.1.3 [in]"""
    pSetId = ndr.u64
    SequenceNum = ndr.u16
    cAddToSet = ndr.u16
    cDelFromSet = ndr.u16
    AddToSet = ndr.unique(ndr.conformant(ndr.u64, size_is="cAddToSet"))
    DelFromSet = ndr.unique(ndr.conformant(ndr.u64, size_is="cDelFromSet"))


class CustomHeader(ndr.Struct):
    """MS-DCOM 2.2.22.1 (as carried in a type serialization stream)"""
    totalSize = ndr.u32
    headerSize = ndr.u32
    dwReserved = ndr.u32
    destCtx = ndr.u32
    cIfs = ndr.u32
    classInfoClsid = ndr.GUID
    pclsid = ndr.unique(ndr.conformant(ndr.GUID, size_is="cIfs"))
    pSizes = ndr.unique(ndr.conformant(ndr.u32, size_is="cIfs"))
    pdwReserved = ndr.unique(ndr.u32)


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
