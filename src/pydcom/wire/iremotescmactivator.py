"""IRemoteSCMActivator (MS-DCOM 3.1.2.5.2.3.2-3): the parameters of RemoteGetClassObject and
RemoteCreateInstance, whose requests and replies are activation property BLOBs
(``pydcom.wire.activation_properties``).

A native RPC interface that still carries an explicit ORPCTHIS/ORPCTHAT parameter. The older
IActivation is ``pydcom.wire.iactivation``.
"""

from __future__ import annotations

from pydcom import ndr
from pydcom.rpc.constants import SyntaxId
from pydcom.wire.ids import IID_IRemoteSCMActivator
from pydcom.wire.orpc import ORPCTHAT, ORPCTHIS, PMInterfacePointer

SCM_SYNTAX = SyntaxId(IID_IRemoteSCMActivator, 0, 0)
OP_REMOTE_GET_CLASS_OBJECT, OP_REMOTE_CREATE_INSTANCE = 3, 4


class RemoteGetClassObjectRequest(ndr.Params):
    """MS-DCOM 3.1.2.5.2.3.2 [in]"""
    orpcthis = ndr.ref(ORPCTHIS)
    pActProperties = PMInterfacePointer


class RemoteCreateInstanceRequest(ndr.Params):
    """MS-DCOM 3.1.2.5.2.3.3 [in]; pUnkOuter MUST be NULL."""
    orpcthis = ndr.ref(ORPCTHIS)
    pUnkOuter = PMInterfacePointer
    pActProperties = PMInterfacePointer


class RemoteActivationPropertiesResponse(ndr.Params):
    """MS-DCOM 3.1.2.5.2.3.2-3 [out] of both IRemoteSCMActivator methods."""
    orpcthat = ndr.ref(ORPCTHAT)
    ppActProperties = ndr.ref(PMInterfacePointer)
    hr = ndr.HRESULT
