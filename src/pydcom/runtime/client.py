"""The client side of DCOM (MS-DCOM 3.2): one ``ClientRuntime`` per process ties together

- ``connections``: a pool of RPC connections per machine endpoint, so threads call in parallel;
- ``oxids``: the OXID table, what activation replies and ResolveOxid2 taught;
- ``pinger``: the ping sets, one per remote resolver (MS-DCOM 3.2.6.1);
- ``releases``: releases waiting to be sent, batched per exporter into RemRelease calls
  (MS-DCOM 3.2.4.4.2);

each under its own lock, with a worker thread that sends the releases and pings every period;
it unmarshals OBJREFs into proxies (``pydcom.runtime.proxy``) and makes, on first use, the
exporter of the objects this process passes to other machines.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.rpc import SyntaxId
from pydcom.rpc.security import ClientAuth, ServerAuth
from pydcom.runtime import causality
from pydcom.runtime.apartment import current_apartment
from pydcom.runtime.connections import Connections
from pydcom.runtime.credentials import (
    Credentials,
    client_auth_from_environment,
    server_auth_from_environment,
)
from pydcom.runtime.endpoints import Endpoint, resolver_endpoint
from pydcom.runtime.exporter import ObjectExporter
from pydcom.runtime.oxids import OxidTable
from pydcom.runtime.pinger import Pinger
from pydcom.runtime.proxy import Proxy
from pydcom.runtime.releases import ReleaseBatcher
from pydcom.runtime.service_link import ServiceLink, service_endpoint
from pydcom.wire.objref import ObjRef, ObjRefStandard
from pydcom.wire.orpc import MInterfacePointer, interface_pointer, objref_of

log = logging.getLogger("pydcom.runtime")

# How long a call waits for its answer (PYDCOM_CALL_TIMEOUT): long enough for any real method,
# short enough that a machine that stopped answering frees its caller.
DEFAULT_CALL_TIMEOUT = float(os.environ.get("PYDCOM_CALL_TIMEOUT", "300"))
HOUSEKEEPING_TIMEOUT = 30.0  # seconds a ping or a batch of releases waits for its answer
HOUSEKEEPING_THREADS = 8  # machines pinged (or released at) at once

_runtime: ClientRuntime | None = None
_runtime_lock = threading.Lock()


def client_runtime() -> ClientRuntime:
    """The process's DCOM client state, made on first use with the clients' settings
    (PYDCOM_CONNECT_TIMEOUT, PYDCOM_PING_PERIOD, PYDCOM_ADDRESS; docs/settings.md)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = ClientRuntime(
                connect_timeout=float(os.environ.get("PYDCOM_CONNECT_TIMEOUT", "5")),
                ping_period=float(os.environ.get("PYDCOM_PING_PERIOD", "120")),
                local_address=os.environ.get("PYDCOM_ADDRESS") or None,
                auth=client_auth_from_environment(),
                callback_auth=server_auth_from_environment())
        return _runtime


def initialize_security(auth: ClientAuth | None) -> None:
    """The credentials this process authenticates with on every machine that no
    ``ServerInfo(..., auth=...)`` named others for (the CoInitializeSecurity role; None: no
    authentication). Connections already open keep theirs."""
    client_runtime().credentials.set_default(auth)


