"""What a server serves: interfaces by abstract syntax, each a table of operations by opnum."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from pydcom.rpc.calls import CallReceived
from pydcom.rpc.constants import SyntaxId

# An operation takes the call (its object UUID, connection, stub) and returns the response stub.
Operation = Callable[[CallReceived], bytes]


@dataclass(frozen=True)
class Interface:
    """An RPC interface: its abstract syntax and its operations by opnum (C706 2.3).

    ``open_opnums`` are the operations a server takes below its minimum authentication level
    (IObjectExporter's ServerAlive2, which MS-DCOM lets any client call)."""

    syntax: SyntaxId
    operations: Mapping[int, Operation] = field(default_factory=dict)
    name: str = ""
    open_opnums: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "operations", MappingProxyType(dict(self.operations)))
        object.__setattr__(self, "open_opnums", frozenset(self.open_opnums))

    @classmethod
    def of(cls, iid: str | uuid.UUID, operations: Mapping[int, Operation], *, major: int = 0,
           minor: int = 0, name: str = "", open_opnums: frozenset[int] = frozenset()
           ) -> "Interface":
        return cls(SyntaxId(uuid.UUID(str(iid)), major, minor), operations, name, open_opnums)


class InterfaceTable:
    """An immutable set of interfaces; a server replaces its table, never changes it in place.

    A request matches an interface of the same UUID and major version whose minor version is
    at least the one asked for (C706 3.3).
    """

    __slots__ = ("_by_uuid",)

    def __init__(self, interfaces: tuple[Interface, ...] = ()) -> None:
        by_uuid: dict[uuid.UUID, tuple[Interface, ...]] = {}
        for iface in interfaces:
            by_uuid[iface.syntax.uuid] = by_uuid.get(iface.syntax.uuid, ()) + (iface,)
        self._by_uuid = by_uuid

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_uuid.values())

    def __iter__(self):
        for group in self._by_uuid.values():
            yield from group

    def with_interface(self, iface: Interface) -> "InterfaceTable":
        kept = tuple(i for i in self if i.syntax != iface.syntax)
        return InterfaceTable(kept + (iface,))

    def without(self, syntax: SyntaxId) -> "InterfaceTable":
        return InterfaceTable(tuple(i for i in self if i.syntax != syntax))

    def lookup(self, syntax: SyntaxId) -> Interface | None:
        for iface in self._by_uuid.get(syntax.uuid, ()):
            if iface.syntax.major == syntax.major and iface.syntax.minor >= syntax.minor:
                return iface
        return None
