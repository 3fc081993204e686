"""IDispatch over a Python object: what GetIDsOfNames and Invoke answer (MS-OAUT 3.1.4.3-3.1.4.4).

The logic only, on Variant values: the wire stub (``pydcom.automation.stub``) decodes requests
into these calls and encodes their outcomes, and the in-process client calls them directly, so
an object behaves the same through IDispatch wherever its client is.

Invoke's rules, as Windows' DispInvoke applies them:
- DISPATCH_METHOD calls a method, DISPATCH_PROPERTYGET reads a property; a client that cannot
  tell sends both (Visual Basic does), and the member's kind decides. A kind the member does
  not have is DISP_E_MEMBERNOTFOUND, which late-bound clients read as "it is the other kind".
  PROPERTYPUT and PROPERTYPUTREF set a property from the named argument DISPID_PROPERTYPUT.
- Positional arguments arrive last first (MS-OAUT 2.2.33); named ones first, their parameter
  numbers in rgdispidNamedArgs; VT_ERROR with DISP_E_PARAMNOTFOUND marks one left out, which
  takes the parameter's default (3.1.4.4.3).
- Too many or too few arguments: DISP_E_BADPARAMCOUNT; a named argument the method lacks:
  DISP_E_PARAMNOTFOUND; a required one left out on purpose: DISP_E_PARAMNOTOPTIONAL; an argument
  that cannot become the type the parameter is annotated with (bool, int, float, str):
  DISP_E_TYPEMISMATCH. puArgErr then names the argument's index in rgvarg.
- By-reference arguments travel in rgVarRef (3.1.4.4.1): the method sees their values; when it
  returns a tuple of one more item than there are such arguments, the first item is the result
  and the others are the arguments' new values (pywin32's convention), in argument order.
- Whatever the method raises becomes DISP_E_EXCEPTION with an EXCEPINFO (``DispatchError``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pydcom import hresult
from pydcom.automation.convert import from_variant, to_variant
from pydcom.automation.errors import DispatchError, as_dispatch_error
from pydcom.automation.members import METHOD, Member, MemberTable, members_of
from pydcom.automation.variant import VT, Variant
from pydcom.automation.idispatch_wire import (
    DISPATCH_METHOD,
    DISPATCH_PROPERTYGET,
    DISPATCH_PROPERTYPUT,
    DISPATCH_PROPERTYPUTREF,
    DISPID_PROPERTYPUT,
    DISPID_UNKNOWN,
)
from pydcom.hresult import ComError

log = logging.getLogger("pydcom.automation")

EMPTY = Variant(VT.EMPTY, None)
_KINDS = DISPATCH_METHOD | DISPATCH_PROPERTYGET | DISPATCH_PROPERTYPUT | DISPATCH_PROPERTYPUTREF
_PUTS = DISPATCH_PROPERTYPUT | DISPATCH_PROPERTYPUTREF


@dataclass(slots=True)
class InvokeOutcome:
    """What Invoke answers: its HRESULT, the result, the EXCEPINFO for DISP_E_EXCEPTION, the
    index of a bad argument, and the by-reference arguments' values (in rgVarRef order)."""

    hresult: int
    result: Variant = EMPTY
    error: DispatchError | None = None
    arg_error: int = 0
    varref: list[Variant] = field(default_factory=list)


class _ArgumentError(Exception):
    def __init__(self, code: int, index: int = 0) -> None:
        self.code = code
        self.index = index


def _is_missing(value: Variant) -> bool:
    return value.vt == VT.ERROR and value.value == hresult.DISP_E_PARAMNOTFOUND


