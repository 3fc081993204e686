"""ITypeInfo on the wire (MS-OAUT 2.2.37-2.2.44, 3.7.4): the type descriptions a server gives
generic clients, and the parameter lists of the methods pydcom serves.

pydcom describes a Python class as a dispinterface: its methods as FUNCDESCs (FUNC_DISPATCH) and
its properties as VARDESCs (VAR_DISPATCH), every type a scalar VARTYPE. TYPEDESC's union arms
that point further (VT_PTR, VT_SAFEARRAY, VT_CARRAY) are not among what it sends or reads; a
TYPEDESC with one of them is refused as bad stub data.

Two structures put a union before the field that selects its arm (TYPEDESC's vt, VARDESC's
varkind). NDR still sends the discriminant first, so each is declared here as an encapsulated
union followed by that field, and ``check_selector`` holds the two to agree.
"""

from __future__ import annotations

import uuid

from pydcom import hresult, ndr
from pydcom.automation.variant import BSTR, VARIANT, VT
from pydcom.rpc.constants import SyntaxId
from pydcom.wire.orpc import ORPCTHAT, ORPCTHIS, PMInterfacePointer

IID_ITypeInfo = uuid.UUID("00020401-0000-0000-c000-000000000046")  # MS-OAUT 1.9
ITYPEINFO_SYNTAX = SyntaxId(IID_ITypeInfo, 0, 0)

# Opnums (MS-OAUT 3.7.4)
OP_GET_TYPE_ATTR, OP_GET_TYPE_COMP, OP_GET_FUNC_DESC, OP_GET_VAR_DESC, OP_GET_NAMES = 3, 4, 5, 6, 7
OP_GET_REF_TYPE_OF_IMPL_TYPE, OP_GET_IMPL_TYPE_FLAGS = 8, 9
OP_GET_DOCUMENTATION, OP_GET_DLL_ENTRY, OP_GET_REF_TYPE_INFO = 12, 13, 14
OP_CREATE_INSTANCE, OP_GET_MOPS, OP_GET_CONTAINING_TYPE_LIB = 16, 17, 18

# Enumerations (MS-OAUT 2.2.10-2.2.19)
CC_STDCALL = 4
FUNCFLAG_FRESTRICTED = 0x1
FUNC_DISPATCH = 4
INVOKE_FUNC, INVOKE_PROPERTYGET, INVOKE_PROPERTYPUT, INVOKE_PROPERTYPUTREF = 1, 2, 4, 8
PARAMFLAG_FIN, PARAMFLAG_FOPT, PARAMFLAG_FHASDEFAULT = 0x1, 0x10, 0x20
TKIND_DISPATCH = 4
TYPEFLAG_FDISPATCHABLE = 0x1000
VARFLAG_FREADONLY, VARFLAG_FRESTRICTED = 0x1, 0x80
VAR_PERINSTANCE, VAR_STATIC, VAR_CONST, VAR_DISPATCH = 0, 1, 2, 3
MEMBERID_NIL = -1  # the type itself (2.2.35.1)
TYPEINFO_NAMEARG, TYPEINFO_DOCSTRINGARG = 0x1, 0x2
TYPEINFO_HELPCONTEXTARG, TYPEINFO_HELPFILEARG = 0x4, 0x8
POINTER_SIZE = 4  # cbSizeInstance and cbSizeVft count in the system pointer size (2.2.45)

# HRESULTs ITypeInfo's methods return beyond the common ones (MS-OAUT 3.7.4; MS-ERREF 2.1.1)
TYPE_E_ELEMENTNOTFOUND = hresult.TYPE_E_ELEMENTNOTFOUND
TYPE_E_BADMODULEKIND = hresult.TYPE_E_BADMODULEKIND

# The VARTYPEs a TYPEDESC may carry without an arm (the "T" ones of MS-OAUT 2.2.7), and
# VT_EMPTY, which a TYPEATTR's tdescAlias carries when the type is not an alias (2.2.44).
_SCALAR_TYPEDESC = (VT.EMPTY, VT.I2, VT.I4, VT.R4, VT.R8, VT.CY, VT.DATE, VT.BSTR, VT.DISPATCH,
                    VT.ERROR, VT.BOOL, VT.VARIANT, VT.UNKNOWN, VT.DECIMAL, VT.I1, VT.UI1, VT.UI2,
                    VT.UI4, VT.I8, VT.UI8, VT.INT, VT.UINT, VT.VOID, VT.HRESULT, VT.LPSTR,
                    VT.LPWSTR)
