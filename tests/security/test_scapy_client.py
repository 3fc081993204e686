"""scapy's DCOM client against the activation service with NTLM: a third, independent DCE/RPC
and NTLM implementation that verifies the signature of every PDU it receives and unseals them at
packet privacy (scapy.layers.dcerpc.DceRpcSession.in_pkt). Each call below succeeds only if the
service and the server process it starts sign and seal as MS-RPCE 3.3.1.5.2.2 and MS-NLMP
3.4.8-3.4.9 ask.

The path is MS-DCOM's: ServerAlive2 and the activation on the service (3.1.2.5.1.6,
3.1.2.5.2.3.3), ResolveOxid2 on it (3.1.2.5.1.5), then on the server process's exporter
IRemUnknown::RemQueryInterface for IDispatch (3.1.1.5.6.1.1), IDispatch::GetIDsOfNames and
Invoke (MS-OAUT 3.1.4.3-4), and RemRelease (3.1.1.5.6.1.3).

scapy has no IDispatch of its own: it is declared below with scapy's NDR types, from the IDL in
MS-OAUT, and registered with scapy's public register_com_interface. DCOM_Client.connect takes no
port (its ServerAlive2 asks port 135), so the service listens on port 135 of an address no other
test module uses.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest
from scapy.fields import StrFixedLenField
from scapy.layers.dcerpc import (
    DCE_C_AUTHN_LEVEL,
    DceRpc5Fault,
    DCERPC_Transport,
    DceRpcOp,
    NDRConfFieldListField,
    NDRConfPacketListField,
    NDRConfStrLenFieldUtf16,
    NDRConfVarStrNullFieldUtf16,
    NDRFullEmbPointerField,
    NDRFullPointerField,
    NDRIntField,
    NDRPacket,
    NDRPacketField,
    NDRShortField,
    NDRSignedIntField,
    NDRUnion,
    NDRUnionField,
    find_com_interface,
    find_dcerpc_interface,
    register_com_interface,
)
from scapy.layers.msrpce.msdcom import OBJREF, OBJREF_STANDARD, STDOBJREF, DCOM_Client
from scapy.layers.msrpce.raw.ms_dcom import (
    GUID,
    MInterfacePointer,
    RemQueryInterface_Request,
    ResolveOxid2_Request,
)
from scapy.layers.msrpce.rpcclient import DCERPC_Client
from scapy.layers.ntlm import NTLMSSP

from pydcom.rpc.constants import NCA_S_FAULT_ACCESS_DENIED
from pydcom.runtime.credentials import ntlm_machine_name

from .classes import GUARDED_CLSID
from .test_service_security import accounts_file, secure_service  # noqa: F401 (a fixture)

HOST = "127.0.0.75"  # port 135, which DCOM_Client.connect always asks first
IID_IDispatch = uuid.UUID("00020400-0000-0000-c000-000000000046")
IID_NULL = GUID(bytes(16))
LOCALE_EN_US = 0x409
DISPATCH_METHOD = 0x1
DISP_E_UNKNOWNNAME = 0x80020006
DISPID_UNKNOWN = -1
VT_I4, VT_BSTR = 3, 8
LEVELS = [DCE_C_AUTHN_LEVEL.PKT_INTEGRITY, DCE_C_AUTHN_LEVEL.PKT_PRIVACY]

pytestmark = pytest.mark.timeout(90)


# -- IDispatch for scapy (MS-OAUT 2.2.23, 2.2.29, 3.1.4) ------------------------------------------

class FLAGGED_WORD_BLOB(NDRPacket):
    """A BSTR's referent (MS-OAUT 2.2.23.1)."""

    ALIGNMENT = (4, 4)
    DEPORTED_CONFORMANTS = ["asData"]
    fields_desc = [
        NDRIntField("cBytes", 0),
        NDRIntField("clSize", None, size_of="asData"),
        NDRConfStrLenFieldUtf16("asData", "", size_is=lambda pkt: pkt.clSize,
                                conformant_in_struct=True),
    ]


