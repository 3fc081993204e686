"""Callbacks with NTLM: the exporter of the objects a client passes to a server (an event
sink) asks its callers what a server's exporter asks (``ClientRuntime(callback_auth=...)``),
and a server process calls out as the account it was given (PYDCOM_USER, PYDCOM_PASSWORD)."""

from __future__ import annotations

import contextlib
import threading

import pytest

import pydcom
from pydcom import accounts
from pydcom.automation import wrap
from pydcom.hresult import E_ACCESSDENIED, ComError
from pydcom.rpc import RpcClient
from pydcom.rpc.errors import RpcError
from pydcom.rpc.security import ClientAuth
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.credentials import server_auth
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.service.service import Service
from pydcom.wire.remunknown import REMUNKNOWN_SYNTAX
from tests.automation.callback_classes import NOTIFIER_CLSID

from ..support import running_service
from .support import rem_query_interface

SERVER_HOST, BARE_SERVER_HOST, CLIENT_HOST = "127.0.0.37", "127.0.0.39", "127.0.0.38"
CLASSES = StaticClassStore([
    ClassEntry(NOTIFIER_CLSID, python="tests.automation.callback_classes:Notifier")])
ALICE = ClientAuth("alice", "correct horse")  # the client, on the server's machine
NOTIFIER = ("notifier", "event source")  # the server process, on the client's machine

pytestmark = pytest.mark.timeout(90)


class Sink:
    """An event sink that notes who called it."""

    def __init__(self) -> None:
        self.callers: list[str] = []
        self._lock = threading.Lock()

    def Notify(self, value: int) -> None:
        security = pydcom.call_security()
        with self._lock:
            self.callers.append(security.identity if security is not None else "nobody")


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    """The server's machine (its accounts know alice; its server processes call out as
    notifier) and the client's (its accounts know notifier): both services authenticate."""
    folder = tmp_path_factory.mktemp("accounts")
    server_accounts, client_accounts = folder / "server", folder / "client"
    accounts.add_user(server_accounts, "alice", "correct horse")
    accounts.add_user(client_accounts, *NOTIFIER)
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # what the server processes start with
            env.setenv("PYDCOM_USER", NOTIFIER[0])
            env.setenv("PYDCOM_PASSWORD", NOTIFIER[1])
            server = stack.enter_context(_service(SERVER_HOST, server_accounts))
            _start_notifier(server)  # the surrogate inherits the credentials now
        bare = stack.enter_context(_service(BARE_SERVER_HOST, server_accounts))
        client = stack.enter_context(_service(CLIENT_HOST, client_accounts, classes=[]))
        yield server, bare, client, str(client_accounts)


@contextlib.contextmanager
def _service(host: str, accounts_path, classes=None):
    with running_service(CLASSES if classes is None else StaticClassStore(classes), host,
                         grace=30, ping_period=5,
                         auth=server_auth(str(accounts_path), "integrity")) as service:
        yield service


def _start_notifier(service: Service) -> None:
    """Activate a Notifier once, so that its server process starts while the environment
    holds the credentials it calls out with."""
    runtime = ClientRuntime(connect_timeout=2, auth=ALICE)
    try:
        _activate(runtime, service, SERVER_HOST).release()
    finally:
        runtime.close()


def _activate(runtime: ClientRuntime, service: Service, host: str):
    [(code, proxy)] = remote_activate(runtime, (host, service.port), NOTIFIER_CLSID,
                                      [pydcom.IID_IDispatch])
    assert proxy is not None, hex(code)
    return wrap(proxy)


@contextlib.contextmanager
def _client(client_service: Service, accounts_path: str):
    runtime = ClientRuntime(connect_timeout=2, auth=ALICE,
                            local_service=f"{CLIENT_HOST}[{client_service.port}]",
                            callback_auth=server_auth(accounts_path, "integrity"))
    try:
        yield runtime
    finally:
        runtime.close()


def test_a_server_calls_back_as_its_account_and_anonymous_callers_are_refused(machines):
    server, _, client_service, accounts_path = machines
    with _client(client_service, accounts_path) as runtime:
        notifier = _activate(runtime, server, SERVER_HOST)
        sink = Sink()
        notifier.Advise(sink)
        assert notifier.Fire(40, 4) == 40
        assert sink.callers == ["account:notifier"] * 40

        exporter = runtime.exporter()
        [binding] = exporter.bindings.tcp_bindings()
        with RpcClient(binding.host, int(binding.endpoint), timeout=5) as anonymous:
            with pytest.raises(RpcError) as refused:
                anonymous.call(REMUNKNOWN_SYNTAX, 3,
                               rem_query_interface(exporter.ipid_rem_unknown),
                               object=exporter.ipid_rem_unknown)
            assert refused.value.hresult == E_ACCESSDENIED
        notifier.Unadvise()
        notifier.release()


def test_a_server_process_without_credentials_cannot_call_back(machines):
    """Its calls out go unauthenticated: the client's machine refuses to resolve the sink
    for it, so Advise fails with that refusal, and the sink is never called."""
    _, bare, client_service, accounts_path = machines
    with _client(client_service, accounts_path) as runtime:
        notifier = _activate(runtime, bare, BARE_SERVER_HOST)
        sink = Sink()
        with pytest.raises(ComError) as refused:
            notifier.Advise(sink)
        assert refused.value.hresult == E_ACCESSDENIED
        assert sink.callers == []
        notifier.release()
