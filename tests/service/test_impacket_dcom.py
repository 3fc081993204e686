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