class wireVARIANT(NDRPacket):
    """wireVARIANTStr (MS-OAUT 2.2.29.2) with the two arms these tests use: VT_I4 and VT_BSTR."""

    ALIGNMENT = (8, 8)
    fields_desc = [
        NDRIntField("clSize", 3),
        NDRIntField("rpcReserved", 0),
        NDRShortField("vt", VT_I4),
        NDRShortField("wReserved1", 0),
        NDRShortField("wReserved2", 0),
        NDRShortField("wReserved3", 0),
        NDRUnionField(
            [
                (NDRSignedIntField("value", 0),
                 ((lambda pkt: getattr(pkt, "vt", None) == VT_I4),
                  (lambda _, val: val.tag == VT_I4))),
                (NDRFullEmbPointerField(NDRPacketField("value", FLAGGED_WORD_BLOB(),
                                                       FLAGGED_WORD_BLOB)),
                 ((lambda pkt: getattr(pkt, "vt", None) == VT_BSTR),
                  (lambda _, val: val.tag == VT_BSTR))),
            ],
            StrFixedLenField("value", "", length=0),
            align=(4, 8),
            switch_fmt=("L", "L"),
        ),
    ]


class DISPPARAMS(NDRPacket):
    ALIGNMENT = (4, 8)
    fields_desc = [
        NDRFullEmbPointerField(NDRConfPacketListField(
            "rgvarg", [], wireVARIANT, size_is=lambda pkt: pkt.cArgs, ptr_lvl=1)),
        NDRFullEmbPointerField(NDRConfFieldListField(
            "rgdispidNamedArgs", [], NDRSignedIntField("", 0),
            size_is=lambda pkt: pkt.cNamedArgs)),
        NDRIntField("cArgs", 0),
        NDRIntField("cNamedArgs", 0),
    ]


class EXCEPINFO(NDRPacket):
    ALIGNMENT = (4, 8)
    fields_desc = [
        NDRShortField("wCode", 0),
        NDRShortField("wReserved", 0),
        NDRFullEmbPointerField(NDRPacketField("bstrSource", FLAGGED_WORD_BLOB(),
                                              FLAGGED_WORD_BLOB)),
        NDRFullEmbPointerField(NDRPacketField("bstrDescription", FLAGGED_WORD_BLOB(),
                                              FLAGGED_WORD_BLOB)),
        NDRFullEmbPointerField(NDRPacketField("bstrHelpFile", FLAGGED_WORD_BLOB(),
                                              FLAGGED_WORD_BLOB)),
        NDRIntField("dwHelpContext", 0),
        NDRIntField("pvReserved", 0),
        NDRIntField("pfnDeferredFillIn", 0),
        NDRSignedIntField("scode", 0),
    ]


class GetIDsOfNames_Request(NDRPacket):
    fields_desc = [
        NDRPacketField("riid", GUID(), GUID),
        NDRConfFieldListField(
            "rgszNames", [], NDRFullEmbPointerField(NDRConfVarStrNullFieldUtf16("rgszNames", "")),
            size_is=lambda pkt: pkt.cNames),
        NDRIntField("cNames", 0),
        NDRIntField("lcid", 0),
    ]


class GetIDsOfNames_Response(NDRPacket):
    fields_desc = [
        NDRConfFieldListField("rgDispId", [], NDRSignedIntField("rgDispId", 0),
                              size_is=lambda pkt: pkt.cNames),
        NDRIntField("status", 0),
    ]


class Invoke_Request(NDRPacket):
    fields_desc = [
        NDRSignedIntField("dispIdMember", 0),
        NDRPacketField("riid", GUID(), GUID),
        NDRIntField("lcid", 0),
        NDRIntField("dwFlags", 0),
        NDRPacketField("pDispParams", DISPPARAMS(), DISPPARAMS),
        NDRIntField("cVarRef", 0),
        NDRConfFieldListField("rgVarRefIdx", [], NDRIntField("", 0),
                              size_is=lambda pkt: pkt.cVarRef),
        NDRConfPacketListField("rgVarRef", [], wireVARIANT, size_is=lambda pkt: pkt.cVarRef,
                               ptr_lvl=1),
    ]


class Invoke_Response(NDRPacket):
    fields_desc = [
        NDRFullPointerField(NDRPacketField("pVarResult", wireVARIANT(), wireVARIANT)),
        NDRPacketField("pExcepInfo", EXCEPINFO(), EXCEPINFO),
        NDRIntField("pArgErr", 0),
        NDRConfPacketListField("rgVarRef", [], wireVARIANT, size_is=lambda pkt: pkt.cVarRef,
                               ptr_lvl=1),
        NDRIntField("status", 0),
    ]


