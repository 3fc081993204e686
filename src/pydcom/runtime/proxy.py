"""Proxies (MS-DCOM 3.2.4.4): a reference to an interface of a remote object, with IUnknown
over the Remote Unknown (RemQueryInterface, RemAddRef; releases batched), IClassFactory, and the
interface's ORPC methods callable by name.
"""

from __future__ import annotations

import functools
import struct
import threading
import uuid
from typing import Any, Protocol

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.ndr import NdrError
from pydcom.rpc import SyntaxId
from pydcom.rpc.errors import CallFailed, ServerUnavailable
from pydcom.runtime import causality
from pydcom.runtime.connections import Connections
from pydcom.runtime.endpoints import Endpoint
from pydcom.runtime.interfaces import (
    ORPCTHAT_LEAVES,
    ComInterface,
    Method,
    known_interface,
    syntax_of,
)
from pydcom.runtime.oxids import OxidInfo, OxidTable
from pydcom.runtime.pinger import Pinger
from pydcom.runtime.releases import ReleaseBatcher
from pydcom.wire import ids
from pydcom.wire.dualstringarray import DualStringArray, StringBinding
from pydcom.wire.errorinfo import error_info_of
from pydcom.wire.ids import COM_MAJOR_VERSION, COM_MINOR_VERSION
from pydcom.wire.objref import DEFAULT_PUBLIC_REFS, ObjRefStandard, StdObjRef
from pydcom.wire.orpc import REMINTERFACEREF, MInterfacePointer, orpcthis
from pydcom.wire.remunknown import (
    OP_REM_ADD_REF,
    OP_REM_QUERY_INTERFACE,
    REMUNKNOWN_SYNTAX,
    RemAddRefRequest,
    RemAddRefResponse,
    RemQueryInterfaceRequest,
    RemQueryInterfaceResponse,
)


class ProxyRuntime(Protocol):
    """What a proxy needs of the client runtime that made it (``ClientRuntime``)."""

    connections: Connections
    oxids: OxidTable
    pinger: Pinger
    releases: ReleaseBatcher

    def call(self, endpoint: Endpoint, syntax: SyntaxId, opnum: int, stub: bytes,
             object: uuid.UUID | None = None) -> bytes: ...
    def marshal(self, value: Any, iid: uuid.UUID) -> MInterfacePointer: ...
    def unmarshal_pointer(self, pointer: MInterfacePointer | None,
                          resolver_hint: Endpoint | None = None) -> Any: ...


def read_answer(method: Method, data: bytes) -> Any:
    """A method's decoded response; ComError for a failure HRESULT, with the server's error
    information when the ORPCTHAT carries a readable one (MS-DCOM 2.2.21.1)."""
    try:
        answer = method.response.decode(data)
    except NdrError:
        # The HRESULT is the last 4 bytes of every ORPC response (MS-DCOM 3.2.4.2): a failure
        # stays that failure, bare, when what comes before it cannot be read.
        code = struct.unpack_from("<I", data, len(data) - 4)[0] if len(data) >= 12 else 0
        if code & 0x80000000:
            raise ComError(code, f"{method.name} (the rest of its answer is unreadable)") from None
        raise
    code = getattr(answer, method.hresult_name)
    if code & 0x80000000:
        raise remote_error(code, method.name, getattr(answer, method.orpcthat_name))
    return answer


def remote_error(code: int, what: str, orpcthat: Any) -> ComError:
    """The ComError for a failed ORPC call: the HRESULT, and the source and description of the
    error information extension in the response's ORPCTHAT, when it has a readable one
    (MS-DCOM 2.2.21.1-2.2.21.3); otherwise the bare HRESULT."""
    info = error_info_of(orpcthat)
    if info is None:
        return ComError(code, what)
    said = ": ".join(text for text in (info.source, info.description) if text)
    return ComError(code, f"{what}: {said}" if said else what,
                    source=info.source, description=info.description)


