"""ORPC interfaces as the runtime sees them: an IID and its methods by opnum, each method a pair of
declared parameter lists (the [in] side and the [out] side, ``pydcom.ndr.Params``).

Every ORPC request starts with ORPCTHIS and every response with ORPCTHAT and ends with the
HRESULT (MS-DCOM 3.2.4.2); the parameters in between are the method's own. A parameter whose type
is an interface pointer (``PMInterfacePointer`` or ``ref(PMInterfacePointer)``) carries an OBJREF:
stubs and proxies turn it into an object and back.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Callable

from pydcom import ndr
from pydcom.rpc.constants import SyntaxId
from pydcom.wire import ids
from pydcom.wire.orpc import PMInterfacePointer
from pydcom.wire.remunknown import (
    OP_CREATE_INSTANCE,
    OP_LOCK_SERVER,
    CreateInstanceRequest,
    CreateInstanceResponse,
    LockServerRequest,
    OrpcHresultResponse,
)

# ORPCTHIS: MajorVersion, MinorVersion, flags, reserved1, cid, extensions (MS-DCOM 2.2.13.3);
# ORPCTHAT: flags, extensions (2.2.13.4). A flat call carries no extensions.
ORPCTHIS_LEAVES, ORPCTHAT_LEAVES = 6, 2


@functools.lru_cache(maxsize=4096)
def syntax_of(iid: uuid.UUID) -> SyntaxId:
    """The abstract syntax of an ORPC interface (version 0.0), one object per IID: a connection
    recognizes the syntax it used last by identity."""
    return SyntaxId(iid, 0, 0)


def is_interface_pointer(kind: ndr.NdrType) -> bool:
    """An [in] or [out] interface pointer parameter: MInterfacePointer behind one or two pointers."""
    kind = ndr.core.as_type(kind)
    while isinstance(kind, ndr.Pointer):
        if kind.target is PMInterfacePointer.target:
            return True
        kind = kind.target
    return False


def zero_value(kind: ndr.NdrType):
    """The value an [out] parameter carries when its method failed: zeros and NULLs
    (a [ref] pointer cannot be NULL, so it points at its target's zero)."""
    kind = ndr.core.as_type(kind)
    if isinstance(kind, ndr.Pointer):
        return zero_value(kind.target) if kind.kind == "ref" else None
    if isinstance(kind, ndr.structs.StructType):
        return kind.cls()
    return kind.default


@dataclass(frozen=True)
class Method:
    """One ORPC method: its name on the Python object, and its two parameter lists."""

    name: str
    opnum: int
    request: type[ndr.Params]
    response: type[ndr.Params]
    # For [out] interface pointers: the IID to marshal them with, by parameter name (iid_is);
    # None means "the IID named by the [in] parameter riid", the IClassFactory convention.
    out_iids: dict[str, uuid.UUID | None] = field(default_factory=dict)
    # For [in] interface pointers: the IID a caller's object is passed as (IUnknown if unsaid).
    in_iids: dict[str, uuid.UUID] = field(default_factory=dict)

    # What every call needs of the declarations, worked out once per method.
    @functools.cached_property
    def ins(self) -> tuple[tuple[str, bool], ...]:
        """(name, is an interface pointer) of each [in] parameter after ORPCTHIS."""
        return tuple((name, is_interface_pointer(kind)) for name, kind in self.request._fields_[1:])

    @functools.cached_property
    def outs(self) -> tuple[tuple[str, ndr.NdrType, bool], ...]:
        """(name, type, is an interface pointer) of each [out] parameter between ORPCTHAT and
        the HRESULT."""
        return tuple((name, kind, is_interface_pointer(kind))
                     for name, kind in self.response._fields_[1:-1])

    @functools.cached_property
    def hresult_name(self) -> str:
        return self.response._fields_[-1][0]

    @functools.cached_property
    def orpcthat_name(self) -> str:
        return self.response._fields_[0][0]

    @functools.cached_property
    def flat(self) -> tuple[ndr.structs.FlatLayout, ndr.structs.FlatLayout] | None:
        """The request's and the response's one-struct layouts when every parameter besides
        ORPCTHIS and ORPCTHAT is a number (``ndr.structs.flat_layout``), so that a call and its
        answer are one struct call each; None otherwise."""
        for params in (self.request, self.response):
            for _, kind in params._fields_[1:]:
                kind = ndr.core.as_type(kind)
                if isinstance(kind, ndr.Pointer) and kind.kind == "ref":
                    kind = kind.target
                if not isinstance(kind, ndr.Primitive):
                    return None
        layouts = ndr.structs.flat_layout(self.request), ndr.structs.flat_layout(self.response)
        if None in layouts or layouts[0].widths[0] != ORPCTHIS_LEAVES or \
                layouts[1].widths[0] != ORPCTHAT_LEAVES:
            return None
        return layouts


@dataclass(frozen=True)
class ComInterface:
    """An ORPC interface: IID, name and methods (opnums 0-2 belong to IUnknown, MS-DCOM 3.1.1.5.8).

    ``stub``, when given, serves the interface's calls itself instead of the generic stub that
    decodes ``methods`` and calls the Python method of the same name: ``stub(exporter)`` makes,
    once per exporter, a callable ``(target, call) -> response stub`` (IDispatch does this: its
    methods are a protocol over the object, not methods of it). ``dual``: any IID a class
    declares without declaring its methods is served as this interface (a dual interface's
    first methods are IDispatch's, MS-OAUT 3.1).
    """

    name: str
    iid: uuid.UUID
    methods: tuple[Method, ...] = ()
    stub: Callable[..., bytes] | None = field(default=None, compare=False)
    dual: bool = False

    def renamed(self, iid: uuid.UUID) -> "ComInterface":
        """The same interface under another IID (a dual interface served as IDispatch)."""
        return ComInterface(f"{self.name} as {iid}", iid, self.methods, self.stub)

    @property
    def syntax(self) -> SyntaxId:
        return syntax_of(self.iid)

    def method(self, opnum: int) -> Method | None:
        return self._by_opnum.get(opnum)

    def by_name(self, name: str) -> Method | None:
        return self._by_name.get(name)

    @functools.cached_property
    def _by_opnum(self) -> dict[int, Method]:
        return {method.opnum: method for method in reversed(self.methods)}

    @functools.cached_property
    def _by_name(self) -> dict[str, Method]:
        return {method.name: method for method in reversed(self.methods)}


IUnknown = ComInterface("IUnknown", ids.IID_IUnknown)

IClassFactory = ComInterface("IClassFactory", ids.IID_IClassFactory, (
    Method("CreateInstance", OP_CREATE_INSTANCE, CreateInstanceRequest, CreateInstanceResponse,
           {"ppvObject": None}),
    Method("LockServer", OP_LOCK_SERVER, LockServerRequest, OrpcHresultResponse),
))

# Replaced, never changed in place: a reader always sees a whole table.
_KNOWN: dict[uuid.UUID, ComInterface] = {}


def register_interface(interface: ComInterface) -> ComInterface:
    """Make an interface known to stubs and proxies in this process; returns it."""
    global _KNOWN
    _KNOWN = {**_KNOWN, interface.iid: interface}
    return interface


def known_interface(iid: uuid.UUID) -> ComInterface | None:
    return _KNOWN.get(iid)


def dual_interface() -> ComInterface | None:
    """The interface that declared IIDs without methods of their own are served as."""
    for interface in _KNOWN.values():
        if interface.dual:
            return interface
    return None


register_interface(IUnknown)
register_interface(IClassFactory)
