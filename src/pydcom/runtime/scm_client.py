"""The MS-DCOM client of a machine's SCM (MS-DCOM 3.2.4.1.1): ``remote_activate`` asks a
machine's activation service, through IRemoteSCMActivator, for a new object or a class object
and turns its answer into proxies; ``DcomActivator`` plugs it into the activation API as the
out-of-process step (``pydcom.runtime.out_of_process``): a LOCAL_SERVER plan goes to this
machine's service, a REMOTE_SERVER plan to the service of the machine it names.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.memo import Memo
from pydcom.runtime.client import ClientRuntime, client_runtime
from pydcom.runtime.clsctx import CLSCTX
from pydcom.runtime.endpoints import Endpoint, pick_endpoint
from pydcom.runtime.interfaces import syntax_of
from pydcom.runtime.multiqi import MultiQI
from pydcom.runtime.oxids import OxidInfo
from pydcom.runtime.proxy import Proxy
from pydcom.runtime.resolve import ActivationPlan
from pydcom.runtime.service_link import service_endpoint
from pydcom.wire import iremotescmactivator as scm
from pydcom.wire.activation_properties import ActivationReply, ActivationRequest, client_context
from pydcom.wire.errors import WireError
from pydcom.wire.orpc import dualstringarray_of, orpcthis
from pydcom.wire.remunknown import REMUNKNOWN_SYNTAX


def remote_activate(runtime: ClientRuntime, endpoint: Endpoint, clsid: uuid.UUID,
                    iids: list[uuid.UUID] | tuple[uuid.UUID, ...], *, class_object: bool = False,
                    server_name: str | None = None) -> list[tuple[int, Proxy | None]]:
    """RemoteCreateInstance, or RemoteGetClassObject with ``class_object``, on the service at
    ``endpoint``: one (HRESULT, proxy or None) per IID. ComError for a failure of the whole
    activation, with the HRESULT the service returned (or the RPC failure's)."""
    # Connect and bind while the request is made; an unreachable machine is reported here.
    runtime.connections.prepare(endpoint, [scm.SCM_SYNTAX], quiet=False)
    properties = _request_properties(clsid, tuple(iids), server_name or endpoint[0])
    if class_object:
        params = scm.RemoteGetClassObjectRequest(orpcthis(), properties)
        opnum = scm.OP_REMOTE_GET_CLASS_OBJECT
    else:
        params = scm.RemoteCreateInstanceRequest(orpcthis(), None, properties)
        opnum = scm.OP_REMOTE_CREATE_INSTANCE
    answer = scm.RemoteActivationPropertiesResponse.decode(
        runtime.call(endpoint, scm.SCM_SYNTAX, opnum, params.encode()))
    if answer.hr & 0x80000000 and answer.ppActProperties is None:
        raise ComError(answer.hr, f"activating {clsid} at {endpoint[0]}[{endpoint[1]}]")
    try:
        reply = ActivationReply.decode(answer.ppActProperties)
    except WireError as exc:
        raise ComError(hresult.RPC_E_INVALID_OBJREF, f"activation reply: {exc}") from None
    bindings = dualstringarray_of(reply.oxid_bindings)
    exporter = pick_endpoint(bindings, endpoint[0])
    auth = runtime.credentials.for_host(endpoint[0])
    if auth is not None and exporter[0] != endpoint[0]:  # the machine's exporters: the same
        runtime.credentials.remember(exporter[0], auth)
    granted = [iid for code, iid, pointer in zip(reply.results, reply.iids, reply.interfaces)
               if not code and pointer is not None]
    if granted:  # the next calls go there: bind while the proxies are made
        runtime.connections.prepare(exporter, [syntax_of(iid) for iid in granted] + [REMUNKNOWN_SYNTAX])
    runtime.oxids.learn(OxidInfo(reply.oxid, exporter, reply.ipid_rem_unknown,
                                (reply.server_version.MajorVersion, reply.server_version.MinorVersion),
                                endpoint))
    results: list[tuple[int, Proxy | None]] = []
    for code, pointer in zip(reply.results, reply.interfaces):
        if code or pointer is None:
            results.append((code or hresult.E_NOINTERFACE, None))
        else:
            results.append((hresult.S_OK, runtime.unmarshal_pointer(pointer, endpoint)))
    if all(proxy is None for _, proxy in results):
        raise ComError(answer.hr if answer.hr & 0x80000000 else results[0][0],
                       f"activating {clsid} at {endpoint[0]}[{endpoint[1]}]")
    return results


_requests = Memo(1024)  # (CLSID, IIDs, target) -> request BLOB
_lock = threading.Lock()
_process_context: bytes | None = None


def _forget_process_context() -> None:
    global _process_context
    _process_context = None
    _requests.clear()


os.register_at_fork(after_in_child=_forget_process_context)  # a child is a new process


def _request_properties(clsid: uuid.UUID, iids: tuple[uuid.UUID, ...], server_name: str) -> bytes:
    """The activation properties of a request, built once per class, IIDs and target. A process
    has one client context (its one apartment's default context, as on Windows), so the rest
    never changes. Like Windows, the target is named in SecurityInfo: six properties in all
    (MS-DCOM <34>-<36>)."""
    global _process_context
    with _lock:
        if _process_context is None:
            _process_context = client_context()
        key = (clsid, iids, server_name)
        found = _requests.get(key)
        if found is None:
            found = _requests.keep(key, ActivationRequest(
                clsid, iids, server_name=server_name, client_context=_process_context).encode())
        return found


class DcomActivator:
    """Activation in other processes and on other machines, through their services."""

    def __init__(self, runtime: ClientRuntime | None = None, local_service: str | None = None) -> None:
        self._runtime = runtime
        self._local_service = local_service

    @property
    def runtime(self) -> ClientRuntime:
        return self._runtime or client_runtime()

    def endpoint(self, plan: ActivationPlan) -> Endpoint:
        """The service that carries out ``plan``: the named machine's, or this machine's
        (PYDCOM_SERVICE, "host" or "host[port]"; 127.0.0.1[135] by default)."""
        if plan.context == CLSCTX.REMOTE_SERVER and plan.server is not None:
            if plan.server.auth is not None:
                self.runtime.credentials.remember(plan.server.host, plan.server.auth)
            return plan.server.host, plan.server.port
        return service_endpoint(self._local_service)

    def get_class_object(self, plan: ActivationPlan, iid: uuid.UUID) -> Proxy:
        endpoint = self.endpoint(plan)
        [(code, proxy)] = remote_activate(self.runtime, endpoint, plan.clsid, [iid],
                                          class_object=True, server_name=endpoint[0])
        if proxy is None:
            raise ComError(code, f"class object of {plan.clsid} as {iid}")
        return proxy

    def create_instance(self, plan: ActivationPlan, iids: Sequence[uuid.UUID]) -> list[MultiQI]:
        endpoint = self.endpoint(plan)
        results = remote_activate(self.runtime, endpoint, plan.clsid, list(iids),
                                  server_name=endpoint[0])
        return [MultiQI(iid, code if proxy is None else hresult.S_OK, proxy)
                for iid, (code, proxy) in zip(iids, results)]
