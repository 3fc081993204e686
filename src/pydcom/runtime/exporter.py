"""The object exporter: the objects a process serves to other machines (MS-DCOM 3.1.1).

``ObjectExporter`` is one OXID: its RPC endpoints, the objects it marshals into OBJREFs
(3.1.1.5.1) and unmarshals (3.1.1.5.3), and the dispatch of ORPC calls addressed by IPID to
their Python objects (3.1.1.5.4), each where its threading model says, with the error
information a failure sends back (2.2.21). It owns, and builds on:

- ``export_tables``: the IPID and OID tables and their reference counts (3.1.1.1);
- ``remunknown_server``: IRemUnknown and IRemUnknown2 (3.1.1.5.6-7);
- ``collection``: reclaiming objects whose clients stopped pinging (3.1.1.6.2).
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import struct
import threading
import uuid
from typing import Any, Callable, Iterable, Protocol

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.ndr import NdrError
from pydcom.rpc import Interface, RpcFault, RpcServer
from pydcom.rpc.addresses import advertised
from pydcom.rpc.calls import CallReceived
from pydcom.rpc.constants import NCA_S_OP_RNG_ERROR, NCA_S_UNK_IF
from pydcom.rpc.security import ServerAuth
from pydcom.runtime import causality
from pydcom.runtime.apartment import APARTMENT, Apartment, threading_model
from pydcom.runtime.coclass import coclass_entry
from pydcom.runtime.collection import Collector
from pydcom.runtime.credentials import security_bindings
from pydcom.runtime.export_tables import THIS_PROCESS, ExportTables
from pydcom.runtime.interfaces import (
    ORPCTHIS_LEAVES,
    ComInterface,
    dual_interface,
    known_interface,
    zero_value,
)
from pydcom.runtime.orpc_checks import check_orpcthis, check_version
from pydcom.runtime.remunknown_server import RemUnknownServer
from pydcom.wire import ids
from pydcom.wire.dualstringarray import DualStringArray, StringBinding
from pydcom.wire.errorinfo import ErrorInfo
from pydcom.wire.errors import WireError
from pydcom.wire.objref import DEFAULT_PUBLIC_REFS, SORF_NOPING, ObjRef, ObjRefStandard, StdObjRef
from pydcom.wire.orpc import ORPCTHAT, MInterfacePointer, interface_pointer, objref_of
from pydcom.wire.remunknown import REMUNKNOWN2_SYNTAX, REMUNKNOWN_SYNTAX

log = logging.getLogger("pydcom.runtime")

DEFAULT_PING_PERIOD = 120.0  # MS-DCOM 3.1.2.2: SHOULD be exactly 2 minutes


class ResolverLink(Protocol):
    """What an exporter needs of its machine's object resolver (MS-DCOM 3.1.1.3, 3.1.1.6.2)."""

    def register_exporter(self, exporter: "ObjectExporter") -> None: ...
    def register_oids(self, oxid: int, oids: list[int]) -> None: ...
    def forget_oids(self, oxid: int, oids: list[int]) -> None: ...
    def live_oids(self, oxid: int, oids: list[int]) -> set[int]: ...
    def unregister_exporter(self, oxid: int) -> None: ...


def caller_identity() -> str:
    """Whom this thread deals with for references: the identity of the caller of the call
    it serves, or THIS_PROCESS outside any call."""
    security = causality.security()
    return security.identity if security is not None else THIS_PROCESS


class ClassObject:
    """A class object (class factory) this process registered: IClassFactory over a Python class,
    the CoRegisterClassObject role (MS-DCOM 3.1.2.1 CLSID table)."""

    _reg_threading_ = "both"

    def __init__(self, clsid: uuid.UUID, factory: Callable[[], Any]) -> None:
        self.clsid = clsid
        self.factory = factory
        self.locks = 0
        self._lock = threading.Lock()

    def CreateInstance(self, riid: uuid.UUID) -> Any:
        return self.factory()

    def LockServer(self, lock: int) -> None:
        with self._lock:
            self.locks += 1 if lock else -1 if self.locks else 0


def supported_iids(obj: Any, declared: tuple[uuid.UUID, ...] = ()) -> frozenset[uuid.UUID]:
    """The IIDs an exported Python object answers QueryInterface for, each one it serves:
    IUnknown; IClassFactory for a class object, IDispatch for any other (once automation is
    loaded) whose class does not set ``_dispatch_ = False``; those its class lists in
    ``_com_interfaces_`` (pywin32's name) or in its ``@coclass`` metadata, and ``declared``
    (the registry's Interface list), when their methods are known or, as dual interfaces,
    served through IDispatch."""
    if "_com_interfaces_" in getattr(obj, "__dict__", ()):  # the object's own list
        return _iids_of(type(obj), obj._com_interfaces_, declared)
    return _class_iids(type(obj), declared)