class ClientRuntime:
    """Process-wide DCOM client state. Thread-safe; see the module docstring."""

    def __init__(self, *, connect_timeout: float = 5.0, ping_period: float = 120.0,
                 release_delay: float = 0.05, local_service: str | None = None,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT,
                 local_address: str | None = None, auth: ClientAuth | None = None,
                 callback_auth: ServerAuth | None = None) -> None:
        """``auth``: the credentials every connection authenticates with, unless a
        ``ServerInfo(..., auth=...)`` gave others for its machine (``credentials``).
        ``callback_auth``: the accounts and least level that the exporter of the objects this
        process passes to others (callbacks, event sinks) asks of their callers, as a
        server's exporter asks them (None: calls are taken without authentication)."""
        self.callback_auth = callback_auth
        # This machine's address, when the host has several (or stands for several machines):
        # connections go out from it and the exporter of callbacks listens on it.
        self.local_address = local_address
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.local_service = local_service
        self._exporter: ObjectExporter | None = None
        self._exporter_lock = threading.Lock()
        self.ping_period = ping_period
        self.release_delay = release_delay
        self._wake = threading.Event()
        self._closing = threading.Event()
        self.credentials = Credentials(auth)
        self.connections = Connections(connect_timeout, call_timeout, local_address,
                                       self.credentials)
        self.oxids = OxidTable(self.call)
        # Pings and releases go to every machine at once, over connections of their own whose
        # calls wait at most HOUSEKEEPING_TIMEOUT: a machine that stopped answering holds up
        # its own pings only, and the others' go out on time.
        self._housekeeping = Connections(connect_timeout, min(call_timeout, HOUSEKEEPING_TIMEOUT),
                                         local_address, self.credentials)
        self._fanout = ThreadPoolExecutor(max_workers=HOUSEKEEPING_THREADS,
                                          thread_name_prefix="dcom-housekeeping")
        self.pinger = Pinger(self._housekeeping.call, self._fanout)
        self.releases = ReleaseBatcher(self._housekeeping.call, self._wake.set, self._fanout)
        self._worker = threading.Thread(target=self._background, daemon=True,
                                        name="dcom-client")
        self._worker.start()

    def call(self, endpoint: Endpoint, syntax: SyntaxId, opnum: int, stub: bytes,
             object: uuid.UUID | None = None) -> bytes:
        """One call on a pooled connection (``Connections.call``): every failure is an RpcError
        with its true HRESULT, and no call waits longer than ``call_timeout`` for its answer
        (CallTimedOut, RPC_E_TIMEOUT).

        Made from an apartment's thread, the call waits in ``Apartment.call_out``, so that
        calls of its causality that come back meanwhile run on that thread (MS-DCOM 3.2.4.2:
        a callback carries the cid of the call it answers)."""
        apartment = current_apartment()
        if apartment is not None:
            return apartment.call_out(lambda: self.connections.call(endpoint, syntax, opnum, stub,
                                                                    object), causality.current())
        return self.connections.call(endpoint, syntax, opnum, stub, object)

    # -- objects this process passes on --------------------------------------------------------
    def exporter(self) -> ObjectExporter:
        """This process's object exporter, for objects it passes to other machines; made on
        first use and joined to this machine's service (PYDCOM_SERVICE, "host[port]";
        127.0.0.1 by default), which its clients ping, as Windows needs rpcss."""
        with self._exporter_lock:
            if self._exporter is None:
                endpoint = service_endpoint(self.local_service)
                link = ServiceLink(endpoint)
                self._exporter = ObjectExporter([self.local_address or endpoint[0]],
                                                resolver_bindings=link.resolver_bindings(),
                                                resolver=link, unmarshal_remote=self.unmarshal,
                                                auth=self.callback_auth)
            return self._exporter

    def marshal(self, value: Any, iid: uuid.UUID) -> MInterfacePointer:
        """An interface pointer parameter for ``value``: a proxy passes its own reference on,
        a local object is exported."""
        to_objref = getattr(value, "_marshal_objref_", None)
        if to_objref is not None:
            return interface_pointer(to_objref(iid))
        return interface_pointer(self.exporter().marshal(value, iid))

    # -- proxies -----------------------------------------------------------------------------
    def unmarshal(self, objref: ObjRef, resolver_hint: Endpoint | None = None) -> Any:
        """A proxy for an OBJREF_STANDARD (MS-DCOM 3.2.4.1.2); for one naming an object this
        process exports (a callback handed back), that object itself, as COM gives it."""
        if not isinstance(objref, ObjRefStandard):
            raise ComError(hresult.RPC_E_INVALID_OBJREF,
                           f"{type(objref).__name__} cannot be unmarshaled here")
        exporter = self._exporter
        if exporter is not None and objref.std.oxid == exporter.oxid:
            return exporter.unmarshal(objref)
        resolver = resolver_endpoint(objref.resolver, resolver_hint)
        info = self.oxids.resolve(resolver, objref.std.oxid)
        return Proxy(self, info, objref.iid, objref.std)

    def unmarshal_pointer(self, pointer: MInterfacePointer | None,
                          resolver_hint: Endpoint | None = None) -> Any:
        if pointer is None:
            return None
        return self.unmarshal(objref_of(pointer), resolver_hint)

    # -- life --------------------------------------------------------------------------------
    def _background(self) -> None:
        """Send releases soon after they are queued (a short delay gathers a batch), and ping
        every period."""
        next_ping = time.monotonic() + self.ping_period
        while not self._closing.is_set():
            woke = self._wake.wait(max(0.0, next_ping - time.monotonic()))
            if self._closing.is_set():
                return
            try:
                if woke:
                    self._wake.clear()
                    self._closing.wait(self.release_delay)
                    self.releases.flush()
                if time.monotonic() >= next_ping:
                    next_ping = time.monotonic() + self.ping_period
                    self.pinger.ping_once()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.warning("client background work failed", exc_info=True)

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        self._worker.join(5)
        self.releases.flush()
        self._fanout.shutdown(wait=False)
        self.connections.close()
        self._housekeeping.close()
        if self._exporter is not None:
            self._exporter.close()