VT_USERDEFINED = 29


class TYPEDESC(ndr.Struct):
    """MS-OAUT 2.2.37 (the union first, then vt, which must name the same arm)."""
    _tdUnion = ndr.union(ndr.u16, {**{int(vt): None for vt in _SCALAR_TYPEDESC},
                                   VT_USERDEFINED: ndr.u32}, name="TYPEDESC union")
    vt = ndr.u16


def typedesc(vt: int) -> TYPEDESC:
    """The TYPEDESC of a VARTYPE without an arm (MS-OAUT 2.2.37)."""
    return TYPEDESC((int(vt), None), int(vt))


class PARAMDESCEX(ndr.Struct):
    """MS-OAUT 2.2.39"""
    cBytes = ndr.u32
    varDefaultValue = VARIANT


class PARAMDESC(ndr.Struct):
    """MS-OAUT 2.2.40"""
    pparamdescex = ndr.unique(PARAMDESCEX)
    wParamFlags = ndr.u16


class ELEMDESC(ndr.Struct):
    """MS-OAUT 2.2.41"""
    tdesc = TYPEDESC
    paramdesc = PARAMDESC


class FUNCDESC(ndr.Struct):
    """MS-OAUT 2.2.42"""
    memid = ndr.i32
    lReserved1 = ndr.unique(ndr.conformant(ndr.i32, size_is="cReserved2"))
    lprgelemdescParam = ndr.unique(ndr.conformant(ELEMDESC, size_is="cParams"))
    funckind = ndr.v1_enum
    invkind = ndr.v1_enum
    callconv = ndr.v1_enum
    cParams = ndr.i16
    cParamsOpt = ndr.i16
    oVft = ndr.i16
    cReserved2 = ndr.i16
    elemdescFunc = ELEMDESC
    wFuncFlags = ndr.u16


class VARDESC(ndr.Struct):
    """MS-OAUT 2.2.43 (the union first, then varkind, which must name the same arm)."""
    memid = ndr.i32
    lpstrReserved = ndr.unique(ndr.wstring)
    _vdUnion = ndr.union(ndr.v1_enum, {VAR_PERINSTANCE: ndr.u32, VAR_STATIC: ndr.u32,
                                       VAR_DISPATCH: ndr.u32},
                         name="VARDESC union")  # VAR_CONST (a VARIANT*) is not sent
    elemdescVar = ELEMDESC
    wVarFlags = ndr.u16
    varkind = ndr.v1_enum


class TYPEATTR(ndr.Struct):
    """MS-OAUT 2.2.44"""
    guid = ndr.GUID
    lcid = ndr.u32
    dwReserved1 = ndr.u32
    dwReserved2 = ndr.u32
    dwReserved3 = ndr.u32
    lpstrReserved4 = ndr.unique(ndr.wstring)
    cbSizeInstance = ndr.u32
    typekind = ndr.v1_enum
    cFuncs = ndr.u16
    cVars = ndr.u16
    cImplTypes = ndr.u16
    cbSizeVft = ndr.u16
    cbAlignment = ndr.u16
    wTypeFlags = ndr.u16
    wMajorVerNum = ndr.u16
    wMinorVerNum = ndr.u16
    tdescAlias = TYPEDESC
    dwReserved5 = ndr.u32
    wReserved6 = ndr.u16


def check_selector(value: TYPEDESC | VARDESC) -> None:
    """NdrError unless a decoded TYPEDESC's or VARDESC's union arm is the one its selector
    field names (the wire carries both)."""
    tag, selector = (value._tdUnion[0], value.vt) if isinstance(value, TYPEDESC) else (
        value._vdUnion[0], value.varkind)
    if tag != selector:
        raise ndr.NdrError(f"{type(value).__name__}: union arm {tag} under selector {selector}")


# -- parameter lists (MS-OAUT 3.7.4), after the implicit ORPCTHIS / ORPCTHAT -----------------------
class EmptyRequest(ndr.Params):
    """GetTypeAttr, GetTypeComp, GetContainingTypeLib (MS-OAUT 3.7.4.1, 3.7.4.2, 3.7.4.13):
    no [in] parameters."""
    orpcthis = ndr.ref(ORPCTHIS)


