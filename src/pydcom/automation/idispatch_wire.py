"""IDispatch on the wire (MS-OAUT 3.1.4): its structures and its four methods' parameter lists.

Every request starts with ORPCTHIS and every response with ORPCTHAT and ends with the HRESULT
(MS-DCOM 3.2.4.2); opnums 0-2 are IUnknown's.
"""

from __future__ import annotations

import uuid

from pydcom import ndr
from pydcom.automation.variant import BSTR, VARIANT
from pydcom.wire import ids
from pydcom.wire.orpc import ORPCTHAT, ORPCTHIS, PMInterfacePointer

IID_NULL = uuid.UUID(int=0)  # the riid GetIDsOfNames and Invoke take (MS-OAUT 3.1.4.3, 3.1.4.4)

IID_IDispatch = ids.IID_IDispatch  # MS-OAUT 1.9

OP_GET_TYPE_INFO_COUNT, OP_GET_TYPE_INFO, OP_GET_IDS_OF_NAMES, OP_INVOKE = 3, 4, 5, 6

# dwFlags of Invoke (MS-OAUT 3.1.4.4)
DISPATCH_METHOD = 0x1
DISPATCH_PROPERTYGET = 0x2
DISPATCH_PROPERTYPUT = 0x4
DISPATCH_PROPERTYPUTREF = 0x8
DISPATCH_ZEROVARRESULT = 0x20000
DISPATCH_ZEROEXCEPINFO = 0x40000
DISPATCH_ZEROARGERR = 0x80000

# Reserved DISPIDs (MS-OAUT 2.2.32.1)
DISPID_VALUE = 0
DISPID_UNKNOWN = -1
DISPID_PROPERTYPUT = -3
DISPID_NEWENUM = -4

MAX_NAMES = 16384  # GetIDsOfNames' cNames range (MS-OAUT 3.1.4.3)


class DISPPARAMS(ndr.Struct):
    """MS-OAUT 2.2.33: the arguments, last first, named ones at the front."""
    rgvarg = ndr.unique(ndr.conformant(VARIANT, size_is="cArgs"))
    rgdispidNamedArgs = ndr.unique(ndr.conformant(ndr.i32, size_is="cNamedArgs"))
    cArgs = ndr.u32
    cNamedArgs = ndr.u32


class EXCEPINFO(ndr.Struct):
    """MS-OAUT 2.2.34: what DISP_E_EXCEPTION carries. Either wCode or scode is nonzero."""
    wCode = ndr.u16
    wReserved = ndr.u16
    bstrSource = BSTR
    bstrDescription = BSTR
    bstrHelpFile = BSTR
    dwHelpContext = ndr.u32
    pvReserved = ndr.u32  # ULONG_PTR: 4 bytes in NDR
    pfnDeferredFillIn = ndr.u32
    scode = ndr.HRESULT


class GetTypeInfoCountRequest(ndr.Params):
    """MS-OAUT 3.1.4.1: no parameters of its own."""
    orpcthis = ORPCTHIS


class GetTypeInfoCountResponse(ndr.Params):
    """MS-OAUT 3.1.4.1 [out]"""
    orpcthat = ORPCTHAT
    pctinfo = ndr.u32
    hr = ndr.HRESULT


class GetTypeInfoRequest(ndr.Params):
    """MS-OAUT 3.1.4.2."""
    orpcthis = ORPCTHIS
    iTInfo = ndr.u32
    lcid = ndr.u32


class GetTypeInfoResponse(ndr.Params):
    """MS-OAUT 3.1.4.2 [out]: an ITypeInfo pointer."""
    orpcthat = ORPCTHAT
    ppTInfo = ndr.ref(PMInterfacePointer)
    hr = ndr.HRESULT


class GetIDsOfNamesRequest(ndr.Params):
    """MS-OAUT 3.1.4.3. rgszNames is [size_is(cNames)], but cNames follows it: the array is
    read by its own max_count and the stub checks the two agree."""
    orpcthis = ORPCTHIS
    riid = ndr.GUID
    rgszNames = ndr.ref(ndr.conformant(ndr.unique(ndr.wstring)))
    cNames = ndr.u32
    lcid = ndr.u32


class GetIDsOfNamesResponse(ndr.Params):
    """MS-OAUT 3.1.4.3 [out]: a DISPID per name asked for."""
    orpcthat = ORPCTHAT
    rgDispId = ndr.ref(ndr.conformant(ndr.i32))
    hr = ndr.HRESULT


class InvokeRequest(ndr.Params):
    """MS-OAUT 3.1.4.4 (IDispatch::RemoteInvoke)."""
    orpcthis = ORPCTHIS
    dispIdMember = ndr.i32
    riid = ndr.GUID
    lcid = ndr.u32
    dwFlags = ndr.u32
    pDispParams = ndr.ref(DISPPARAMS)
    cVarRef = ndr.u32
    rgVarRefIdx = ndr.ref(ndr.conformant(ndr.u32, size_is="cVarRef"))
    rgVarRef = ndr.ref(ndr.conformant(VARIANT, size_is="cVarRef"))


class InvokeResponse(ndr.Params):
    """MS-OAUT 3.1.4.4 [out]: rgVarRef is [in, out] and comes back as many as went."""
    orpcthat = ORPCTHAT
    pVarResult = ndr.ref(VARIANT)
    pExcepInfo = ndr.ref(EXCEPINFO)
    pArgErr = ndr.u32
    rgVarRef = ndr.ref(ndr.conformant(VARIANT))
    hr = ndr.HRESULT
