"""IActivation (MS-DCOM 3.1.2.5.2.3.1): RemoteActivation's parameters, the activation method
older clients call (impacket's among them), with the CLSID, the IIDs and the answer as plain
parameters rather than activation property BLOBs.

A native RPC interface that still carries an explicit ORPCTHIS/ORPCTHAT parameter.
"""

from __future__ import annotations

from pydcom import ndr
from pydcom.rpc.constants import SyntaxId
from pydcom.wire.ids import IID_IActivation
from pydcom.wire.orpc import (
    COMVERSION,
    DUALSTRINGARRAY,
    IID,
    IPID,
    ORPCTHAT,
    ORPCTHIS,
    OXID,
    MInterfacePointer,
    PMInterfacePointer,
)

ACTIVATION_SYNTAX = SyntaxId(IID_IActivation, 0, 0)
OP_REMOTE_ACTIVATION = 0


class RemoteActivationRequest(ndr.Params):
    """MS-DCOM 3.1.2.5.2.3.1 [in] (IActivation)"""
    orpcthis = ndr.ref(ORPCTHIS)
    Clsid = ndr.ref(ndr.GUID)
    pwszObjectName = ndr.unique(ndr.wstring)
    pObjectStorage = PMInterfacePointer
    ClientImpLevel = ndr.u32
    Mode = ndr.u32
    Interfaces = ndr.u32
    pIIDs = ndr.unique(ndr.conformant(IID, size_is="Interfaces"))
    cRequestedProtseqs = ndr.u16
    aRequestedProtseqs = ndr.ref(ndr.conformant(ndr.u16, size_is="cRequestedProtseqs"))


class RemoteActivationResponse(ndr.Params):
    """MS-DCOM 3.1.2.5.2.3.1 [out] (IActivation)"""
    orpcthat = ndr.ref(ORPCTHAT)
    pOxid = ndr.ref(OXID)
    ppdsaOxidBindings = ndr.ref(ndr.unique(DUALSTRINGARRAY))
    pipidRemUnknown = ndr.ref(IPID)
    pAuthnHint = ndr.ref(ndr.u32)
    pServerVersion = ndr.ref(COMVERSION)
    phr = ndr.ref(ndr.HRESULT)
    # Both arrays are [size_is(Interfaces)], an [in] parameter: their length is checked by
    # the caller, who knows it.
    ppInterfaceData = ndr.ref(ndr.conformant(ndr.unique(MInterfacePointer)))
    pResults = ndr.ref(ndr.conformant(ndr.HRESULT))
    status = ndr.error_status_t
