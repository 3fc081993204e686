"""The members a Python class shows through IDispatch, with their DISPIDs (MS-OAUT 3.1.4).

A class's table is worked out once and never changed: readers share it without a lock.

Which members:
- with pywin32's declarations, exactly those: ``_public_methods_`` are methods,
  ``_public_attrs_`` properties, of which ``_readonly_attrs_`` cannot be put;
- otherwise every public name of the class (no leading underscore): functions are methods,
  ``property`` objects and plain class attributes are properties (a property without a setter
  is read-only), and public instance attributes are properties found when asked for.

DISPIDs are a function of the name alone (case-insensitive, as names are in automation), so
the same member has the same DISPID in every process and in every version of the class that
keeps the name; ``_dispids_ = {"Name": n}`` fixes one by hand. Parameters are numbered from 0
in declaration order, as GetIDsOfNames answers for named arguments (MS-OAUT 3.1.4.3). A
parameter annotated ``bool``, ``int``, ``float`` or ``str`` gets its argument converted to that
type; one annotated ``Variant`` gets the VARIANT itself, unconverted.
"""

from __future__ import annotations

import functools
import inspect
import typing
import zlib
from dataclasses import dataclass
from typing import Any

from pydcom.automation.variant import Variant

METHOD, PROPERTY = "method", "property"
_FIRST_HASHED_DISPID = 0x10000  # below: room for hand-chosen DISPIDs
_HASHED_RANGE = 0x40000000 - _FIRST_HASHED_DISPID


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a method: its name, whether it may be left out, the type to coerce to."""

    name: str
    optional: bool
    coerce_to: type | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A method or property as IDispatch shows it."""

    name: str
    dispid: int
    kind: str
    params: tuple[Parameter, ...] = ()
    varargs: bool = False
    readonly: bool = False
    doc: str = ""
    returns: type | None = None

    @property
    def required(self) -> int:
        return sum(1 for p in self.params if not p.optional)

    def param_dispid(self, name: str) -> int | None:
        lowered = name.lower()
        for index, param in enumerate(self.params):
            if param.name.lower() == lowered:
                return index
        return None


def dispid_of(name: str) -> int:
    """The DISPID a member name gets when none is given: stable, positive, never a reserved
    value (MS-OAUT 2.2.32.1 reserves 0 and the negative ones)."""
    return _FIRST_HASHED_DISPID + zlib.crc32(name.lower().encode("utf-8")) % _HASHED_RANGE


class MemberTable:
    """The members of one class, by lowercased name and by DISPID. Immutable."""

    __slots__ = ("cls", "by_name", "by_dispid", "dynamic")

    def __init__(self, cls: type, members: list[Member], dynamic: bool) -> None:
        self.cls = cls
        self.by_name = {m.name.lower(): m for m in members}
        self.by_dispid = {m.dispid: m for m in members}
        self.dynamic = dynamic  # public instance attributes count as properties too

    def __iter__(self):
        return iter(self.by_dispid.values())

    def find_name(self, target: Any, name: str) -> Member | None:
        member = self.by_name.get(name.lower())
        if member is None and self.dynamic:
            member = _instance_attribute(target, name, self.by_dispid)
        return member

    def find_dispid(self, target: Any, dispid: int) -> Member | None:
        member = self.by_dispid.get(dispid)
        if member is None and self.dynamic:
            for attr in _public_instance_attributes(target):
                if dispid_of(attr) == dispid and dispid not in self.by_dispid:
                    return Member(attr, dispid, PROPERTY)
        return member


def _public_instance_attributes(target: Any) -> list[str]:
    try:
        names = vars(target)
    except TypeError:  # no __dict__ (slots)
        return []
    return [name for name in names if not name.startswith("_")]


def _instance_attribute(target: Any, name: str, taken: dict[int, Member]) -> Member | None:
    lowered = name.lower()
    for attr in _public_instance_attributes(target):
        if attr.lower() == lowered:
            dispid = dispid_of(attr)
            return None if dispid in taken else Member(attr, dispid, PROPERTY)
    return None


@functools.lru_cache(maxsize=1024)
def members_of(cls: type) -> MemberTable:
    """The member table of a class, worked out once."""
    declared_methods = getattr(cls, "_public_methods_", None)
    declared_attrs = getattr(cls, "_public_attrs_", None)
    readonly = {n.lower() for n in getattr(cls, "_readonly_attrs_", ())}
    fixed = {k.lower(): int(v) for k, v in getattr(cls, "_dispids_", {}).items()}
    found: list[tuple[str, str, Any]] = []  # (name, kind, the class attribute or None)
    if declared_methods is not None or declared_attrs is not None:
        for name in declared_methods or ():
            found.append((name, METHOD, inspect.getattr_static(cls, name, None)))
        for name in declared_attrs or ():
            found.append((name, PROPERTY, inspect.getattr_static(cls, name, None)))
        dynamic = False
    else:
        for name in sorted(dir(cls)):
            if name.startswith("_"):
                continue
            attribute = inspect.getattr_static(cls, name)
            if isinstance(attribute, (staticmethod, classmethod)) or inspect.isfunction(attribute):
                found.append((name, METHOD, attribute))
            elif isinstance(attribute, property) or not callable(attribute):
                found.append((name, PROPERTY, attribute))
        dynamic = True
    members: list[Member] = []
    taken: set[int] = set(fixed.values())
    for name, kind, attribute in sorted(found, key=lambda item: item[0].lower()):
        dispid = fixed.get(name.lower())
        if dispid is None:
            dispid = dispid_of(name)
            while dispid in taken:  # a collision: the next free one, in name order
                dispid = _FIRST_HASHED_DISPID + (dispid - _FIRST_HASHED_DISPID + 1) % _HASHED_RANGE
        taken.add(dispid)
        if kind == METHOD:
            members.append(_method(cls, name, dispid, attribute))
        else:
            members.append(Member(name, dispid, PROPERTY, readonly=name.lower() in readonly or (
                isinstance(attribute, property) and attribute.fset is None),
                doc=(inspect.getdoc(attribute) or "") if isinstance(attribute, property) else ""))
    return MemberTable(cls, members, dynamic)


_COERCIBLE = (bool, int, float, str, Variant)  # Variant: the argument as it came, unconverted


def _method(cls: type, name: str, dispid: int, attribute: Any) -> Member:
    wrapped = isinstance(attribute, (staticmethod, classmethod))
    function = attribute.__func__ if wrapped else attribute
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without one: any arguments
        return Member(name, dispid, METHOD, varargs=True)
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - annotations that do not resolve only lose coercion
        hints = {}
    params = list(signature.parameters.values())
    if params and not isinstance(attribute, staticmethod):
        params = params[1:]  # self, or cls
    result: list[Parameter] = []
    varargs = False
    for param in params:
        if param.kind is param.VAR_POSITIONAL:
            varargs = True
            continue
        if param.kind in (param.VAR_KEYWORD, param.KEYWORD_ONLY):
            continue
        hint = hints.get(param.name)
        result.append(Parameter(param.name, param.default is not param.empty,
                                hint if hint in _COERCIBLE else None))
    returns = hints.get("return")
    return Member(name, dispid, METHOD, tuple(result), varargs, doc=inspect.getdoc(function) or "",
                  returns=returns if isinstance(returns, type) else None)