class Dispatcher:
    """IDispatch for one Python object. ``marshal`` turns an object the method returns into the
    interface pointer a VT_DISPATCH carries; ``unmarshal`` an incoming pointer into an object."""

    __slots__ = ("target", "table", "source", "_marshal", "_unmarshal")

    def __init__(self, target: Any, *, marshal: Callable[[Any], Any] | None = None,
                 unmarshal: Callable[[Any], Any] | None = None, source: str | None = None) -> None:
        self.target = target
        self.table: MemberTable = members_of(type(target))
        self.source = source or type(target).__name__
        self._marshal = marshal
        self._unmarshal = unmarshal

    # -- GetIDsOfNames (MS-OAUT 3.1.4.3) --------------------------------------------------------
    def get_ids_of_names(self, names: Sequence[str]) -> tuple[int, list[int]]:
        """The member's DISPID, then its parameters' numbers; DISPID_UNKNOWN and
        DISP_E_UNKNOWNNAME for each name not known."""
        if not names:
            return hresult.S_OK, []
        member = self.table.find_name(self.target, names[0])
        if member is None:
            return hresult.DISP_E_UNKNOWNNAME, [DISPID_UNKNOWN] * len(names)
        ids = [member.dispid]
        code = hresult.S_OK
        for name in names[1:]:
            number = member.param_dispid(name) if member.kind == METHOD else None
            if number is None:
                code = hresult.DISP_E_UNKNOWNNAME
                number = DISPID_UNKNOWN
            ids.append(number)
        return code, ids

    # -- Invoke (MS-OAUT 3.1.4.4) ---------------------------------------------------------------
    def result_outcome(self, dispid: int, value: Any) -> InvokeOutcome:
        """The outcome of a method of this object that returned ``value``."""
        try:
            return self._outcome(value)
        except Exception as exc:  # noqa: BLE001 - a result that cannot travel
            return self._failed(self.table.find_dispid(self.target, dispid), exc)

    def invoke(self, dispid: int, flags: int, args: Sequence[Variant],
               named: Sequence[int] = (), varref_index: Sequence[int] = (),
               varref: Sequence[Variant] = ()) -> InvokeOutcome:
        """Invoke with DISPPARAMS as on the wire: ``args`` last argument first, the ``named``
        ones at the front; ``varref_index`` the slots of ``args`` whose values are ``varref``."""
        kind = flags & _KINDS
        member = self.table.find_dispid(self.target, dispid)
        if member is None or not kind:
            return InvokeOutcome(hresult.DISP_E_MEMBERNOTFOUND)
        if len(named) > len(args) or len(varref_index) != len(varref):
            return InvokeOutcome(hresult.E_INVALIDARG)
        slots = list(args)
        for position, index in enumerate(varref_index):
            if not 0 <= index < len(slots):
                return InvokeOutcome(hresult.E_INVALIDARG)
            slots[index] = _unref(varref[position])
        try:
            if kind & _PUTS:
                if member.kind == METHOD or member.readonly:
                    return InvokeOutcome(hresult.DISP_E_MEMBERNOTFOUND)
                return self._put(member, slots, named)
            if member.kind == METHOD:
                if not kind & DISPATCH_METHOD:
                    return InvokeOutcome(hresult.DISP_E_MEMBERNOTFOUND)
                return self._call(member, slots, named, varref_index, varref)
            if not kind & DISPATCH_PROPERTYGET:
                return InvokeOutcome(hresult.DISP_E_MEMBERNOTFOUND)
            if slots:
                return InvokeOutcome(hresult.DISP_E_BADPARAMCOUNT)
            return self._outcome(getattr(self.target, member.name))
        except _ArgumentError as exc:
            return InvokeOutcome(exc.code, arg_error=exc.index)
        except Exception as exc:  # noqa: BLE001 - the method's failure is the client's to see
            return self._failed(member, exc)

    def _put(self, member: Member, slots: list[Variant], named: Sequence[int]) -> InvokeOutcome:
        if len(named) != 1 or named[0] != DISPID_PROPERTYPUT or len(slots) != 1:
            # The new value must be the one named argument DISPID_PROPERTYPUT (MS-OAUT 3.1.4.4).
            code = hresult.DISP_E_PARAMNOTFOUND if not named else hresult.DISP_E_BADPARAMCOUNT
            return InvokeOutcome(code)
        setattr(self.target, member.name, self._python(slots[0], 0))
        return InvokeOutcome(hresult.S_OK)

    def _call(self, member: Member, slots: list[Variant], named: Sequence[int],
              varref_index: Sequence[int], varref: Sequence[Variant]) -> InvokeOutcome:
        params = member.params
        count = len(slots)
        positional = count - len(named)
        values: list[Any] = [_UNSET] * len(params)
        extra: list[Any] = []
        # Positional arguments: rgvarg holds them last first, after the named ones.
        for position in range(positional):
            index = count - 1 - position  # this argument's slot in rgvarg
            variant = slots[index]
            if position >= len(params):
                if not member.varargs:
                    raise _ArgumentError(hresult.DISP_E_BADPARAMCOUNT)
                extra.append(self._python(variant, index))
                continue
            values[position] = _MISSING if _is_missing(variant) else self._python(
                variant, index, params[position].coerce_to)
        for index, number in enumerate(named):
            if not 0 <= number < len(params) or values[number] is not _UNSET:
                raise _ArgumentError(hresult.DISP_E_PARAMNOTFOUND, index)
            variant = slots[index]
            values[number] = _MISSING if _is_missing(variant) else self._python(
                variant, index, params[number].coerce_to)
        call_args: list[Any] = []
        call_kwargs: dict[str, Any] = {}
        skipped = False  # once one is left out, the rest must go by name
        for number, (param, value) in enumerate(zip(params, values)):
            if value is _UNSET or value is _MISSING:
                if not param.optional:
                    if value is _MISSING:
                        raise _ArgumentError(hresult.DISP_E_PARAMNOTOPTIONAL,
                                             _slot_of(number, positional, count, named))
                    raise _ArgumentError(hresult.DISP_E_BADPARAMCOUNT)
                skipped = True
            elif skipped:
                call_kwargs[param.name] = value
            else:
                call_args.append(value)
        if extra and skipped:
            raise _ArgumentError(hresult.DISP_E_BADPARAMCOUNT)
        result = getattr(self.target, member.name)(*call_args, *extra, **call_kwargs)
        if varref_index and isinstance(result, tuple) and len(result) == len(varref) + 1:
            updates = [_reref(old, self._variant(new)) for old, new in zip(
                _in_argument_order(varref_index, varref), result[1:])]
            return self._outcome(result[0], _back_to_varref_order(varref_index, updates))
        return self._outcome(result, list(varref))

    # -- conversions ------------------------------------------------------------------------------
    def _python(self, variant: Variant, index: int, coerce_to: type | None = None) -> Any:
        if coerce_to is Variant:
            return variant
        try:
            value = from_variant(variant, unmarshal=self._unmarshal)
        except ComError as exc:
            raise _ArgumentError(exc.hresult, index) from None
        if coerce_to is None or type(value) is coerce_to:
            return value
        try:
            return coerce(value, coerce_to)
        except (TypeError, ValueError, OverflowError):
            raise _ArgumentError(hresult.DISP_E_TYPEMISMATCH, index) from None

    def _variant(self, value: Any) -> Variant:
        return to_variant(value, marshal=self._marshal)

    def _outcome(self, value: Any, varref: list[Variant] | None = None) -> InvokeOutcome:
        return InvokeOutcome(hresult.S_OK, self._variant(value), varref=varref or [])

    def _failed(self, member: Member, exc: Exception) -> InvokeOutcome:
        error = as_dispatch_error(exc, self.source)
        if not isinstance(exc, ComError):
            log.info("%s.%s raised %s", self.source, member.name, error.description)
        return InvokeOutcome(hresult.DISP_E_EXCEPTION, error=error)