def _idispatch():
    try:
        return find_com_interface("IDispatch")
    except AttributeError:
        register_com_interface(name="IDispatch", uuid=IID_IDispatch, opnums={
            5: DceRpcOp(GetIDsOfNames_Request, GetIDsOfNames_Response),
            6: DceRpcOp(Invoke_Request, Invoke_Response),
        })
        return find_com_interface("IDispatch")


IDISPATCH = _idispatch()
IUNKNOWN = find_com_interface("IUnknown")


def i4(value: int) -> wireVARIANT:
    return wireVARIANT(vt=VT_I4, value=NDRUnion(tag=VT_I4, value=value))


def variant_value(variant: wireVARIANT):
    if variant.vt == VT_I4:
        return variant.valueof("value")
    assert variant.vt == VT_BSTR, variant.vt
    blob = variant.valueof("value")
    return blob.asData[:blob.cBytes].decode("utf-16-le")


# -- the service and scapy's client ----------------------------------------------------------------

@pytest.fixture
def service(accounts_file):  # noqa: F811
    with secure_service(accounts_file, HOST, 135) as started:
        yield started


@contextlib.contextmanager
def scapy_client(password: str, level: DCE_C_AUTHN_LEVEL):
    """A DCOM_Client connected to the service, with scapy's NTLMSSP as alice. Its connections,
    to the service and to each exporter, are closed on the way out."""
    client = DCOM_Client(ssp=NTLMSSP(UPN="alice", PASSWORD=password), auth_level=level,
                         verb=False)
    try:
        client.connect(HOST)
        yield client
    finally:
        for entry in client.OXID_table.values():
            if entry.client is not None and entry.client.sock is not None:
                entry.client.close()
        if client.sock is not None:
            client.close()


def get_ids_of_names(client: DCOM_Client, ipid: uuid.UUID, name: str):
    answer = client.sr1_orpc_req(ipid=ipid, pkt=GetIDsOfNames_Request(
        riid=IID_NULL, rgszNames=[name], cNames=1, lcid=LOCALE_EN_US))
    return answer.status, answer.valueof("rgDispId")


def invoke(client: DCOM_Client, ipid: uuid.UUID, dispid: int, *args: wireVARIANT):
    """IDispatch::Invoke as a method call; DISPPARAMS holds the arguments last first."""
    answer = client.sr1_orpc_req(ipid=ipid, pkt=Invoke_Request(
        dispIdMember=dispid, riid=IID_NULL, lcid=LOCALE_EN_US, dwFlags=DISPATCH_METHOD,
        pDispParams=DISPPARAMS(rgvarg=list(reversed(args)), cArgs=len(args)), cVarRef=0))
    assert answer.status == 0, hex(answer.status)
    assert answer.pExcepInfo.scode == 0 and answer.pExcepInfo.wCode == 0
    return variant_value(answer.valueof("pVarResult"))


