"""IRemUnknown and IRemUnknown2 (MS-DCOM 3.1.1.5.6-7), and the IClassFactory methods as they
travel on the wire (the [call_as] forms of the Windows SDK, opnums 3 and 4).

ORPC interfaces: ORPCTHIS first in every request, ORPCTHAT first in every response, the HRESULT
return value last.
"""

from __future__ import annotations

from pydcom import ndr
from pydcom.rpc.constants import SyntaxId
from pydcom.wire.ids import IID_IClassFactory, IID_IRemUnknown, IID_IRemUnknown2
from pydcom.wire.orpc import (
    IID,
    IPID,
    ORPCTHAT,
    ORPCTHIS,
    REMINTERFACEREF,
    REMQIRESULT,
    MInterfacePointer,
    PMInterfacePointer,
)

REMUNKNOWN_SYNTAX = SyntaxId(IID_IRemUnknown, 0, 0)
REMUNKNOWN2_SYNTAX = SyntaxId(IID_IRemUnknown2, 0, 0)
CLASSFACTORY_SYNTAX = SyntaxId(IID_IClassFactory, 0, 0)
OP_REM_QUERY_INTERFACE, OP_REM_ADD_REF, OP_REM_RELEASE, OP_REM_QUERY_INTERFACE2 = 3, 4, 5, 6
OP_CREATE_INSTANCE, OP_LOCK_SERVER = 3, 4


class RemQueryInterfaceRequest(ndr.Params):
    """MS-DCOM 3.1.1.5.6.1.1 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    ripid = ndr.ref(IPID)
    cRefs = ndr.u32
    cIids = ndr.u16
    iids = ndr.ref(ndr.conformant(IID, size_is="cIids"))


class RemQueryInterfaceResponse(ndr.Params):
    """MS-DCOM 3.1.1.5.6.1.1 [out]: [size_is(,cIids)] REMQIRESULT** ppQIResults."""
    orpcthat = ndr.ref(ORPCTHAT)
    ppQIResults = ndr.ref(ndr.unique(ndr.conformant(REMQIRESULT)))
    hr = ndr.HRESULT


class RemAddRefRequest(ndr.Params):
    """MS-DCOM 3.1.1.5.6.1.2 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    cInterfaceRefs = ndr.u16
    InterfaceRefs = ndr.ref(ndr.conformant(REMINTERFACEREF, size_is="cInterfaceRefs"))


class RemAddRefResponse(ndr.Params):
    """MS-DCOM 3.1.1.5.6.1.2 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    pResults = ndr.ref(ndr.conformant(ndr.HRESULT))
    hr = ndr.HRESULT


class RemReleaseRequest(RemAddRefRequest):
    """MS-DCOM 3.1.1.5.6.1.3 [in] (the same parameters as RemAddRef)"""


class OrpcHresultResponse(ndr.Params):
    """The [out] of a method that returns only its HRESULT (RemRelease, MS-DCOM 3.1.1.5.6.1.3;
    RemoteLockServer, the Windows SDK's unknwn.idl)."""
    orpcthat = ndr.ref(ORPCTHAT)
    hr = ndr.HRESULT


class RemQueryInterface2Request(ndr.Params):
    """MS-DCOM 3.1.1.5.7.1.1 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    ripid = ndr.ref(IPID)
    cIids = ndr.u16
    iids = ndr.ref(ndr.conformant(IID, size_is="cIids"))


class RemQueryInterface2Response(ndr.Params):
    """MS-DCOM 3.1.1.5.7.1.1 [out]"""
    orpcthat = ndr.ref(ORPCTHAT)
    phr = ndr.ref(ndr.conformant(ndr.HRESULT))
    ppMIF = ndr.ref(ndr.conformant(ndr.unique(MInterfacePointer)))
    hr = ndr.HRESULT


class CreateInstanceRequest(ndr.Params):
    """IClassFactory::RemoteCreateInstance [in] (unknwn.idl [call_as], not in MS-DCOM):
    pUnkOuter is not transmitted."""
    orpcthis = ndr.ref(ORPCTHIS)
    riid = ndr.ref(IID)


class CreateInstanceResponse(ndr.Params):
    """IClassFactory::RemoteCreateInstance [out, iid_is(riid)] IUnknown** ppvObject (unknwn.idl)."""
    orpcthat = ndr.ref(ORPCTHAT)
    ppvObject = ndr.ref(PMInterfacePointer)
    hr = ndr.HRESULT


class LockServerRequest(ndr.Params):
    """IClassFactory::RemoteLockServer [in] (unknwn.idl [call_as], not in MS-DCOM)"""
    orpcthis = ndr.ref(ORPCTHIS)
    fLock = ndr.i32
