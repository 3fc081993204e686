"""ORPC interfaces as the runtime sees them: an IID and its methods by opnum, each method a pair of
declared parameter lists (the [in] side and the [out] side, ``pydcom.ndr.Params``).

Every ORPC request starts with ORPCTHIS and every response with ORPCTHAT and ends with the
HRESULT (MS-DCOM 3.2.4.2); the parameters in between are the method's own. A parameter whose type
is an interface pointer (``PMInterfacePointer`` or ``ref(PMInterfacePointer)``) carries an OBJREF:
stubs and proxies turn it into an object and back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

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

    @property
    def in_names(self) -> list[str]:
        return [name for name, _ in self.request._fields_[1:]]

    @property
    def out_names(self) -> list[str]:
        return [name for name, _ in self.response._fields_[1:-1]]


@dataclass(frozen=True)
class ComInterface:
    """An ORPC interface: IID, name and methods (opnums 0-2 belong to IUnknown, MS-DCOM 3.1.1.5.8)."""

    name: str
    iid: uuid.UUID
    methods: tuple[Method, ...] = ()

    @property
    def syntax(self) -> SyntaxId:
        return SyntaxId(self.iid, 0, 0)

    def method(self, opnum: int) -> Method | None:
        for method in self.methods:
            if method.opnum == opnum:
                return method
        return None

    def by_name(self, name: str) -> Method | None:
        for method in self.methods:
            if method.name == name:
                return method
        return None


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


register_interface(IUnknown)
register_interface(IClassFactory)