def invoke_values(target: Any, dispid: int, flags: int, values: Sequence[Any], vts: Sequence[int],
                  dispatcher_of: Callable[[Any], Dispatcher]) -> tuple[int, Any] | InvokeOutcome:
    """Invoke on ``target`` with positional arguments that arrived as plain numbers or
    booleans (``values`` in rgvarg order, last first, of VARTYPEs ``vts``): (S_OK, the
    method's result as it returned it) when a method takes them all as they are, else the
    outcome ``Dispatcher.invoke`` gives. The common call, so no Dispatcher is made for it:
    ``dispatcher_of(target)`` makes one when the general rules or a failure need it."""
    member = members_of(type(target)).find_dispid(target, dispid)
    count = len(values)
    if member is not None and flags & DISPATCH_METHOD and member.kind == METHOD and \
            count == len(member.params) and not member.varargs:
        call_args = []
        for i, param in enumerate(member.params):
            value, kind = values[count - 1 - i], param.coerce_to
            if kind is not None and type(value) is not kind:
                if kind is Variant:
                    break
                try:
                    value = coerce(value, kind)
                except (TypeError, ValueError, OverflowError):
                    return InvokeOutcome(hresult.DISP_E_TYPEMISMATCH, arg_error=count - 1 - i)
            call_args.append(value)
        else:
            try:
                return hresult.S_OK, getattr(target, member.name)(*call_args)
            except Exception as exc:  # noqa: BLE001 - the method's failure is the client's
                return dispatcher_of(target)._failed(member, exc)
    return dispatcher_of(target).invoke(dispid, flags,
                                        [Variant(vt, v) for vt, v in zip(vts, values)])


