"""The private interface between the activation service and the server processes of its machine.

Windows does this over local RPC between rpcss and each COM server; pydcom does it over loopback
TCP with this interface, which both ends answer only for callers on their own machine
(``pydcom.runtime.machine.require_local_caller``).
A server process registers its exporter (the OXID table entry, MS-DCOM 3.1.2.1), registers its
class objects (the CLSID table; CoRegisterClassObject), and asks which of its idle OIDs some
client still pings (MS-DCOM 3.1.1.6.2). The interface is pydcom's own, so its structures have no
spec section of their own; they are marshaled in NDR (C706 14) like every other stub.
"""

from __future__ import annotations

import uuid

from pydcom import ndr
from pydcom.rpc.constants import SyntaxId
from pydcom.wire.orpc import DUALSTRINGARRAY, IPID, OID, OXID


SYNTAX = SyntaxId(uuid.UUID("5b1c0f3e-8a7d-4d62-9e51-0c3f2a6b7d84"), 1, 0)
OP_REGISTER_SERVER, OP_UNREGISTER_SERVER, OP_REGISTER_CLASS, OP_REVOKE_CLASS = 0, 1, 2, 3
OP_LIVE_OIDS = 4
OP_REGISTER_OIDS, OP_FORGET_OIDS = 5, 6  # the OIDs an exporter handed out, and those gone
# The other direction: what the service asks of a server process, on the server's own endpoint.
SERVER_SYNTAX = SyntaxId(uuid.UUID("5b1c0f3e-8a7d-4d62-9e51-0c3f2a6b7d85"), 1, 0)
OP_ACTIVATE = 0


class RegisterServerRequest(ndr.Params):
    """An exporter joins the OXID table; the answer is the ping period it must use."""
    oxid = OXID
    bindings = ndr.ref(DUALSTRINGARRAY)
    ipidRemUnknown = IPID
    processId = ndr.u32
    token = ndr.ref(ndr.wstring)  # the one the service gave the process it launched, or ""


class RegisterServerResponse(ndr.Params):
    """The ping period, and the secret every later request about this OXID must carry: only
    the process that registered it may change or ask what the service keeps for it."""
    pingPeriodMs = ndr.u32
    secret = ndr.GUID
    status = ndr.error_status_t


class UnregisterServerRequest(ndr.Params):
    oxid = OXID
    secret = ndr.GUID


class RegisterClassRequest(ndr.Params):
    """The exporter ``oxid`` serves the class ``clsid`` from now on (CoRegisterClassObject)."""
    oxid = OXID
    clsid = ndr.GUID
    secret = ndr.GUID


class RevokeClassRequest(ndr.Params):
    oxid = OXID
    clsid = ndr.GUID
    secret = ndr.GUID


class LiveOidsRequest(ndr.Params):
    oxid = OXID
    count = ndr.u32
    oids = ndr.ref(ndr.conformant(OID, size_is="count"))
    secret = ndr.GUID


class OidsRequest(ndr.Params):
    """OIDs the exporter ``oxid`` handed out (the resolver then takes pings for them), or
    released (it no longer does)."""
    oxid = OXID
    count = ndr.u32
    oids = ndr.ref(ndr.conformant(OID, size_is="count"))
    secret = ndr.GUID


class LiveOidsResponse(ndr.Params):
    count = ndr.u32
    oids = ndr.ref(ndr.conformant(OID, size_is="count"))
    status = ndr.error_status_t


class ActivateRequest(ndr.Params):
    """Create an object of ``clsid`` (or take the class object) and marshal it as each IID:
    the one call rpcss makes of a COM server per activation."""
    clsid = ndr.GUID
    classObject = ndr.i32
    count = ndr.u32
    iids = ndr.ref(ndr.conformant(ndr.GUID, size_is="count"))
    token = ndr.ref(ndr.wstring)  # the launch token of the process asked: the service's proof
    client = ndr.ref(ndr.wstring)  # the identity the object is made for (its share of objects)


class ActivateResponse(ndr.Params):
    """One HRESULT per IID, the HRESULT of the creation itself, and the activation's
    PropsOutInfo (MS-DCOM 2.2.22.2.9) serialized as the BLOB carries it, built here in the
    server process as Windows builds it (empty when nothing was created). The service adds
    its ScmReplyInfo and passes the BLOB on."""
    count = ndr.u32
    results = ndr.ref(ndr.conformant(ndr.HRESULT, size_is="count"))
    cbPropsOut = ndr.u32
    propsOut = ndr.ref(ndr.conformant(ndr.u8, size_is="cbPropsOut"))
    hr = ndr.HRESULT
