"""The server-process side of activation: an exporter joined to its machine's activation service,
with class objects registered there (the CoRegisterClassObject role, MS-DCOM 3.1.2.1).

A server process is started by the service (a surrogate for a Python class, or a registered
command line). The service tells it where it is through the environment: PYDCOM_SERVICE
("host[port]"), PYDCOM_BIND (addresses to listen on, comma separated) and PYDCOM_TOKEN.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
import uuid
from typing import Any, Callable

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.memo import Memo
from pydcom.memory import limit_arenas
from pydcom.registry import parse_machine_name
from pydcom.rpc import Interface
from pydcom.rpc.calls import CallReceived
from pydcom.rpc.constants import NCA_S_FAULT_ACCESS_DENIED
from pydcom.rpc.errors import RpcFault
from pydcom.rpc.security import UNAUTHENTICATED
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.credentials import client_auth_from_environment, server_auth_from_environment
from pydcom.runtime.exporter import ClassObject, ObjectExporter
from pydcom.runtime.machine import require_local_caller
from pydcom.runtime.service_link import ENV_SERVICE, ServiceLink
from pydcom.wire import local
from pydcom.wire.activation_properties import props_out_stream
from pydcom.wire.orpc import interface_pointer

log = logging.getLogger("pydcom.runtime")


def _stop_at_eof(stop: threading.Event) -> None:
    """Set ``stop`` when stdin, the pipe our launching service holds, closes."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    log.info("the service that started this server is gone: shutting down")
    stop.set()


def _activate_answer(iids: list, code: int) -> bytes:
    return local.ActivateResponse(len(iids), [code] * len(iids), 0, b"", code).encode()


_activate_requests = Memo(256)  # the service asks for the same classes again and again


def _activate_request(stub: bytes) -> local.ActivateRequest:
    """The decoded request; callers only read it."""
    found = _activate_requests.get(stub)
    if found is None:
        found = _activate_requests.keep(stub, local.ActivateRequest.decode(stub), len(stub))
    return found


_current: "LocalServer | None" = None


def current_server() -> "LocalServer | None":
    """The LocalServer of this process, if it is a server process."""
    return _current


class LocalServer:
    """A process serving classes to its machine's activation service."""

    def __init__(self, service: str | None = None, hosts: list[str] | None = None,
                 token: str | None = None) -> None:
        service = service or os.environ.get(ENV_SERVICE)
        if not service:
            raise ComError(hresult.CO_E_SERVER_EXEC_FAILURE, "no PYDCOM_SERVICE to register with")
        limit_arenas()  # before the connection threads (pydcom.memory)
        endpoint = parse_machine_name(service)
        hosts = hosts or [h for h in os.environ.get("PYDCOM_BIND", endpoint[0]).split(",") if h]
        self.link = ServiceLink(endpoint, token if token is not None
                                else os.environ.get("PYDCOM_TOKEN", ""))
        # Its calls out (to the event sinks its clients pass in, say) authenticate as the
        # account the process was given (PYDCOM_USER), as a Windows server calls as its
        # identity; what it passes on in them asks what its own objects ask.
        auth = server_auth_from_environment()
        self.runtime = ClientRuntime(auth=client_auth_from_environment(), callback_auth=auth)
        self.exporter = ObjectExporter(hosts, resolver_bindings=self.link.resolver_bindings(),
                                       resolver=self.link,
                                       unmarshal_remote=self.runtime.unmarshal, auth=auth)
        self.runtime.ping_period = self.exporter.ping_period
        self._classes: dict[uuid.UUID, ClassObject] = {}
        self.exporter.serve_interface(Interface(local.SERVER_SYNTAX, {
            # Open below the minimum level: the service calls it, and it answers only its own
            # machine (require_local_caller).
            local.OP_ACTIVATE: self._activate}, "pydcom-local-server",
            open_opnums=frozenset({local.OP_ACTIVATE})))
        global _current
        _current = self

    def register_class_object(self, clsid: uuid.UUID | str, factory: Callable[[], Any], *,
                              interfaces: tuple[uuid.UUID, ...] = (),
                              threading: str | None = None) -> None:
        """Serve ``clsid``, creating its objects with ``factory`` (CoRegisterClassObject).
        ``interfaces`` and ``threading`` are what the registry adds to a class's own word."""
        clsid = uuid.UUID(str(clsid))
        if isinstance(factory, type):
            self.exporter.declare_class(factory, interfaces, threading)
        self._classes[clsid] = ClassObject(clsid, factory)
        self.link.register_class(self.exporter.oxid, clsid)

    def _activate(self, call: CallReceived) -> bytes:
        """The service's activation request: create the object (or take the class object) and
        marshal each requested interface, five references each (MS-DCOM 3.1.1.5.1)."""
        require_local_caller(call)
        request = _activate_request(call.stub)
        if self.link.token and not hmac.compare_digest(request.token or "", self.link.token):
            # Only the service that started this process may ask it for objects: its launch
            # and access checks come first.
            raise RpcFault(NCA_S_FAULT_ACCESS_DENIED, "an activation without the launch token")
        class_object = self._classes.get(request.clsid)
        if class_object is None:
            return _activate_answer(request.iids, hresult.REGDB_E_CLASSNOTREG)
        if request.classObject:
            target = class_object
        else:
            try:
                target = self.exporter.run_in_apartment_of(class_object.factory,
                                                           class_object.factory)
            except ComError as exc:
                return _activate_answer(request.iids, exc.hresult)
            except Exception:  # noqa: BLE001 - a constructor that raises: the server failed
                log.exception("creating %s failed", request.clsid)
                return _activate_answer(request.iids, hresult.CO_E_SERVER_EXEC_FAILURE)
        supported = self.exporter.supported_iids(target)
        results, pointers = [], []
        for iid in request.iids:
            if iid in supported:
                results.append(hresult.S_OK)
                pointers.append(interface_pointer(self.exporter.marshal(
                    target, iid, pinned=target is class_object,
                    owner=request.client or UNAUTHENTICATED.identity)))
            else:
                results.append(hresult.E_NOINTERFACE)
                pointers.append(None)
        overall = hresult.S_OK if any(p is not None for p in pointers) else hresult.E_NOINTERFACE
        props_out = props_out_stream(request.iids, results, pointers)
        return local.ActivateResponse(len(results), results, len(props_out), props_out,
                                      overall).encode()

    def serve_until_idle(self, grace: float = 5.0, stop: threading.Event | None = None) -> None:
        """Serve until no object has been exported for ``grace`` seconds and no LockServer holds
        the server, or ``stop`` is set, or the service that launched us ends (our stdin, its
        pipe, reaches EOF); then revoke the classes and leave."""
        stop = stop or threading.Event()
        if os.environ.get("PYDCOM_TOKEN"):
            threading.Thread(target=_stop_at_eof, args=(stop,), daemon=True,
                             name="service-watch").start()
        idle_since = time.monotonic()
        try:
            while not stop.wait(min(grace / 4, 0.5)):
                busy = self.exporter.object_count or any(c.locks for c in self._classes.values())
                if busy:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= grace:
                    log.info("no references left for %.1fs: shutting down", grace)
                    break
        finally:
            self.close()

    def close(self) -> None:
        for clsid in list(self._classes):
            try:
                self.link.revoke_class(self.exporter.oxid, clsid)
            except Exception:  # noqa: BLE001 - the service may be gone
                pass
        self.exporter.close()
        self.runtime.close()