_UNSET = object()  # no argument given for the parameter
_MISSING = object()  # given as "left out" (VT_ERROR DISP_E_PARAMNOTFOUND)


def _slot_of(number: int, positional: int, count: int, named: Sequence[int]) -> int:
    """Where parameter ``number``'s argument stood in rgvarg."""
    if number < positional:
        return count - 1 - number
    return list(named).index(number)


def _unref(variant: Variant) -> Variant:
    """The value a VT_BYREF VARIANT points at, as a VARIANT of its own."""
    vt = variant.vt & ~VT.BYREF
    if vt == VT.VARIANT:
        return variant.value
    return Variant(vt, variant.value)


def _reref(old: Variant, new: Variant) -> Variant:
    """``new`` as the by-reference argument ``old`` was: the same VARTYPE, so the caller's
    storage keeps its type (VT_BYREF|VT_VARIANT takes any)."""
    base = old.vt & ~VT.BYREF
    if base == VT.VARIANT:
        return Variant(old.vt, new)
    if new.vt == base:
        return Variant(old.vt, new.value)
    if base in _SCALAR_TYPES and new.vt in _SCALAR_TYPES:
        try:
            return Variant(old.vt, coerce(new.value, _SCALAR_TYPES[base]))
        except (TypeError, ValueError, OverflowError):
            pass
    raise ComError(hresult.DISP_E_TYPEMISMATCH, f"a by-reference {VT(base).name} argument cannot "
                   f"take a {VT(new.vt & 0xFFF).name}")


def _in_argument_order(indexes: Sequence[int], values: Sequence[Variant]) -> list[Variant]:
    """rgVarRef values sorted as the arguments stand (first argument first: highest slot)."""
    return [value for _, value in sorted(zip(indexes, values), key=lambda item: -item[0])]


def _back_to_varref_order(indexes: Sequence[int], updates: list[Variant]) -> list[Variant]:
    order = sorted(range(len(indexes)), key=lambda i: -indexes[i])
    result: list[Variant] = [EMPTY] * len(indexes)
    for update, position in zip(updates, order):
        result[position] = update
    return result


_SCALAR_TYPES: dict[int, type] = {
    VT.I1: int, VT.I2: int, VT.I4: int, VT.I8: int, VT.UI1: int, VT.UI2: int, VT.UI4: int,
    VT.UI8: int, VT.INT: int, VT.UINT: int, VT.R4: float, VT.R8: float, VT.BSTR: str,
    VT.BOOL: bool,
}


def coerce(value: Any, kind: type) -> Any:
    """``value`` as ``kind`` (bool, int, float or str), as VariantChangeType would make it:
    True is -1 as a number, numbers round half to even, numeric strings parse, EMPTY is zero.
    TypeError or ValueError when it cannot be."""
    if value is None:
        return kind()
    if kind is bool:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "#true#"):
                return True
            if lowered in ("false", "#false#"):
                return False
            return float(value) != 0
        if isinstance(value, (int, float)):
            return value != 0
    elif kind is int:
        if isinstance(value, bool):
            return -1 if value else 0
        if isinstance(value, float):
            return round(value)
        if isinstance(value, (int, str)):
            text = value.strip() if isinstance(value, str) else value
            try:
                return int(text)
            except ValueError:
                return round(float(text))
    elif kind is float:
        if isinstance(value, bool):
            return -1.0 if value else 0.0
        if isinstance(value, (int, float, str)):
            return float(value)
    elif kind is str:
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, (int, float, str)):
            return str(value)
    raise TypeError(f"{type(value).__name__} cannot become {kind.__name__}")
