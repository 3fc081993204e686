"""resolve() alone: one snapshot in, one plan out."""

import uuid

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, Snapshot
from pydcom.runtime.clsctx import CLSCTX
from pydcom.runtime.resolve import resolve
from pydcom.runtime.serverinfo import ServerInfo

INPROC, LOCAL, REMOTE, BOTH, NOWHERE, EMULATED = (
    uuid.UUID(f"0f8e5c2a-5555-4a2b-9c3d-00000000000{n}") for n in range(1, 7))
APP, HERE_APP = uuid.UUID(int=0xA1), uuid.UUID(int=0xA2)
ME = "hosta"

SNAP = Snapshot.build(7, [
    ClassEntry(INPROC, progid="Demo.Inproc.1", version_independent_progid="Demo.Inproc",
               inproc_server="demo:Inproc"),
    ClassEntry(LOCAL, progid="Demo.Local", local_server="demo-server --embedding"),
    ClassEntry(REMOTE, progid="Demo.Remote", appid=APP),
    ClassEntry(BOTH, inproc_server="demo:Both", local_server="demo-both", appid=APP),
    ClassEntry(NOWHERE, progid="Demo.Nowhere"),
    ClassEntry(EMULATED, progid="Demo.Old", treat_as=INPROC),
    ClassEntry(uuid.UUID(int=9), progid="Demo.Here", local_server="here", appid=HERE_APP),
], [AppIdEntry(APP, remote_server_name="hostb[4135]"),
    AppIdEntry(HERE_APP, remote_server_name="HOSTA")])


def plan(key, clsctx=CLSCTX.ALL, server=None, me=ME):
    return resolve(SNAP, key, clsctx, None if server is None else ServerInfo(server), me)


def fails(key, clsctx=CLSCTX.ALL, server=None) -> int:
    with pytest.raises(ComError) as info:
        plan(key, clsctx, server)
    return info.value.hresult


def test_inproc_comes_first():
    p = plan(BOTH)
    assert p.context is CLSCTX.INPROC_SERVER and p.entry.inproc_server == "demo:Both"
    assert p.server is None and p.generation == 7


def test_then_local_then_remote():
    assert plan(BOTH, CLSCTX.LOCAL_SERVER | CLSCTX.REMOTE_SERVER).context is CLSCTX.LOCAL_SERVER
    assert plan(BOTH, CLSCTX.REMOTE_SERVER).context is CLSCTX.REMOTE_SERVER
    assert plan(LOCAL).context is CLSCTX.LOCAL_SERVER


def test_remote_server_name_comes_from_the_appid():
    p = plan("Demo.Remote")
    assert p.context is CLSCTX.REMOTE_SERVER
    assert (p.server.host, p.server.port) == ("hostb", 4135)
    assert p.appid.appid == APP and p.clsid == REMOTE


def test_an_explicit_server_info_overrides_the_registry():
    p = plan("Demo.Remote", CLSCTX.REMOTE_SERVER, "hostc")
    assert (p.server.host, p.server.port) == ("hostc", 135)


def test_a_remote_server_name_implies_remote_server():
    # CLSCTX Remarks: RemoteServerName (or a ServerInfo naming another machine) adds REMOTE_SERVER.
    assert plan(REMOTE, CLSCTX.INPROC_SERVER).context is CLSCTX.REMOTE_SERVER
    assert plan(NOWHERE, CLSCTX.LOCAL_SERVER, "hostc").server == ServerInfo("hostc")


def test_but_inproc_still_wins_when_registered_here():
    assert plan(BOTH, CLSCTX.ALL, "hostc").context is CLSCTX.INPROC_SERVER


def test_a_class_unknown_here_can_be_reached_with_a_server_info():
    stranger = uuid.UUID(int=12345)
    p = plan(stranger, CLSCTX.REMOTE_SERVER, "hostc[9000]")
    assert p.entry is None and p.clsid == stranger and p.server.port == 9000
    assert fails(stranger) == hresult.REGDB_E_CLASSNOTREG


@pytest.mark.parametrize("name", ["hosta", "HOSTA", "hosta.example.com", "HostA[135]"])
def test_this_machine_by_name_means_local(name):
    p = plan(BOTH, CLSCTX.REMOTE_SERVER, name)
    assert p.context is CLSCTX.LOCAL_SERVER and p.server is None
    assert fails(REMOTE, CLSCTX.REMOTE_SERVER, name) == hresult.REGDB_E_CLASSNOTREG


def test_a_remote_server_name_naming_this_machine_means_local():
    assert plan("Demo.Here", CLSCTX.REMOTE_SERVER).context is CLSCTX.LOCAL_SERVER


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2[4135]", "::1", "10.1.2.3"])
def test_addresses_are_never_this_machine(address):
    p = resolve(SNAP, BOTH, CLSCTX.REMOTE_SERVER, ServerInfo(address), address.split("[")[0])
    assert p.context is CLSCTX.REMOTE_SERVER and p.server == ServerInfo(address)


def test_other_machines_with_similar_names_are_remote():
    assert plan(BOTH, CLSCTX.REMOTE_SERVER, "hostab").context is CLSCTX.REMOTE_SERVER
    p = resolve(SNAP, BOTH, CLSCTX.REMOTE_SERVER, ServerInfo("hosta.other.org"), "hosta.example.com")
    assert p.context is CLSCTX.REMOTE_SERVER


def test_progid_first_then_treat_as():
    p = plan("demo.old")
    assert p.requested_clsid == EMULATED and p.clsid == INPROC
    assert p.entry.inproc_server == "demo:Inproc"
    assert plan("Demo.Inproc").clsid == INPROC


def test_no_server_in_the_contexts_asked_is_class_not_registered():
    assert fails(LOCAL, CLSCTX.INPROC_SERVER) == hresult.REGDB_E_CLASSNOTREG
    assert fails(INPROC, CLSCTX.INPROC_HANDLER) == hresult.REGDB_E_CLASSNOTREG
    assert fails("Demo.Nowhere") == hresult.REGDB_E_CLASSNOTREG
    with pytest.raises(ComError, match="no server for CLSCTX LOCAL_SERVER"):
        plan(INPROC, CLSCTX.LOCAL_SERVER)


@pytest.mark.parametrize("clsctx", [0, -1, None, "ALL", True, 0x400])
def test_a_clsctx_naming_no_context_is_invalid(clsctx):
    assert fails(INPROC, clsctx) == hresult.E_INVALIDARG


def test_modifier_bits_are_ignored():
    assert plan(INPROC, CLSCTX.INPROC_SERVER | 0x400).context is CLSCTX.INPROC_SERVER


def test_bad_class_strings():
    assert fails("{nonsense}") == hresult.CO_E_CLASSSTRING
    assert fails("No.Such.Prog") == hresult.CO_E_CLASSSTRING
    assert fails(3.14) == hresult.E_INVALIDARG


def test_clsctx_values_are_windows_values():
    assert (CLSCTX.INPROC_SERVER, CLSCTX.INPROC_HANDLER, CLSCTX.LOCAL_SERVER,
            CLSCTX.REMOTE_SERVER, CLSCTX.SERVER, CLSCTX.ALL) == (0x1, 0x2, 0x4, 0x10, 0x15, 0x17)


def test_server_info_forms():
    assert ServerInfo("hostb") == ServerInfo("hostb[135]") != ServerInfo("hostb[136]")
    assert str(ServerInfo("\\\\hostb[4135]")) == "hostb[4135]"
    with pytest.raises(ComError) as info:
        ServerInfo("host b")
    assert info.value.hresult == hresult.CO_E_BAD_SERVER_NAME
