"""The machine's activation service, rpcss's role: one endpoint per address it is told to listen
on, serving IObjectExporter, IRemoteSCMActivator and IActivation (MS-DCOM 3.1.2.5), and the
private interface its own server processes register through.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pydcom.memory import limit_arenas
from pydcom.rpc import Interface, RpcServer
from pydcom.rpc.addresses import advertised, is_wildcard
from pydcom.rpc.calls import CallReceived
from pydcom.rpc.security import AuthLevel, ServerAuth
from pydcom.rpc.server_connection import ServerLimits
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.credentials import security_bindings, server_environment
from pydcom.runtime.endpoints import RESOLVER_PORT
from pydcom.runtime.machine import require_local_caller
from pydcom.service.classes import ClassStore
from pydcom.service.hosting import Hosting
from pydcom.service.resolver import ExporterRecord, Resolver
from pydcom.service.scm import Activator
from pydcom.wire import local
from pydcom.wire import object_exporter as oe
from pydcom.wire.dualstringarray import DualStringArray, StringBinding
from pydcom.wire.orpc import dualstringarray_of

log = logging.getLogger(__name__)


class Service:
    """``pydcom serve``: start with ``start()``, stop with ``close()`` (or use ``with``)."""

    def __init__(self, classes: ClassStore, hosts: list[str] | tuple[str, ...] = ("127.0.0.1",),
                 port: int = RESOLVER_PORT, *, ping_period: float = 120.0,
                 start_timeout: float = 30.0, grace: float = 5.0,
                 limits: ServerLimits | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 auth: ServerAuth | None = None) -> None:
        """``clock`` is the resolver's, which times out ping sets: tests pass their own.
        ``auth`` is whom the service and its server processes let in, and at which level
        (None: no authentication; ``pydcom serve`` always gives one)."""
        self.auth = auth
        self.classes = classes
        self.limits = limits or ServerLimits()  # of each endpoint's RPC server
        self.hosts = list(hosts)
        self.port = port
        self.ping_period = ping_period
        self._servers: list[RpcServer] = []
        self.runtime = ClientRuntime(ping_period=ping_period)
        self.resolver = Resolver(self.bindings, ping_period=ping_period, clock=clock)
        self._start_timeout = start_timeout
        self._grace = grace
        self.hosting: Hosting | None = None
        self.activator: Activator | None = None
        self._started = threading.Event()

    # -- addresses ---------------------------------------------------------------------------
    def bindings(self) -> DualStringArray:
        """The resolver's bindings: "host" on port 135, else "host[port]", which pydcom
        clients honour (MS-DCOM 2.2.19.3 gives resolvers the well-known endpoint)."""
        port = self.port if not self._servers else self._servers[0].address[1]
        return DualStringArray(tuple(
            StringBinding.tcp(address, None if port == RESOLVER_PORT else port)
            for host in self.hosts for address in advertised(host)), security_bindings(self.auth))

    @property
    def endpoint(self) -> str:
        """Where this machine's server processes reach the service (a wildcard: over loopback)."""
        host, port = self._servers[0].address
        if is_wildcard(host):
            host = "::1" if ":" in host else "127.0.0.1"
        return f"{host}[{port}]"

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> "Service":
        limit_arenas()  # before the connection threads (pydcom.memory)
        port = self.port
        for host in self.hosts:
            try:
                server = RpcServer(host, port, limits=self.limits, name=f"service-{host}",
                                   auth=self.auth).start()
            except OSError as exc:  # said with the address that failed: the filename slot
                self.close()
                raise OSError(exc.errno, exc.strerror or str(exc), f"{host}[{port}]") from exc
            port = server.address[1]  # every address on the same port, the first one's
            self._servers.append(server)
        self.port = port
        self.hosting = Hosting(self.endpoint, self.hosts, self.resolver,
                               start_timeout=self._start_timeout, grace=self._grace,
                               environment=lambda entry: server_environment(
                                   self.auth, entry.access_permission))
        self.activator = Activator(self.classes, self.hosting, self.runtime,
                                   self.auth.groups_of if self.auth else lambda user: frozenset())
        interfaces = [self.resolver.interface(), self._local_interface(), *self.activator.interfaces()]
        for server in self._servers:
            for interface in interfaces:
                server.register(interface)
        self._started.set()
        log.info("activation service on %s", ", ".join(f"{h}[{self.port}]" for h in self.hosts))
        return self

    def __enter__(self) -> "Service":
        return self.start() if not self._started.is_set() else self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for server in self._servers:
            server.close()
        if self.hosting is not None:
            self.hosting.close()
        self.runtime.close()
        self.resolver.close()

    # -- the private local interface ----------------------------------------------------------
    def _local_interface(self) -> Interface:
        def only_local(handler):
            def guarded(call: CallReceived) -> bytes:
                require_local_caller(call)
                return handler(call)
            return guarded

        operations = {
            local.OP_REGISTER_SERVER: only_local(self._register_server),
            local.OP_UNREGISTER_SERVER: only_local(self._unregister_server),
            local.OP_REGISTER_CLASS: only_local(self._register_class),
            local.OP_REVOKE_CLASS: only_local(self._revoke_class),
            local.OP_LIVE_OIDS: only_local(self._live_oids),
            local.OP_REGISTER_OIDS: only_local(
                lambda call: self._oids(call, self.resolver.register_oids)),
            local.OP_FORGET_OIDS: only_local(
                lambda call: self._oids(call, self.resolver.forget_oids)),
        }
        return Interface(local.SYNTAX, operations, "pydcom-local",
                         open_opnums=frozenset(operations))

    def _register_server(self, call: CallReceived) -> bytes:
        request = local.RegisterServerRequest.decode(call.stub)
        # The authnHint clients get for it (MS-DCOM 2.2.22.2.8): the level its calls need.
        hint = self.auth.min_level if self.auth is not None else AuthLevel.NONE
        record = ExporterRecord(request.oxid, dualstringarray_of(request.bindings),
                                request.ipidRemUnknown, authn_hint=int(hint))
        assert self.hosting is not None
        secret = self.hosting.register_server(record, request.token or "")
        return local.RegisterServerResponse(int(self.ping_period * 1000), secret, 0).encode()

    def _unregister_server(self, call: CallReceived) -> bytes:
        request = local.UnregisterServerRequest.decode(call.stub)
        assert self.hosting is not None
        self.hosting.unregister_server(request.oxid, request.secret)
        return oe.StatusResponse(0).encode()

    def _register_class(self, call: CallReceived) -> bytes:
        request = local.RegisterClassRequest.decode(call.stub)
        assert self.hosting is not None
        self.hosting.register_class(request.oxid, request.clsid, request.secret)
        return oe.StatusResponse(0).encode()

    def _revoke_class(self, call: CallReceived) -> bytes:
        request = local.RevokeClassRequest.decode(call.stub)
        assert self.hosting is not None
        self.hosting.revoke_class(request.oxid, request.clsid, request.secret)
        return oe.StatusResponse(0).encode()

    def _oids(self, call: CallReceived, change: Callable[[int, list[int]], None]) -> bytes:
        """OIDs an exporter handed out or released, told by the process that registered it."""
        request = local.OidsRequest.decode(call.stub)
        assert self.hosting is not None
        self.hosting.registration(request.oxid, request.secret)
        change(request.oxid, request.oids)
        return oe.StatusResponse(0).encode()

    def _live_oids(self, call: CallReceived) -> bytes:
        request = local.LiveOidsRequest.decode(call.stub)
        assert self.hosting is not None
        self.hosting.registration(request.oxid, request.secret)
        live = sorted(self.resolver.live_oids(request.oxid, request.oids))
        return local.LiveOidsResponse(len(live), live, 0).encode()
