"""How a process reaches its machine's activation service: where the service is, and the link
over the private local interface (``pydcom.wire.local``) through which an exporter registers
with it and asks it which OIDs are still pinged. The service plays the machine's object
resolver for the exporter (MS-DCOM 3.1.1.3, 3.1.1.6.2), as rpcss does for a Windows process.

Both the client runtime (the exporter of callbacks) and a server process (``LocalServer``) link
to their service through here.
"""

from __future__ import annotations

import os
import threading
import uuid

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import parse_machine_name
from pydcom.rpc import RpcClient
from pydcom.runtime.exporter import ObjectExporter
from pydcom.wire import local, object_exporter as oe
from pydcom.wire.dualstringarray import DualStringArray
from pydcom.wire.orpc import dualstringarray_ndr, dualstringarray_of

LINK_TIMEOUT = 30.0  # seconds this machine's service has to answer its server processes
ENV_SERVICE = "PYDCOM_SERVICE"


def service_endpoint(named: str | None = None) -> tuple[str, int]:
    """This machine's service: ``named``, else PYDCOM_SERVICE, else 127.0.0.1; written "host"
    or "host[port]" (port 135 unless named)."""
    return parse_machine_name(named or os.environ.get(ENV_SERVICE, "127.0.0.1"))


class ServiceLink:
    """The ResolverLink of an exporter whose resolver is the machine's service, over the private
    local interface (pydcom.wire.local)."""

    def __init__(self, endpoint: tuple[str, int], token: str = "") -> None:
        self.endpoint = endpoint
        self.token = token  # the launch token the service gave this process, or ""
        self.secret = uuid.UUID(int=0)  # the service's answer to the registration
        self._client = RpcClient(*endpoint, timeout=LINK_TIMEOUT)
        self._lock = threading.Lock()

    def _call(self, opnum: int, request) -> bytes:
        with self._lock:
            if self._client.closed:
                self._client = RpcClient(*self.endpoint, timeout=LINK_TIMEOUT)
            return self._client.call(local.SYNTAX, opnum, request.encode())

    def resolver_bindings(self) -> DualStringArray:
        """The resolver's own bindings, as OBJREFs must name them (ServerAlive2)."""
        with self._lock:
            stub = self._client.call(oe.SYNTAX, oe.OP_SERVER_ALIVE2, b"")
        return dualstringarray_of(oe.ServerAlive2Response.decode(stub).ppdsaOrBindings)

    def register_exporter(self, exporter: ObjectExporter) -> None:
        answer = local.RegisterServerResponse.decode(self._call(
            local.OP_REGISTER_SERVER, local.RegisterServerRequest(
                exporter.oxid, dualstringarray_ndr(exporter.bindings), exporter.ipid_rem_unknown,
                os.getpid(), self.token)))
        if answer.status:
            raise ComError(hresult.hresult_from_win32(answer.status), "registering with the service")
        exporter.ping_period = answer.pingPeriodMs / 1000
        self.secret = answer.secret

    def register_class(self, oxid: int, clsid: uuid.UUID) -> None:
        answer = oe.StatusResponse.decode(self._call(
            local.OP_REGISTER_CLASS, local.RegisterClassRequest(oxid, clsid, self.secret)))
        if answer.status:
            raise ComError(answer.status, f"registering class {clsid}")

    def revoke_class(self, oxid: int, clsid: uuid.UUID) -> None:
        self._call(local.OP_REVOKE_CLASS, local.RevokeClassRequest(oxid, clsid, self.secret))

    def register_oids(self, oxid: int, oids: list[int]) -> None:
        self._oids(local.OP_REGISTER_OIDS, oxid, oids)

    def forget_oids(self, oxid: int, oids: list[int]) -> None:
        self._oids(local.OP_FORGET_OIDS, oxid, oids)

    def _oids(self, opnum: int, oxid: int, oids: list[int]) -> None:
        answer = oe.StatusResponse.decode(self._call(
            opnum, local.OidsRequest(oxid, len(oids), oids, self.secret)))
        if answer.status:
            raise ComError(answer.status, "telling the service of OIDs")

    def live_oids(self, oxid: int, oids: list[int]) -> set[int]:
        answer = local.LiveOidsResponse.decode(self._call(
            local.OP_LIVE_OIDS, local.LiveOidsRequest(oxid, len(oids), oids, self.secret)))
        return set(answer.oids)

    def unregister_exporter(self, oxid: int) -> None:
        self._call(local.OP_UNREGISTER_SERVER, local.UnregisterServerRequest(oxid, self.secret))
        self._client.close()
