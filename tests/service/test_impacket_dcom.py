"""impacket's DCOM client, an independent implementation, against a pydcom service on port 135
of a loopback address, at RPC_C_AUTHN_LEVEL_NONE."""

from __future__ import annotations

import pytest
from impacket.dcerpc.v5 import dcomrt, transport
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_NONE
from impacket.uuid import string_to_bin

from pydcom.wire.ids import IID_IUnknown

from .sample_classes import CALC_CLSID, ICalc

HOST = "127.0.0.9"  # impacket's DCOM client always talks to port 135


@pytest.fixture
def service(make_service):
    return make_service(HOST, 135, ping_period=5)


@pytest.fixture
def dcom(service):
    connection = dcomrt.DCOMConnection(HOST, authLevel=RPC_C_AUTHN_LEVEL_NONE, oxidResolver=True)
    try:
        yield connection
    finally:
        connection.disconnect()


def test_cocreateinstanceex_queryinterface_release(dcom, service):
    unknown = dcom.CoCreateInstanceEx(string_to_bin(str(CALC_CLSID)), string_to_bin(str(IID_IUnknown)))
    calc = unknown.RemQueryInterface(1, (string_to_bin(str(ICalc.iid)),))
    assert calc.get_iPid() != unknown.get_iPid()
    assert calc.get_oxid() == unknown.get_oxid()
    unknown.RemAddRef()
    unknown.RemRelease()
    calc.RemRelease()


def test_object_exporter_methods(dcom, service):
    unknown = dcom.CoCreateInstanceEx(string_to_bin(str(CALC_CLSID)), string_to_bin(str(IID_IUnknown)))
    rpc = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{HOST}").get_dce_rpc()
    rpc.set_auth_level(RPC_C_AUTHN_LEVEL_NONE)
    exporter = dcomrt.IObjectExporter(rpc)
    try:
        bindings = exporter.ServerAlive2()
        assert [b["aNetworkAddr"].rstrip("\x00") for b in bindings] == [HOST]  # no endpoint
        version = rpc.request(dcomrt.ServerAlive2())["pComVersion"]
        assert (version["MajorVersion"], version["MinorVersion"]) == (5, 7)
        assert exporter.ServerAlive()["ErrorCode"] == 0
        resolved = exporter.ResolveOxid2(unknown.get_oxid(), (7,))
        assert any(b["aNetworkAddr"].startswith(HOST + "[") for b in resolved)
        answer = exporter.ComplexPing(0, 1, [unknown.get_oid()], [])
        setid = answer["pSetId"]
        assert setid != 0 and answer["ErrorCode"] == 0
        assert exporter.SimplePing(setid)["ErrorCode"] == 0
        assert service.resolver.live_oids(unknown.get_oxid(), [unknown.get_oid()])
    finally:
        rpc.disconnect()
    unknown.RemRelease()


def test_iactivation_remote_activation(service):
    rpc = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{HOST}").get_dce_rpc()
    rpc.set_auth_level(RPC_C_AUTHN_LEVEL_NONE)
    rpc.connect()
    try:
        activation = dcomrt.IActivation(rpc)
        unknown = activation.RemoteActivation(string_to_bin(str(CALC_CLSID)), string_to_bin(str(ICalc.iid)))
        assert unknown.get_iPid()
    finally:
        rpc.disconnect()


def test_bytes_after_a_requests_parameters_are_ignored_as_windows_ignores_them(service):
    """j-Interop (and node-dcom, its port) append 10 bytes to RemoteActivation and 16 to every
    ORPC call; clients built against Windows expect them read past, not faulted."""
    import uuid

    from pydcom.rpc import RpcClient
    from pydcom.runtime.client import ClientRuntime
    from pydcom.runtime.scm_client import remote_activate
    from pydcom.wire import iactivation, ids
    from pydcom.wire.orpc import REMINTERFACEREF, orpcthis
    from pydcom.wire.remunknown import (
        OP_REM_ADD_REF,
        REMUNKNOWN_SYNTAX,
        RemAddRefRequest,
        RemAddRefResponse,
    )

    missing = uuid.UUID("0b3a1c9e-2f48-4b6a-9e0d-7c1b2a3f4e99")
    request = iactivation.RemoteActivationRequest(orpcthis(), missing, None, None, 2, 0, 1,
                                                  [ids.IID_IUnknown], 1, [7]).encode()
    with RpcClient(HOST, 135, connect_timeout=2, timeout=10) as client:
        answer = iactivation.RemoteActivationResponse.decode(client.call(
            iactivation.ACTIVATION_SYNTAX, iactivation.OP_REMOTE_ACTIVATION,
            request + bytes([127, 0, 0, 1, 0, 0, 0, 0, 0, 0])))
    assert answer.phr == 0x80040154  # read and answered: the class is simply not there

    runtime = ClientRuntime(connect_timeout=2)
    try:
        [(_, proxy)] = remote_activate(runtime, (HOST, 135), CALC_CLSID, [IID_IUnknown])
        [info] = runtime.oxids.entries()
        add_ref = RemAddRefRequest(orpcthis(), 1, [REMINTERFACEREF(proxy.ipid, 1, 0)]).encode()
        with RpcClient(*info.endpoint, connect_timeout=2, timeout=10) as client:
            answer = RemAddRefResponse.decode(client.call(
                REMUNKNOWN_SYNTAX, OP_REM_ADD_REF, add_ref + bytes(16),
                object=info.ipid_rem_unknown))
        assert list(answer.pResults) == [0]
        proxy.release()
    finally:
        runtime.close()
