"""Callbacks: a client passes its own object to a server on another machine, which calls it
back (event sinks, as j-Interop and OPC clients use them), and reentrant calls into an
"Apartment" object do not deadlock (MS-DCOM 3.2.4.2: a callback carries its caller's cid)."""

from __future__ import annotations

import threading
import time

import pytest

import pydcom
from pydcom.automation import wrap
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.classes import ClassEntry, StaticClassStore

from .callback_classes import APARTMENT_NOTIFIER_CLSID, NOTIFIER_CLSID
from pydcom.hresult import ComError
from pydcom.runtime.client import ClientRuntime

from ..support import wait_until
from .conftest import client_runtime, running_service

CLIENT_HOST, SERVER_HOST = "127.0.0.2", "127.0.0.3"
CLASSES = StaticClassStore([
    ClassEntry(NOTIFIER_CLSID, python="tests.automation.callback_classes:Notifier"),
    ClassEntry(APARTMENT_NOTIFIER_CLSID,
               python="tests.automation.callback_classes:ApartmentNotifier"),
])


class Sink:
    """The client's event sink: counts what it is told; calls back when asked to."""

    def __init__(self, source=None) -> None:
        self.seen: list[int] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()
        self.source = source

    def Notify(self, value: int) -> None:
        with self._lock:
            self.seen.append(value)
            self.threads.add(threading.get_ident())

    def Reenter(self, value: int) -> int:
        return value + self.source.Value()


@pytest.fixture
def machines():
    """A service for the client's machine (its exporter's resolver) and one for the server's."""
    with running_service(CLIENT_HOST, classes=StaticClassStore([]), ping_period=2) as client, \
            running_service(SERVER_HOST, classes=CLASSES, ping_period=2) as server:
        yield [f"{CLIENT_HOST}[{client.port}]", f"{SERVER_HOST}[{server.port}]"]


def _activate(runtime, where: str, clsid):
    host, port = where[:-1].split("[")
    [(code, proxy)] = remote_activate(runtime, (host, int(port)), clsid,
                                      [pydcom.IID_IDispatch])
    assert proxy is not None, hex(code)
    return wrap(proxy)


def test_a_thousand_callbacks_from_eight_threads_all_arrive_and_are_released(machines):
    client_service, server = machines
    with client_runtime(local_service=client_service) as runtime:
        notifier = _activate(runtime, server, NOTIFIER_CLSID)
        sink = Sink()
        notifier.Advise(sink)
        exporter = runtime.exporter()
        assert exporter.exported(sink)
        assert exporter.bindings.tcp_bindings()[0].host == CLIENT_HOST

        assert notifier.Fire(1000, 8) == 1000
        assert sorted(sink.seen) == list(range(1000))
        assert len(sink.threads) > 1  # the client's exporter served them concurrently

        notifier.Unadvise()  # the server gives its reference back...
        wait_until(lambda: not exporter.exported(sink), 10, "the sink let go")  # ...and it is
        notifier.release()


def test_a_callback_into_an_apartment_object_does_not_deadlock(machines):
    client_service, server = machines
    with client_runtime(local_service=client_service) as runtime:
        notifier = _activate(runtime, server, APARTMENT_NOTIFIER_CLSID)
        sink = Sink(source=notifier)
        started = time.monotonic()
        # Relay runs on the apartment's thread and calls the sink, which calls Value on the
        # same object before answering: Value must run inside Relay's wait, on that thread.
        assert notifier.Relay(sink, 8) == 50
        assert time.monotonic() - started < 10
        assert notifier.ThreadCount() == 1
        for value in range(5):  # and again, the apartment still serving in order
            assert notifier.Relay(sink, value) == 42 + value
        notifier.release()


def test_a_call_that_gets_no_answer_in_time_fails_with_rpc_e_timeout(machines):
    _, server = machines
    runtime = ClientRuntime(connect_timeout=2, call_timeout=1)
    try:
        # The activation is a call too, bounded by the same second; starting the server
        # process can take longer on a loaded machine. So another client starts it first and
        # holds an object there, and the activation below only asks a running server.
        with client_runtime() as starter:
            keep = _activate(starter, server, NOTIFIER_CLSID)
            notifier = _activate(runtime, server, NOTIFIER_CLSID)
            keep.release()
        started = time.monotonic()
        with pytest.raises(ComError) as caught:
            notifier.Sleep(20)
        assert caught.value.hresult == pydcom.hresult.RPC_E_TIMEOUT
        assert 0.9 < time.monotonic() - started < 10  # the timeout, not the answer, ended it
        assert notifier.Value() == 42  # a new connection; the server kept serving
        notifier.release()
    finally:
        runtime.close()