class Proxy:
    """A reference to an interface of a remote object (MS-DCOM 3.2.4.4).

    ``query_interface``, ``add_ref`` and ``release`` follow IUnknown; methods of the interface,
    when it is a known ``ComInterface``, are callable by name. The proxy holds the public
    references its OBJREF granted and gives them back with its last release.
    """

    def __init__(self, runtime: ProxyRuntime, info: OxidInfo, iid: uuid.UUID, std: StdObjRef) -> None:
        self._runtime = runtime
        self._info = info
        self.iid = iid
        self.oid = std.oid
        self.ipid = std.ipid
        self._lock = threading.Lock()
        self._local_refs = 1
        self._public_refs = std.public_refs
        self._released = False
        self._pinged = not std.no_ping
        if self._pinged:
            runtime.pinger.add(info.resolver, std.oid)
        if not std.public_refs:  # MS-DCOM 3.2.4.4.1: get references before use
            self._add_remote_refs(DEFAULT_PUBLIC_REFS)

    # -- IUnknown --------------------------------------------------------------------------
    def query_interface(self, iid: uuid.UUID | str) -> "Proxy":
        """RemQueryInterface (MS-DCOM 3.2.4.4.3); E_NOINTERFACE if the object lacks it."""
        iid = uuid.UUID(str(iid))
        if iid == self.iid:
            self.add_ref()
            return self
        if self._released:
            raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
        [(code, proxy)] = self.remote_query([iid])
        if proxy is None:
            raise ComError(code, f"QueryInterface for {iid}")
        return proxy

    def remote_query(self, iids: list[uuid.UUID]) -> list[tuple[int, "Proxy | None"]]:
        """One RemQueryInterface for several IIDs, each answered with a new reference:
        (HRESULT, proxy or None) per IID (MS-DCOM 3.1.1.5.6.1.1)."""
        request = RemQueryInterfaceRequest(orpcthis(causality.outgoing()), self.ipid,
                                           DEFAULT_PUBLIC_REFS, len(iids), list(iids))
        answer = RemQueryInterfaceResponse.decode(self._call(
            REMUNKNOWN_SYNTAX, OP_REM_QUERY_INTERFACE, request.encode(), self._info.ipid_rem_unknown))
        if answer.hr:
            raise ComError(answer.hr, "RemQueryInterface")
        results = list(answer.ppQIResults or ())
        if len(results) != len(iids):
            raise ComError(hresult.RPC_E_UNEXPECTED, f"{len(results)} answers for {len(iids)} IIDs")
        found: list[tuple[int, Proxy | None]] = []
        for iid, result in zip(iids, results):
            if result.hResult:
                found.append((result.hResult, None))
                continue
            std = result.std
            found.append((hresult.S_OK, Proxy(self._runtime, self._info, iid, StdObjRef(
                std.flags, std.cPublicRefs, std.oxid, std.oid, std.ipid))))
        return found

    def add_ref(self) -> int:
        with self._lock:
            if self._released:
                raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
            self._local_refs += 1
            return self._local_refs

    def release(self) -> int:
        """Drop a local reference; the last one gives the remote references back (batched)."""
        with self._lock:
            if self._released:
                return 0
            self._local_refs -= 1
            if self._local_refs:
                return self._local_refs
            self._released = True
            refs, self._public_refs = self._public_refs, 0
        self._runtime.releases.queue(self._info, self.ipid, refs)
        if self._pinged:
            self._runtime.pinger.remove(self._info.resolver, self.oid)
        return 0

    def __del__(self) -> None:
        try:
            if not self._released and self._public_refs:
                self._local_refs = 1
                self.release()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def _add_remote_refs(self, count: int) -> None:
        request = RemAddRefRequest(orpcthis(causality.outgoing()), 1,
                                   [REMINTERFACEREF(self.ipid, count, 0)])
        answer = RemAddRefResponse.decode(self._call(
            REMUNKNOWN_SYNTAX, OP_REM_ADD_REF, request.encode(), self._info.ipid_rem_unknown))
        code = answer.hr or (answer.pResults[0] if answer.pResults else hresult.E_UNEXPECTED)
        if code:
            raise ComError(code, "RemAddRef")
        with self._lock:
            self._public_refs += count

    def _call(self, syntax: SyntaxId, opnum: int, stub: bytes, ipid: uuid.UUID) -> bytes:
        """A call on the object's exporter. When the exporter is gone but its machine answers,
        the object is disconnected (RPC_E_DISCONNECTED); when the machine does not answer
        either, the failure stays RPC_S_SERVER_UNAVAILABLE."""
        try:
            return self._runtime.call(self._info.endpoint, syntax, opnum, stub, ipid)
        except (ServerUnavailable, CallFailed) as exc:
            # A connection that broke under the call is also the exporter's death when the
            # exporter no longer takes connections.
            if isinstance(exc, CallFailed) and self._runtime.connections.alive(self._info.endpoint):
                raise
            if not self._runtime.oxids.resolver_alive(self._info.resolver):
                raise
            raise ComError(hresult.RPC_E_DISCONNECTED,
                           f"the exporter of this object at {self._info.endpoint[0]}"
                           f"[{self._info.endpoint[1]}] is gone") from None

    # -- IClassFactory, with the names of pydcom.runtime.unknown.ClassFactory ------------------
    def create_instance(self, iid: uuid.UUID | str = ids.IID_IUnknown, outer: Any = None) -> "Proxy":
        """IClassFactory::CreateInstance; aggregation does not cross machines."""
        if outer is not None:
            raise ComError(hresult.CLASS_E_NOAGGREGATION, "aggregation across processes")
        return self._class_factory_call("CreateInstance", uuid.UUID(str(iid)))

    def lock_server(self, lock: bool) -> None:
        self._class_factory_call("LockServer", 1 if lock else 0)

    def _class_factory_call(self, name: str, *args: Any) -> Any:
        if self.iid != ids.IID_IClassFactory:
            raise ComError(hresult.E_NOINTERFACE, f"{name} needs IClassFactory")
        interface = known_interface(ids.IID_IClassFactory)
        return self.invoke(interface.by_name(name), *args)

    # -- passing the reference on (MS-DCOM 3.2.4.3) ----------------------------------------------
    def _marshal_objref_(self, iid: uuid.UUID) -> ObjRefStandard:
        if iid != self.iid:
            return self.query_interface(iid)._give_away()
        return self._give_away()

    def detach(self) -> ObjRefStandard:
        """This reference as an OBJREF carrying every public reference the proxy holds; the
        proxy is done (a reference handed on whole, as an activator hands it to its client)."""
        with self._lock:
            if self._released:
                raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
            self._released = True
            refs, self._public_refs = self._public_refs, 0
        if self._pinged:
            self._runtime.pinger.remove(self._info.resolver, self.oid)
        return ObjRefStandard(self.iid, StdObjRef(0, refs, self._info.oxid, self.oid, self.ipid),
                              DualStringArray((StringBinding.tcp(*self._info.resolver),)))

    def _give_away(self) -> ObjRefStandard:
        with self._lock:
            spare = self._public_refs > 1
            if spare:
                self._public_refs -= 1
        if not spare:
            self._add_remote_refs(DEFAULT_PUBLIC_REFS)
            with self._lock:
                self._public_refs -= 1
        resolver = DualStringArray((StringBinding.tcp(*self._info.resolver),))
        return ObjRefStandard(self.iid, StdObjRef(0, 1, self._info.oxid, self.oid, self.ipid), resolver)

    # -- calls ---------------------------------------------------------------------------------
    @property
    def interface(self) -> ComInterface | None:
        return known_interface(self.iid)

    def invoke(self, method: Method, *args: Any) -> Any:
        """Call an ORPC method: the [in] values after ORPCTHIS in order; returns the [out]
        values between ORPCTHAT and the HRESULT (one value, a tuple, or None)."""
        if self._released:
            raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
        ins = method.ins
        if len(args) != len(ins):
            raise ComError(hresult.E_INVALIDARG, f"{method.name} takes {len(ins)} arguments")
        flat = method.flat
        if flat is not None:  # numbers in, numbers out: one struct call each way
            try:
                stub = flat[0].pack(COM_MAJOR_VERSION, COM_MINOR_VERSION, 0, 0,
                                    causality.outgoing(), 0, *args)
            except struct.error as exc:
                raise ComError(hresult.E_INVALIDARG, f"{method.name}: {exc}") from None
            data = self._call(syntax_of(self.iid), method.opnum, stub, self.ipid)
            leaves = flat[1].unpack(data)
            if leaves is not None:
                code = leaves[-1]
                if code & 0x80000000:
                    raise ComError(code, method.name)
                outs = leaves[ORPCTHAT_LEAVES:-1]
                return None if not outs else outs[0] if len(outs) == 1 else outs
            return self._answer(method, data)  # an answer with extensions: read it whole
        values = [orpcthis(causality.outgoing())]
        for (name, pointer), value in zip(ins, args):
            if pointer and value is not None and not isinstance(value, MInterfacePointer):
                value = self._runtime.marshal(value, method.in_iids.get(name, ids.IID_IUnknown))
            values.append(value)
        stub = method.request(*values).encode()
        return self._answer(method, self._call(syntax_of(self.iid), method.opnum, stub,
                                               self.ipid))

    def _answer(self, method: Method, data: bytes) -> Any:
        """The [out] values of a method's response; ComError for a failure HRESULT."""
        answer = read_answer(method, data)
        outs = []
        for name, _, pointer in method.outs:
            value = getattr(answer, name)
            if pointer:
                value = self._runtime.unmarshal_pointer(value, self._info.resolver)
            outs.append(value)
        return None if not outs else outs[0] if len(outs) == 1 else tuple(outs)

    def __getattr__(self, name: str) -> Any:
        interface = known_interface(self.__dict__.get("iid")) if "iid" in self.__dict__ else None
        method = interface.by_name(name) if interface is not None else None
        if method is None:
            raise AttributeError(name)
        return functools.partial(self.invoke, method)

    def __repr__(self) -> str:
        name = self.interface.name if self.interface else str(self.iid)
        return f"<Proxy {name} ipid={self.ipid} at {self._info.endpoint[0]}[{self._info.endpoint[1]}]>"
