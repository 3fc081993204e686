"""The activation service and its server processes with NTLM (MS-RPCE 3.3.1.5.2, MS-DCOM
3.1.2.5): activation and calls at each level from pydcom's client; refusals that leave no
server process; the bindings and authnHint clients are told; impacket's DCOMConnection."""

from __future__ import annotations

import contextlib

import pytest
from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dcom import oaut
from impacket.dcerpc.v5.dcom.oaut import VARENUM
from impacket.dcerpc.v5.rpcrt import (
    RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    DCERPCException,
)
from impacket.uuid import string_to_bin

import pydcom
from pydcom import accounts
from pydcom.automation import wrap
from pydcom.hresult import E_ACCESSDENIED, RPC_E_DISCONNECTED, ComError
from pydcom.rpc import RpcClient
from pydcom.rpc.errors import RpcError
from pydcom.rpc.security import AUTHN_WINNT, AuthLevel, ClientAuth
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.credentials import ntlm_machine_name, server_auth
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.service.service import Service
from pydcom.wire import object_exporter as oe
from pydcom.wire.orpc import REMINTERFACEREF, dualstringarray_of, orpcthis
from pydcom.wire.remunknown import (
    OP_REM_RELEASE,
    REMUNKNOWN_SYNTAX,
    OrpcHresultResponse,
    RemReleaseRequest,
)
from tests.automation.test_idispatch_interop import ivar, params

from .classes import GUARDED_CLSID
from ..support import running_service
from .support import rem_query_interface, runtime

HOST = "127.0.0.31"
IMPACKET_HOST = "127.0.0.73"  # port 135: impacket's DCOM client knows no other
CLASSES = StaticClassStore([ClassEntry(GUARDED_CLSID, python="tests.security.classes:Guarded")])
ALICE = ClientAuth("alice", "correct horse")
BOB = ClientAuth("bob", "battery staple")

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("accounts") / "accounts"
    accounts.add_user(path, "alice", "correct horse")
    accounts.add_user(path, "bob", "battery staple")
    return str(path)


@contextlib.contextmanager
def secure_service(accounts_file: str, host: str = HOST, port: int = 0,
                   level: str = "integrity"):
    with running_service(CLASSES, host, port, grace=1, ping_period=5,
                         auth=server_auth(accounts_file, level)) as service:
        yield service


@pytest.fixture(scope="module")
def service(accounts_file):
    with secure_service(accounts_file) as started:
        yield started


def activate(client: ClientRuntime, service: Service):
    [(code, proxy)] = remote_activate(client, (HOST, service.port), GUARDED_CLSID,
                                      [pydcom.IID_IDispatch])
    assert proxy is not None, hex(code)
    return wrap(proxy)


@pytest.mark.parametrize("level", [AuthLevel.PKT_INTEGRITY, AuthLevel.PKT_PRIVACY])
def test_activation_and_calls_authenticated_at_each_level(service, level):
    with runtime(ALICE.at_level(level)) as client:
        guarded = activate(client, service)
        assert guarded.Add(2, 3) == 5
        # the server process's method learns who called, at which level
        assert guarded.WhoAmI() == f"alice|{int(level)}"
        guarded.release()


@pytest.mark.parametrize("auth", [None, ClientAuth("alice", "wrong password"),
                                  ClientAuth("mallory", "x"),
                                  ClientAuth("alice", "correct horse", level=AuthLevel.CONNECT)])
def test_a_refused_activation_starts_no_server_process(accounts_file, auth):
    """No credentials, a wrong password, an unknown account, or a level below the minimum:
    E_ACCESSDENIED, and the service starts nothing."""
    with secure_service(accounts_file, "127.0.0.32") as fresh, runtime(auth) as client:
        with pytest.raises(ComError) as info:
            remote_activate(client, ("127.0.0.32", fresh.port), GUARDED_CLSID,
                            [pydcom.IID_IDispatch])
        assert info.value.hresult == E_ACCESSDENIED
        assert fresh.hosting.launch_count == 0


def test_connect_level_when_the_administrator_allows_it(accounts_file):
    with secure_service(accounts_file, "127.0.0.33", level="connect") as lowered, \
            runtime(ClientAuth("bob", "battery staple", level=AuthLevel.CONNECT)) as client:
        [(_, proxy)] = remote_activate(client, ("127.0.0.33", lowered.port), GUARDED_CLSID,
                                       [pydcom.IID_IDispatch])
        guarded = wrap(proxy)
        assert guarded.WhoAmI() == "bob|2"
        guarded.release()


def test_the_exporter_refuses_unauthenticated_calls(service):
    """The server process's exporter asks what its service asks."""
    with runtime(ALICE) as client:
        guarded = activate(client, service)
        [info] = client.oxids.entries()
        with RpcClient(*info.endpoint, timeout=5) as anonymous:
            with pytest.raises(RpcError) as refused:
                anonymous.call(REMUNKNOWN_SYNTAX, 3, rem_query_interface(info.ipid_rem_unknown),
                         object=info.ipid_rem_unknown)
            assert refused.value.hresult == E_ACCESSDENIED
        guarded.release()


def _rem_release(info, auth: ClientAuth, ipid, refs: int) -> None:
    """RemRelease (MS-DCOM 3.1.1.5.6.1.3) of ``refs`` public references on ``ipid``, sent to
    the exporter of ``info`` as ``auth``'s account."""
    request = RemReleaseRequest(orpcthis(), 1, [REMINTERFACEREF(ipid, refs, 0)])
    with RpcClient(*info.endpoint, timeout=5, auth=auth) as rpc:
        answer = OrpcHresultResponse.decode(rpc.call(REMUNKNOWN_SYNTAX, OP_REM_RELEASE,
                                                     request.encode(),
                                                     object=info.ipid_rem_unknown))
    assert answer.hr == 0