@pytest.mark.parametrize("level", LEVELS, ids=["integrity", "privacy"])
def test_scapy_activates_resolves_and_calls_with_signed_and_sealed_pdus(service, level):
    with scapy_client("correct horse", level) as client:
        # RemoteCreateInstance for IUnknown (scapy raises unless the call and the interface
        # succeed: status and phresults 0)
        created = client.RemoteCreateInstance(GUARDED_CLSID, [IUNKNOWN])
        [(oxid, entry)] = client.OXID_table.items()
        [unknown_ipid] = client.OID_table[created.oid].ipids
        assert client.IPID_table[unknown_ipid].iid == IUNKNOWN.uuid
        assert client.IPID_table[unknown_ipid].cPublicRefs >= 1
        activated = (entry.bindingInfo, entry.ipid_IRemUnknown, int(entry.authnHint))
        assert entry.bindingInfo[0] == HOST and entry.bindingInfo[1] != 135
        assert entry.authnHint == DCE_C_AUTHN_LEVEL.PKT_INTEGRITY  # the service's minimum
        assert entry.target_name == ntlm_machine_name()  # the SECURITYBINDING's principal

        # ResolveOxid2 on the service tells what the activation did
        resolved = client.ResolveOxid2(oxid, host=client.host, port=client.port)
        assert (resolved.bindingInfo, resolved.ipid_IRemUnknown, int(resolved.authnHint)) \
            == activated
        assert (resolved.version.MajorVersion, resolved.version.MinorVersion) == (5, 7)

        # IRemUnknown::RemQueryInterface on the exporter, on a connection at ``level``
        answer = client.sr1_orpc_req(
            ipid=entry.ipid_IRemUnknown, auth_level=level,
            pkt=RemQueryInterface_Request(ripid=GUID(unknown_ipid.bytes_le), cRefs=1, cIids=1,
                                          iids=[GUID(IID_IDispatch.bytes_le)]))
        assert entry.client.auth_level == level
        assert answer.status == 0
        [result] = answer.valueof("ppQIResults")
        assert result.hResult == 0
        assert (result.std.oxid, result.std.oid, result.std.cPublicRefs) == (oxid, created.oid, 1)
        dispatch_ipid = uuid.UUID(bytes_le=bytes(result.std.ipid))
        assert dispatch_ipid not in (unknown_ipid, entry.ipid_IRemUnknown)
        # scapy takes the reference into its tables as it would an OBJREF it was handed
        client.UnmarshallObjectReference(
            MInterfacePointer(abData=bytes(OBJREF(iid=IID_IDispatch)
                                           / OBJREF_STANDARD(std=STDOBJREF(bytes(result.std))))),
            iid=IDISPATCH)
        assert client.IPID_table[dispatch_ipid].iid == IID_IDispatch

        # IDispatch::GetIDsOfNames and Invoke
        status, [add] = get_ids_of_names(client, dispatch_ipid, "Add")
        assert status == 0 and add != DISPID_UNKNOWN
        status, [who] = get_ids_of_names(client, dispatch_ipid, "WhoAmI")
        assert status == 0 and who not in (DISPID_UNKNOWN, add)
        assert get_ids_of_names(client, dispatch_ipid, "NoSuchMember") == (
            DISP_E_UNKNOWNNAME, [DISPID_UNKNOWN])
        assert invoke(client, dispatch_ipid, add, i4(2), i4(40)) == 42
        # the server process's method saw the account and the level scapy called at
        principal, _, seen_level = invoke(client, dispatch_ipid, who).partition("|")
        assert principal.rpartition("\\")[2] == "alice"
        assert int(seen_level) == level

        # RemRelease: scapy drops each IPID only when the call's status is 0
        for ipid in list(client.OID_table[created.oid].ipids):
            client.RemRelease(ipid)
        assert created.oid not in client.OID_table
        assert dispatch_ipid not in client.IPID_table and unknown_ipid not in client.IPID_table


@pytest.mark.parametrize("level", LEVELS, ids=["integrity", "privacy"])
def test_scapy_with_a_wrong_password_is_denied_and_starts_no_process(service, level):
    with scapy_client("not it", level) as client:
        # The bind succeeds (NEGOTIATE, CHALLENGE; the AUTHENTICATE goes in rpc_auth_3, which
        # is never answered); the activation request is refused. scapy says only "failed".
        with pytest.raises(ValueError, match="RemoteCreateInstance_Request failed"):
            client.RemoteCreateInstance(GUARDED_CLSID, [IUNKNOWN])
    # What the refusal is: scapy's plain DCE/RPC client, with the same wrong password, gets a
    # fault with nca_s_fault_access_denied for a call that needs authentication.
    rpc = DCERPC_Client(DCERPC_Transport.NCACN_IP_TCP, ssp=NTLMSSP(UPN="alice", PASSWORD="not it"),
                        auth_level=level, ndr64=False, verb=False)
    rpc.connect(HOST, port=135, timeout=5)
    try:
        assert rpc.bind(find_dcerpc_interface("IObjectExporter"))
        fault = rpc.sr1_req(ResolveOxid2_Request(pOxid=1, arRequestedProtseqs=[7], ndr64=False),
                            timeout=5)
    finally:
        rpc.close()
    assert DceRpc5Fault in fault
    assert fault[DceRpc5Fault].status == NCA_S_FAULT_ACCESS_DENIED
    assert service.hosting.launch_count == 0