@functools.lru_cache(maxsize=1024)  # asked at every activation and QueryInterface
def _class_iids(cls: type, declared: tuple[uuid.UUID, ...]) -> frozenset[uuid.UUID]:
    return _iids_of(cls, getattr(cls, "_com_interfaces_", ()), declared)


def _iids_of(cls: type, listed: Iterable, declared: tuple[uuid.UUID, ...]
             ) -> frozenset[uuid.UUID]:
    iids = set(declared)
    for item in listed:
        iids.add(item.iid if isinstance(item, ComInterface) else uuid.UUID(str(item)))
    entry = coclass_entry(cls)
    if entry is not None:
        iids.update(entry.interfaces)
    dual = dual_interface()
    served = {iid for iid in iids if known_interface(iid) is not None or dual is not None}
    served.add(ids.IID_IUnknown)
    if issubclass(cls, ClassObject):
        served.add(ids.IID_IClassFactory)
        served.discard(ids.IID_IDispatch)
    elif dual is not None and getattr(cls, "_dispatch_", True):  # False: a plain COM object
        served.add(dual.iid)
    return frozenset(served)


class ObjectExporter:
    """One process's object exporter (MS-DCOM 3.1.1): an OXID, its tables, its RPC endpoints."""

    def __init__(self, hosts: Iterable[str] = ("127.0.0.1",), *,
                 resolver_bindings: DualStringArray | None = None,
                 resolver: ResolverLink | None = None,
                 ping_period: float = DEFAULT_PING_PERIOD,
                 unmarshal_remote: Callable[[ObjRef], Any] | None = None,
                 auth: ServerAuth | None = None) -> None:
        """``auth``: NTLM and the least level a call on an exported object needs (None: no
        authentication, every call taken)."""
        self.oxid = secrets.randbits(64) or 1
        self.auth = auth
        self.ipid_rem_unknown = uuid.uuid4()
        self.ping_period = ping_period
        self.resolver_bindings = resolver_bindings or DualStringArray()
        self._resolver = resolver
        self._unmarshal_remote = unmarshal_remote
        self._lock = threading.Lock()  # of what the exporter knows of classes and interfaces
        self._tables = ExportTables()
        self._apartment: Apartment | None = None
        # IIDs served, each to the object it was first served as: the IPID entries that
        # ``marshal`` makes hold that one, so that a call's check is an identity test.
        self._served: dict[uuid.UUID, uuid.UUID] = {}
        self._stubs: dict[Any, Callable[[Any, CallReceived], bytes]] = {}  # by stub factory
        # What the registry says of a class beyond what the class says of itself.
        self._declared: dict[type, tuple[tuple[uuid.UUID, ...], str | None]] = {}
        self._models: dict[type, str] = {}  # threading models worked out, replaced whole
        self._servers = [RpcServer(host, 0, name="exporter", auth=auth).start() for host in hosts]
        rem_unknown = RemUnknownServer(self._tables, self.oxid, self.ipid_rem_unknown,
                                       self.resolver_bindings, self.supported_iids,
                                       self._serve_orpc)
        self._serve(REMUNKNOWN_SYNTAX.uuid, rem_unknown.operations())
        self._serve(REMUNKNOWN2_SYNTAX.uuid, rem_unknown.operations2())
        if resolver is not None:
            resolver.register_exporter(self)  # which may set the ping period
        self.collector = Collector(self._tables, self.oxid, resolver, lambda: self.ping_period)
        self.collector.start()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def bindings(self) -> DualStringArray:
        """The exporter's string bindings, "host[port]" (MS-DCOM 2.2.19.3), and its security
        bindings (2.2.19.4)."""
        return DualStringArray(tuple(StringBinding.tcp(address, s.address[1])
                                     for s in self._servers for address in advertised(s.address[0])),
                               security_bindings(self.auth))

    def close(self) -> None:
        self.collector.close()
        if self._resolver is not None:
            try:
                self._resolver.unregister_exporter(self.oxid)
            except Exception:  # noqa: BLE001 - the resolver may be gone already
                log.debug("resolver did not take the exporter's goodbye", exc_info=True)
        for server in self._servers:
            server.close()
        if self._apartment is not None:
            self._apartment.close()

    def declare_class(self, cls: type, interfaces: tuple[uuid.UUID, ...] = (),
                      threading: str | None = None) -> None:
        """Registry facts about a class: more IIDs its objects answer, its threading model."""
        with self._lock:
            self._declared = {**self._declared, cls: (tuple(interfaces), threading)}
            self._models = {}

    def supported_iids(self, target: Any) -> frozenset[uuid.UUID]:
        declared = self._declared.get(type(target))
        return supported_iids(target, declared[0] if declared else ())

    def threading_model(self, target: Any) -> str:
        """"apartment" or a concurrent model, a class's (ThreadingModel is per CLSID): the
        registry's word first, then the class's own."""
        model = self._models.get(type(target))  # an object's class, known: the common case
        if model is not None:
            return model
        cls = target if isinstance(target, type) else type(target)
        model = self._models.get(cls)
        if model is not None:
            return model
        with self._lock:  # with declare_class's: a model is never kept from older facts
            declared = self._declared.get(cls)
            entry = coclass_entry(cls)
            if declared and declared[1]:
                model = declared[1].lower()
            elif entry is not None and not hasattr(cls, "_reg_threading_"):
                model = entry.threading_model.value.lower()
            else:
                model = threading_model(cls)
            self._models = {**self._models, cls: model}
        return model

    def serve_interface(self, interface: Interface) -> None:
        """Serve a native RPC interface beside the ORPC ones, on the exporter's endpoints."""
        for server in self._servers:
            server.register(interface)

    # -- serving interfaces ------------------------------------------------------------------
    def _serve(self, iid: uuid.UUID, operations: dict) -> None:
        """Listen on an interface (rpc_server_register_if, MS-DCOM 3.1.1.5.1)."""
        if iid in self._served:
            return
        self._served[iid] = iid
        self.serve_interface(Interface.of(iid, operations))

    def _serve_orpc(self, iid: uuid.UUID) -> None:
        if iid in self._served:
            return
        interface = known_interface(iid)
        if interface is None:  # a declared IID without methods of its own: a dual interface
            dual = dual_interface()
            interface = dual.renamed(iid) if dual is not None else None
        operations = {}
        if interface is not None:
            with self._lock:
                if interface.stub is not None and interface.stub not in self._stubs:
                    self._stubs = {**self._stubs, interface.stub: interface.stub(self)}
            dispatch = self._dispatcher(iid, interface)
            for method in interface.methods:
                operations[method.opnum] = dispatch
        self._serve(iid, operations)

    def _dispatcher(self, iid: uuid.UUID, interface: ComInterface
                    ) -> Callable[[CallReceived], bytes]:
        return lambda call: self.invoke(iid, call, interface)

    # -- marshaling (MS-DCOM 3.1.1.5.1, 3.1.1.5.3) --------------------------------------------
    def marshal(self, target: Any, iid: uuid.UUID = ids.IID_IUnknown,
                refs: int = DEFAULT_PUBLIC_REFS, pinned: bool = False,
                owner: str | None = None) -> ObjRefStandard:
        """An OBJREF_STANDARD for ``target`` as ``iid`` (MS-DCOM 3.1.1.5.1).

        ``pinned`` objects (class objects this process registered) live as long as the process
        does: they are marshaled SORF_NOPING, so nobody pings them. E_NOINTERFACE if the object
        does not answer to ``iid``. The ``refs`` public references are ``owner``'s, the client
        identity it is exported for (by default the caller of the call being served; outside
        any call, THIS_PROCESS): only it gives them back. A new object counts against
        ``owner``'s share.
        """
        if iid not in self.supported_iids(target):
            raise ComError(hresult.E_NOINTERFACE, f"{type(target).__name__} does not implement {iid}")
        self._serve_orpc(iid)
        iid = self._served[iid]  # the one object _serve_orpc keeps for it
        if owner is None:
            owner = caller_identity()
        entry, new = self._tables.add(target, iid, refs, pinned, owner)
        if new and not pinned and self._resolver is not None:
            # Before the OBJREF leaves: the resolver takes pings only for OIDs it was told of
            # (MS-DCOM 3.1.2.5.1.3).
            self._resolver.register_oids(self.oxid, [entry.oid])
        std = StdObjRef(SORF_NOPING if pinned else 0, refs, self.oxid, entry.oid, entry.ipid)
        return ObjRefStandard(iid, std, self.resolver_bindings)

    def marshal_pointer(self, target: Any, iid: uuid.UUID) -> MInterfacePointer | None:
        """``marshal`` into the MInterfacePointer an ORPC parameter carries; None for None.
        A proxy of another exporter's object is passed on as its own reference."""
        if target is None:
            return None
        to_objref = getattr(target, "_marshal_objref_", None)
        if to_objref is not None:
            return interface_pointer(to_objref(iid))
        return interface_pointer(self.marshal(target, iid))

    def unmarshal(self, objref: ObjRef) -> Any:
        """The object an OBJREF names (MS-DCOM 3.1.1.5.3): ours by its IPID, or a proxy. The
        references one of ours carries are given back from those of whoever sent it: the
        caller of the call being served, or this process outside any."""
        if isinstance(objref, ObjRefStandard) and objref.std.oxid == self.oxid:
            return self._tables.take_back(objref.std.ipid, objref.std.public_refs,
                                          caller_identity())
        if self._unmarshal_remote is None:
            raise ComError(hresult.RPC_E_INVALID_OBJREF, "no client runtime to unmarshal with")
        return self._unmarshal_remote(objref)

    def unmarshal_pointer(self, pointer: MInterfacePointer | None) -> Any:
        if pointer is None:
            return None
        try:
            return self.unmarshal(objref_of(pointer))
        except WireError as exc:
            raise ComError(hresult.RPC_E_INVALID_OBJREF, str(exc)) from None

    def revoke(self, target: Any) -> None:
        """Stop exporting an object at once, whatever its references (CoDisconnectObject)."""
        self._tables.revoke(target)

    @property
    def object_count(self) -> int:
        """Objects exported now, class objects excluded."""
        return self._tables.object_count

    def exported(self, target: Any) -> bool:
        return self._tables.exported(target)

    # -- ORPC calls --------------------------------------------------------------------------
    def invoke(self, iid: uuid.UUID, call: CallReceived, interface: ComInterface) -> bytes:
        """An ORPC call on an exported object (MS-DCOM 3.1.1.5.4), on ``interface``, the one
        served as ``iid``."""
        found = self._tables.called(call.object)
        if found is None:
            raise RpcFault(hresult.RPC_E_DISCONNECTED, f"no IPID {call.object}")
        entry, target = found
        if entry.iid is not iid and entry.iid != iid:
            raise RpcFault(NCA_S_UNK_IF, f"IPID {entry.ipid} is {entry.iid}, not {iid}")
        method = interface.method(call.opnum)
        if method is None:
            raise RpcFault(NCA_S_OP_RNG_ERROR, did_not_execute=True)
        if interface.stub is not None:
            return self._stubs[interface.stub](target, call)
        flat = method.flat
        if flat is not None:
            leaves = flat[0].unpack(call.stub)
            if leaves is not None:  # numbers in, numbers out: one struct call each way
                check_version((leaves[0], leaves[1]), leaves[2])
                args = leaves[ORPCTHIS_LEAVES:]
                try:
                    outs, hr = self.run_in_context(target, leaves[4], call.security,
                                                   self._call_method, target, method, args)
                except _Explained as failure:  # its ORPCTHAT has an extension: the declared codec
                    return failure.response(method, iid)
                try:
                    return flat[1].pack(0, 0, *outs, hr)
                except struct.error as exc:
                    raise NdrError(f"{method.name} returned what its [out] types cannot hold: "
                                   f"{exc}") from None
        # Bytes after the last parameter are ignored, as Windows ignores them: j-Interop's
        # calls carry 16 more (and impacket's GetTypeInfoCount 4).
        request = method.request.decode(call.stub, exact=False)
        check_orpcthis(request.orpcthis, orpc=True)
        return self.run_in_context(target, request.orpcthis.cid.bytes_le, call.security,
                                   self._run_method, target, method, request, iid)

    def run_in_context(self, target: Any, cid: bytes, security: Any, fn: Callable[..., Any],
                       *args: Any) -> Any:
        """Run ``fn(*args)``, the work of an ORPC call on ``target`` whose ORPCTHIS was checked,
        where ``target`` lives (on the apartment's thread for "Apartment" objects), carrying
        the call's causality id ``cid`` (its wire form) and its caller's ``security``."""
        # The model of a known class read here, without threading_model's call: this runs for
        # every ORPC call; and the arguments passed on, not wrapped in a closure per call.
        model = self._models.get(type(target)) or self.threading_model(target)
        if model == APARTMENT:
            return self._apartment_for().call(causality.run, cid, security, fn, *args, cid=cid)
        return causality.run(cid, security, fn, *args)

    def run_in_apartment_of(self, cls: Any, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` where objects of ``cls`` live: the apartment thread for "Apartment"."""
        if self.threading_model(cls) == APARTMENT:
            return self._apartment_for().call(fn)
        return fn()

    def _apartment_for(self) -> Apartment:
        with self._lock:
            if self._apartment is None:
                self._apartment = Apartment("exporter-sta")
            return self._apartment

    def _run_method(self, target: Any, method, request, iid: uuid.UUID) -> bytes:
        """Call the Python method with the decoded request; the encoded response."""
        args = [self.unmarshal_pointer(getattr(request, name)) if pointer
                else getattr(request, name) for name, pointer in method.ins]
        riid = getattr(request, "riid", ids.IID_IUnknown)
        try:
            values, hr = self._call_method(target, method, args, riid)
        except _Explained as failure:
            return failure.response(method, iid)
        return _response(method, ORPCTHAT(), values, hr)

    def _call_method(self, target: Any, method, args: Any,
                     riid: uuid.UUID = ids.IID_IUnknown) -> tuple[list, int]:
        """Call the Python method: its [out] values (interface pointers marshaled, as
        ``riid`` where the declaration says so) and the HRESULT. A ComError is its HRESULT,
        any other exception RPC_E_SERVERFAULT, and after a failure every [out] value is zero
        (MS-DCOM 3.2.4.2). A failure with something to tell the client (a Python exception, a
        ComError with text) raises _Explained instead."""
        outs = method.outs
        values: list = []
        try:
            result = getattr(target, method.name)(*args)
            given = () if not outs else (result,) if len(outs) == 1 else result
            for (name, _, pointer), value in zip(outs, given):
                if pointer:
                    value = self.marshal_pointer(value, method.out_iids.get(name) or riid)
                values.append(value)
            hr = hresult.S_OK
        except ComError as exc:
            values, hr = [], exc.hresult
            if exc.hresult & 0x80000000 and (exc.description or exc.detail or exc.source):
                raise _Explained(_zeros(outs), hr, exc) from None
        except Exception as exc:  # noqa: BLE001 - a server exception is RPC_E_SERVERFAULT
            # The client gets the type and message; the whole traceback stays here.
            log.debug("%s.%s raised", type(target).__name__, method.name, exc_info=True)
            raise _Explained(_zeros(outs), hresult.RPC_E_SERVERFAULT, exc) from None
        for _, kind, _ in outs[len(values):]:
            values.append(zero_value(kind))
        return values, hr

class _Explained(Exception):
    """A served method's failure with something to tell its client: the zeroed [out] values,
    the HRESULT and what was raised. Raised rather than returned, so that the success path,
    one struct call each way, is what it was without error information."""

    def __init__(self, values: list, hr: int, cause: BaseException) -> None:
        super().__init__(hr)
        self.values = values
        self.hr = hr
        self.cause = cause

    def response(self, method, iid: uuid.UUID) -> bytes:
        """The response, its ORPCTHAT carrying the error information (MS-DCOM 2.2.21.1);
        ``iid`` is the interface that was called."""
        cause = self.cause
        info = comerror_info(cause, iid) if isinstance(cause, ComError) else \
            exception_info(cause, iid)
        return _response(method, info.orpcthat(), self.values, self.hr)


def _zeros(outs) -> list:
    return [zero_value(kind) for _, kind, _ in outs]


def _response(method, orpcthat: ORPCTHAT, values: list, hr: int) -> bytes:
    """A method's response through its declared codec: ORPCTHAT, the [out] values, the HRESULT."""
    response = method.response(orpcthat)
    for (name, _, _), value in zip(method.outs, values):
        setattr(response, name, value)
    setattr(response, method.hresult_name, hr)
    return response.encode()


def exception_info(exc: BaseException, iid: uuid.UUID) -> ErrorInfo:
    """The error information a Python exception raised by a served method sends its client
    (MS-DCOM 2.2.21.2): Source is the exception's type, qualified by its module unless it is a
    builtin; Description its message and the innermost frame, "file:line in function" (the
    file's base name only: the server's paths are not the client's business)."""
    kind = type(exc)
    module = kind.__module__
    source = kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
    try:
        parts = [str(exc)]
    except Exception:  # noqa: BLE001 - a broken __str__ must not cost the client its answer
        parts = ["(the exception's message could not be read)"]
    tb = exc.__traceback__
    if tb is not None:
        while tb.tb_next is not None:
            tb = tb.tb_next
        code = tb.tb_frame.f_code
        parts.append(f"(at {os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name})")
    return ErrorInfo(iid, source, " ".join(part for part in parts if part))


def comerror_info(exc: ComError, iid: uuid.UUID) -> ErrorInfo:
    """The error information a failing ComError with text sends its client: its text as
    Description, and the source it came with when it came from another server."""
    return ErrorInfo(iid, exc.source, exc.description or exc.detail or None)