def test_another_account_cannot_release_the_references_it_was_not_given(service):
    """Bob releasing the IPID alice was given takes nothing from her references: her object
    still answers her. Her own release ends it."""
    with runtime(ALICE) as client:
        [(_, proxy)] = remote_activate(client, (HOST, service.port), GUARDED_CLSID,
                                       [pydcom.IID_IDispatch])
        guarded = wrap(proxy)
        [info] = client.oxids.entries()
        _rem_release(info, BOB, proxy.ipid, 1000)
        assert guarded.Add(2, 3) == 5
        _rem_release(info, ALICE, proxy.ipid, 1000)
        with pytest.raises(ComError) as gone:
            guarded.Add(2, 3)
        assert gone.value.hresult == RPC_E_DISCONNECTED


def test_server_alive2_is_open_and_names_ntlm(service):
    """MS-DCOM 3.1.2.5.1.6: any client may ask; the answer's security bindings say NTLM with
    the machine's name, so clients know to authenticate."""
    with RpcClient(HOST, service.port, timeout=5) as anonymous:
        answer = oe.ServerAlive2Response.decode(anonymous.call(oe.SYNTAX, oe.OP_SERVER_ALIVE2))
    bindings = dualstringarray_of(answer.ppdsaOrBindings)
    assert [(b.authn_svc, b.principal_name) for b in bindings.security_bindings] == [
        (AUTHN_WINNT, ntlm_machine_name())]


def test_resolve_oxid2_tells_the_exporters_level_as_authn_hint(service):
    with runtime(ALICE) as client:
        guarded = activate(client, service)
        [info] = client.oxids.entries()
        with RpcClient(HOST, service.port, timeout=5, auth=ALICE) as rpc:
            answer = oe.ResolveOxid2Response.decode(rpc.call(
                oe.SYNTAX, oe.OP_RESOLVE_OXID2, oe.ResolveOxidRequest(info.oxid, 1, [7]).encode()))
        assert answer.status == 0
        assert answer.pAuthnHint == AuthLevel.PKT_INTEGRITY
        bindings = dualstringarray_of(answer.ppdsaOxidBindings)
        assert [b.authn_svc for b in bindings.security_bindings] == [AUTHN_WINNT]
        guarded.release()


# -- impacket's DCOMConnection ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def impacket_service(accounts_file):
    with secure_service(accounts_file, IMPACKET_HOST, 135) as started:
        yield started


@pytest.mark.parametrize("level", [RPC_C_AUTHN_LEVEL_PKT_PRIVACY, RPC_C_AUTHN_LEVEL_PKT_INTEGRITY])
def test_impacket_activates_and_calls_through_idispatch(impacket_service, level):
    dcom = dcomrt.DCOMConnection(IMPACKET_HOST, "alice", "correct horse", authLevel=level,
                                 oxidResolver=True)
    try:
        interface = dcom.CoCreateInstanceEx(string_to_bin(str(GUARDED_CLSID)), oaut.IID_IDispatch)
        disp = oaut.IDispatch(interface)
        [add] = disp.GetIDsOfNames(["Add"], 0x409)
        [who] = disp.GetIDsOfNames(["WhoAmI"], 0x409)
        answer = disp.Invoke(add, 0x409, oaut.DISPATCH_METHOD,
                             params(ivar(VARENUM.VT_I4, 2), ivar(VARENUM.VT_I4, 40)), 0, [], [])
        assert answer["pVarResult"]["_varUnion"]["lVal"] == 42
        answer = disp.Invoke(who, 0x409, oaut.DISPATCH_METHOD, params(), 0, [], [])
        # impacket calls the exporter at the authnHint the activation reply gave (its
        # dcomrt.py), packet integrity here, whatever level it activated at.
        assert answer["pVarResult"]["_varUnion"]["bstrVal"]["asData"] == "alice|5"
        disp.RemRelease()
    finally:
        dcom.disconnect()


def test_impacket_remote_activation_on_its_own_connection(impacket_service):
    """IActivation.RemoteActivation over the DCOMConnection's connection: impacket binds the
    new interface with a new bind PDU on context id 0 and a fresh NTLM handshake."""
    dcom = dcomrt.DCOMConnection(IMPACKET_HOST, "alice", "correct horse",
                                 authLevel=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, oxidResolver=True)
    try:
        activation = dcomrt.IActivation(dcom.get_dce_rpc())
        interface = activation.RemoteActivation(string_to_bin(str(GUARDED_CLSID)),
                                                oaut.IID_IDispatch)
        disp = oaut.IDispatch(interface)
        assert disp.GetIDsOfNames(["Add"], 0x409)
        disp.RemRelease()
    finally:
        dcom.disconnect()


def test_impacket_with_a_wrong_password_gets_access_denied_and_no_process(accounts_file):
    with secure_service(accounts_file, "127.0.0.74", 135) as fresh:
        dcom = dcomrt.DCOMConnection("127.0.0.74", "alice", "not it",
                                     authLevel=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, oxidResolver=True)
        try:
            with pytest.raises(DCERPCException, match="access_denied|ACCESS_DENIED"):
                dcom.CoCreateInstanceEx(string_to_bin(str(GUARDED_CLSID)), oaut.IID_IDispatch)
        finally:
            dcom.disconnect()
        assert fresh.hosting.launch_count == 0