class GetTypeAttrResponse(ndr.Params):
    """MS-OAUT 3.7.4.1 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    ppTypeAttr = ndr.unique(TYPEATTR)
    pReserved = ndr.u32
    hr = ndr.HRESULT


class IndexRequest(ndr.Params):
    """GetFuncDesc, GetVarDesc, GetRefTypeOfImplType, GetImplTypeFlags (MS-OAUT 3.7.4.3-3.7.4.7)."""
    orpcthis = ndr.ref(ORPCTHIS)
    index = ndr.u32


class GetFuncDescResponse(ndr.Params):
    """MS-OAUT 3.7.4.3 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    ppFuncDesc = ndr.unique(FUNCDESC)
    pReserved = ndr.u32
    hr = ndr.HRESULT


class GetVarDescResponse(ndr.Params):
    """MS-OAUT 3.7.4.4 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    ppVarDesc = ndr.unique(VARDESC)
    pReserved = ndr.u32
    hr = ndr.HRESULT


class GetNamesRequest(ndr.Params):
    """MS-OAUT 3.7.4.5 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    memid = ndr.i32
    cMaxNames = ndr.u32


class GetNamesResponse(ndr.Params):
    """MS-OAUT 3.7.4.5 [out]: rgBstrNames is [size_is(cMaxNames), length_is(*pcNames)], but
    cMaxNames is an [in] parameter and pcNames follows the array: the array is read by its own
    counts (the caller checks actual_count against pcNames), and written by
    ``encode_get_names_response``, whose max_count is cMaxNames."""
    orpcthat = ndr.ref(ORPCTHAT)
    rgBstrNames = ndr.ref(ndr.conformant_varying(BSTR))
    pcNames = ndr.u32
    hr = ndr.HRESULT


def encode_get_names_response(names: list[str], max_names: int, hr: int) -> bytes:
    """GetNames' [out] side (MS-OAUT 3.7.4.5) in the layout of ``GetNamesResponse``, the array's
    max_count being the caller's cMaxNames (offset 0, actual_count the names given)."""
    if len(names) > max_names:
        raise ndr.NdrError(f"GetNames: {len(names)} names for cMaxNames {max_names}")
    w = ndr.Writer()
    w.unit(ORPCTHAT.ndr, ORPCTHAT())
    w.unit(ndr.conformant_varying(BSTR, size_is=max_names), list(names))
    ndr.u32.encode(w, len(names))
    ndr.HRESULT.encode(w, hr)
    return w.getvalue()


class RefTypeResponse(ndr.Params):
    """GetRefTypeOfImplType, GetImplTypeFlags (MS-OAUT 3.7.4.6-3.7.4.7) [out]: one 32-bit value."""
    orpcthat = ndr.ref(ORPCTHAT)
    value = ndr.u32
    hr = ndr.HRESULT


class GetDocumentationRequest(ndr.Params):
    """MS-OAUT 3.7.4.8 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    memid = ndr.i32
    refPtrFlags = ndr.u32


class GetDocumentationResponse(ndr.Params):
    """MS-OAUT 3.7.4.8 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    pBstrName = BSTR
    pBstrDocString = BSTR
    pdwHelpContext = ndr.u32
    pBstrHelpFile = BSTR
    hr = ndr.HRESULT


class GetDllEntryRequest(ndr.Params):
    """MS-OAUT 3.7.4.9 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    memid = ndr.i32
    invKind = ndr.v1_enum
    refPtrFlags = ndr.u32


class GetDllEntryResponse(ndr.Params):
    """MS-OAUT 3.7.4.9 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    pBstrDllName = BSTR
    pBstrName = BSTR
    pwOrdinal = ndr.u16
    hr = ndr.HRESULT


class InterfacePointerResponse(ndr.Params):
    """GetTypeComp, GetRefTypeInfo, CreateInstance (MS-OAUT 3.7.4.2, 3.7.4.10, 3.7.4.11) [out]:
    one interface pointer."""
    orpcthat = ndr.ref(ORPCTHAT)
    ppOut = PMInterfacePointer
    hr = ndr.HRESULT


class GetRefTypeInfoRequest(ndr.Params):
    """MS-OAUT 3.7.4.10 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    hRefType = ndr.u32


class CreateInstanceRequest(ndr.Params):
    """MS-OAUT 3.7.4.11 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    riid = ndr.GUID


class GetMopsRequest(ndr.Params):
    """MS-OAUT 3.7.4.12 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    memid = ndr.i32


class GetMopsResponse(ndr.Params):
    """MS-OAUT 3.7.4.12 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    pBstrMops = BSTR
    hr = ndr.HRESULT


class GetContainingTypeLibResponse(ndr.Params):
    """MS-OAUT 3.7.4.13 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    ppTLib = PMInterfacePointer
    pIndex = ndr.u32
    hr = ndr.HRESULT
