"""The client side of remote activation (MS-DCOM 3.2.4.1.1): ask a machine's service for a new
object or a class object, and turn its answer into proxies.
"""

from __future__ import annotations

import threading
import uuid
import weakref

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.runtime.client import ClientRuntime, Endpoint, OxidInfo, Proxy, pick_endpoint
from pydcom.wire import scm
from pydcom.wire.activation import ActivationReply, ActivationRequest, client_context
from pydcom.wire.errors import WireError
from pydcom.wire.orpc import dualstringarray_of, orpcthis


def remote_activate(runtime: ClientRuntime, endpoint: Endpoint, clsid: uuid.UUID,
                    iids: list[uuid.UUID] | tuple[uuid.UUID, ...], *, class_object: bool = False,
                    server_name: str | None = None) -> list[tuple[int, Proxy | None]]:
    """RemoteCreateInstance, or RemoteGetClassObject with ``class_object``, on the service at
    ``endpoint``: one (HRESULT, proxy or None) per IID. ComError for a failure of the whole
    activation, with the HRESULT the service returned (or the RPC failure's)."""
    properties = _request_properties(runtime, clsid, tuple(iids), server_name or endpoint[0])
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
    runtime.learn_oxid(OxidInfo(reply.oxid, pick_endpoint(bindings, endpoint[0]),
                                reply.ipid_rem_unknown,
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


_REQUESTS_LIMIT = 1024
_requests: dict[tuple, object] = {}
_contexts: "weakref.WeakKeyDictionary[ClientRuntime, bytes]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _request_properties(runtime: ClientRuntime, clsid: uuid.UUID, iids: tuple[uuid.UUID, ...],
                        server_name: str):
    """The activation properties of a request, built once per class, IIDs and target: a
    process sends one client context, as Windows does, so the rest never changes. Like Windows,
    the target is named in SecurityInfo: six properties in all (MS-DCOM <34>-<36>)."""
    with _lock:
        context = _contexts.get(runtime)
        if context is None:
            context = _contexts[runtime] = client_context()
        key = (clsid, iids, server_name, context)
        found = _requests.get(key)
        if found is None:
            if len(_requests) >= _REQUESTS_LIMIT:
                _requests.clear()
            found = _requests[key] = ActivationRequest(
                clsid, iids, server_name=server_name, client_context=context).encode()
        return found
