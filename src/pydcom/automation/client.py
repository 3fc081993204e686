"""The late-bound automation client: a Python object whose attributes are an IDispatch's members.

    calc = pydcom.dispatch("Demo.Calculator", machine="127.0.0.2[4135]")
    calc.Add(2, 3)            # GetIDsOfNames once, then Invoke(DISPATCH_METHOD) each time
    calc.Memory = 5           # Invoke(DISPATCH_PROPERTYPUT, named DISPID_PROPERTYPUT)
    calc.Memory               # Invoke(DISPATCH_PROPERTYGET)
    calc.Scale(2, factor=3)   # keyword arguments are named arguments

Whether a name is a method or a property is learnt as comtypes learns it: reading an attribute
asks for the property; a server that answers "member not found" or "bad parameter count" has a
method of that name, and the attribute is then a callable that invokes it. What is learnt
(DISPIDs, kinds, parameter numbers) is kept per type of object, so a repeated call costs one
round trip: objects made by the same class share it, other objects keep their own.

A ``Dispatch`` talks to its object through a channel: ``RemoteChannel`` (below) encodes the IDispatch
methods for a proxy (MS-OAUT 3.1.4), ``LocalChannel`` calls a ``Dispatcher`` in this process, so
both behave alike.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Protocol, Sequence

from pydcom import hresult
from pydcom.automation import idispatch_wire as wire
from pydcom.automation import invoke_codec
from pydcom.automation.convert import from_variant, to_variant
from pydcom.automation.dispatcher import EMPTY, Dispatcher, InvokeOutcome
from pydcom.automation.errors import error_of
from pydcom.automation.idispatch_wire import (
    DISPATCH_METHOD,
    DISPATCH_PROPERTYGET,
    DISPATCH_PROPERTYPUT,
    DISPATCH_PROPERTYPUTREF,
    DISPID_PROPERTYPUT,
    DISPID_VALUE,
    IID_NULL,
)
from pydcom.automation.variant import VT, Variant
from pydcom.hresult import ComError
from pydcom.ndr import NdrError
from pydcom.runtime import causality
from pydcom.runtime.activation import create_instance, plan_activation
from pydcom.runtime.clsctx import CLSCTX
from pydcom.runtime.inproc import InprocObject
from pydcom.runtime.interfaces import syntax_of
from pydcom.runtime.proxy import Proxy
from pydcom.runtime.serverinfo import ServerInfo
from pydcom.wire import ids
from pydcom.wire.ids import IID_IDispatch
from pydcom.wire.orpc import orpcthis

# Answers to a property get that mean the member is a method (comtypes reads them so too).
_NOT_A_PROPERTY = frozenset({
    hresult.DISP_E_MEMBERNOTFOUND, hresult.DISP_E_BADPARAMCOUNT,
    hresult.DISP_E_PARAMNOTOPTIONAL, hresult.DISP_E_TYPEMISMATCH, hresult.E_INVALIDARG,
})
_UNKNOWN, _METHOD, _PROPERTY = 0, 1, 2
# The answers whose pArgErr is the index in rgvarg of the argument at fault (MS-OAUT 3.1.4.4).
_ARGUMENT_ERRORS = frozenset({hresult.DISP_E_TYPEMISMATCH, hresult.DISP_E_PARAMNOTFOUND})
_CALL = DISPATCH_METHOD | DISPATCH_PROPERTYGET


class ByRef:
    """An argument passed by reference (VT_BYREF, MS-OAUT 3.1.4.4.1): after the call, ``value``
    holds what the server left in it."""

    __slots__ = ("value", "vt")

    def __init__(self, value: Any, vt: int | None = None) -> None:
        self.value = value
        self.vt = vt  # the VARTYPE the caller's storage has; by default that of the value

    def __repr__(self) -> str:
        return f"ByRef({self.value!r})"


class Channel(Protocol):
    """How a Dispatch reaches its object."""

    def get_ids_of_names(self, names: Sequence[str]) -> tuple[int, list[int]]: ...
    def invoke(self, dispid: int, flags: int, args: Sequence[Variant], named: Sequence[int],
               varref_index: Sequence[int], varref: Sequence[Variant]) -> InvokeOutcome: ...
    def invoke_values(self, dispid: int, flags: int, args: Sequence[Any]) -> Any: ...
    def marshal(self, value: Any) -> Any: ...
    def unmarshal(self, pointer: Any) -> Any: ...
    def release(self) -> None: ...


class LocalChannel:
    """IDispatch of an object in this process, called directly."""

    __slots__ = ("dispatcher", "_release")

    def __init__(self, target: Any, release: Any = None) -> None:
        self.dispatcher = Dispatcher(target, marshal=handle_of, unmarshal=handle_of)
        self._release = release

    @property
    def handle(self) -> Any:
        return self.dispatcher.target

    def get_ids_of_names(self, names: Sequence[str]) -> tuple[int, list[int]]:
        return self.dispatcher.get_ids_of_names(names)

    def invoke(self, dispid, flags, args, named, varref_index, varref) -> InvokeOutcome:
        return self.dispatcher.invoke(dispid, flags, args, named, varref_index, varref)

    def invoke_values(self, dispid: int, flags: int, args: Sequence[Any]) -> None:
        return None  # in one process every argument takes the general path: no bytes to save

    def marshal(self, value: Any) -> Any:
        return value

    def unmarshal(self, pointer: Any) -> Any:
        return wrap(pointer)

    def release(self) -> None:
        if self._release is not None:
            self._release()

    def __repr__(self) -> str:
        return f"in-process {type(self.dispatcher.target).__name__}"


def as_value(target: Any) -> Any:
    """An unmarshaled interface pointer as Python code sees it: a proxy as a Dispatch, an
    object of this process as itself."""
    return wrap(target) if isinstance(target, Proxy) else target


def handle_of(value: Any) -> Any:
    """What an object argument stands for: the proxy or the local object behind a Dispatch (in
    one process VT_DISPATCH carries that object itself, not an OBJREF)."""
    return value._channel.handle if isinstance(value, Dispatch) else value


class TypeKnowledge:
    """What a Dispatch learnt of its object's type: per member name, its DISPID and kind; per
    (name, keyword names), the parameter numbers. Replaced whole, never changed in place."""

    __slots__ = ("_members", "_named", "_lock")

    def __init__(self) -> None:
        self._members: dict[str, tuple[int, int]] = {}
        self._named: dict[tuple[str, tuple[str, ...]], tuple[int, ...]] = {}
        self._lock = threading.Lock()

    def member(self, name: str) -> tuple[int, int] | None:
        return self._members.get(name.lower())

    def learn(self, name: str, dispid: int, kind: int) -> None:
        with self._lock:
            self._members = {**self._members, name.lower(): (dispid, kind)}

    def named(self, key: tuple[str, tuple[str, ...]]) -> tuple[int, ...] | None:
        return self._named.get(key)

    def learn_named(self, key: tuple[str, tuple[str, ...]], numbers: tuple[int, ...]) -> None:
        with self._lock:
            self._named = {**self._named, key: numbers}


_by_type: dict[Any, TypeKnowledge] = {}
_by_type_lock = threading.Lock()


def knowledge_for(type_key: Any) -> TypeKnowledge:
    """The knowledge shared by every Dispatch of one type (a CLSID, say); a new one for None."""
    if type_key is None:
        return TypeKnowledge()
    with _by_type_lock:
        found = _by_type.get(type_key)
        if found is None:
            found = _by_type[type_key] = TypeKnowledge()
        return found


class Dispatch:
    """A late-bound reference to an automation object. See the module docstring."""

    __slots__ = ("_channel", "_known", "__weakref__")

    def __init__(self, channel: Channel, type_key: Any = None) -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_known", knowledge_for(type_key))

    # -- members --------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") and name.endswith("_"):  # Python's and pywin32's own names
            raise AttributeError(name)
        known = self._known.member(name)
        if known is None:
            known = (self._dispid(name), _UNKNOWN)
        dispid, kind = known
        if kind == _METHOD:
            return _Method(self, name, dispid)
        outcome = self._invoke(dispid, DISPATCH_PROPERTYGET, ())
        if kind == _UNKNOWN:
            if outcome.hresult in _NOT_A_PROPERTY:
                self._known.learn(name, dispid, _METHOD)
                return _Method(self, name, dispid)
            if outcome.hresult == hresult.S_OK:
                self._known.learn(name, dispid, _PROPERTY)
        return self._result(name, outcome)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(f"{name}: automation names do not start with an underscore")
        known = self._known.member(name)
        dispid = known[0] if known else self._dispid(name)
        variant = self._variant(value)
        flags = DISPATCH_PROPERTYPUTREF if variant.vt in (VT.DISPATCH, VT.UNKNOWN) \
            else DISPATCH_PROPERTYPUT
        outcome = self._channel.invoke(dispid, flags, (variant,), (DISPID_PROPERTYPUT,), (), ())
        if outcome.hresult == hresult.DISP_E_MEMBERNOTFOUND and flags == DISPATCH_PROPERTYPUTREF:
            outcome = self._channel.invoke(dispid, DISPATCH_PROPERTYPUT, (variant,),
                                           (DISPID_PROPERTYPUT,), (), ())
        self._result(name, outcome)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The object's default member (DISPID_VALUE)."""
        return self.invoke(DISPID_VALUE, _CALL, *args, _name="(default)", **kwargs)

    def invoke(self, dispid: int, flags: int, *args: Any, _name: str = "", **kwargs: Any) -> Any:
        """IDispatch::Invoke by DISPID, with the arguments in calling order (first first)."""
        if not kwargs:
            found = self._positional(dispid, flags, args, _name)
            if found is not _ByRefSeen:
                return found
        named_numbers: Sequence[int] = ()
        if kwargs:
            names = tuple(kwargs)
            key = (_name.lower() or str(dispid), names)
            numbers = self._known.named(key)
            if numbers is None:
                numbers = self._param_numbers(_name, names)
                self._known.learn_named(key, numbers)
            named_numbers = numbers
        if any(isinstance(v, ByRef) for v in kwargs.values()):
            raise ComError(hresult.E_INVALIDARG, "a by-reference argument cannot be named")
        # rgvarg (MS-OAUT 2.2.33): the named arguments first, then the others last first.
        slots = [self._variant(v) for v in kwargs.values()]
        slots.extend(reversed([self._argument(v) for v in args]))
        varref_index: list[int] = []
        refs: list[ByRef] = []
        for position, value in enumerate(args):
            if isinstance(value, ByRef):
                varref_index.append(len(slots) - 1 - position)
                refs.append(value)
        varref = [slots[i] for i in varref_index]
        for i in varref_index:
            slots[i] = _EMPTY
        outcome = self._channel.invoke(dispid, flags, slots, named_numbers, varref_index, varref)
        result = self._result(_name or str(dispid), outcome, tuple(kwargs), len(args))
        for ref, variant in zip(refs, outcome.varref):
            ref.value = from_variant(variant, unmarshal=self._channel.unmarshal)
        return result

    def _positional(self, dispid: int, flags: int, args: tuple, name: str) -> Any:
        """The common call: positional arguments, none by reference (those answer
        _ByRefSeen, for the general path); numbers and booleans travel without Variants."""
        channel = self._channel
        answer = channel.invoke_values(dispid, flags, args)
        if answer is not None:
            if type(answer) is tuple:  # numbers in and out
                hr, value, arg_error = answer
                if hr == 0:
                    return value
                answer = InvokeOutcome(hr, arg_error=arg_error)
            return self._result(name or str(dispid), answer, (), len(args))
        marshal = channel.marshal
        slots = [_ByRefSeen if type(v) is ByRef else to_variant(v, marshal=marshal)
                 for v in reversed(args)]
        if _ByRefSeen in slots:
            return _ByRefSeen
        outcome = channel.invoke(dispid, flags, slots, (), (), ())
        if outcome.hresult == 0:
            result = outcome.result
            return result.value if result.vt in _PLAIN else from_variant(
                result, unmarshal=channel.unmarshal)
        return self._result(name or str(dispid), outcome, (), len(args))

    # -- helpers --------------------------------------------------------------------------------
    def _dispid(self, name: str) -> int:
        code, ids = self._channel.get_ids_of_names([name])
        if code != hresult.S_OK:
            raise AttributeError(f"{self!r} has no member {name!r} ({hresult.name_of(code)})")
        return ids[0]

    def _param_numbers(self, name: str, names: tuple[str, ...]) -> tuple[int, ...]:
        code, ids = self._channel.get_ids_of_names([name, *names])
        if code != hresult.S_OK:
            unknown = [n for n, i in zip(names, ids[1:]) if i < 0]
            raise ComError(code, f"{name} has no parameter(s) {', '.join(unknown)}")
        return tuple(ids[1:])

    def _invoke(self, dispid: int, flags: int, args: Sequence[Variant]) -> InvokeOutcome:
        return self._channel.invoke(dispid, flags, args, (), (), ())

    def _argument(self, value: Any) -> Variant:
        if isinstance(value, ByRef):
            inner = self._variant(value.value)
            vt = value.vt if value.vt is not None else inner.vt
            return Variant(VT.BYREF | vt, inner if vt == VT.VARIANT else inner.value)
        return self._variant(value)

    def _variant(self, value: Any) -> Variant:
        return to_variant(value, marshal=self._channel.marshal)

    def _result(self, name: str, outcome: InvokeOutcome, names: tuple[str, ...] = (),
                positional: int = 0) -> Any:
        if outcome.hresult == hresult.DISP_E_EXCEPTION and outcome.error is not None:
            raise outcome.error
        if outcome.hresult & 0x80000000:
            detail = name
            if outcome.hresult in _ARGUMENT_ERRORS:
                # pArgErr names the argument for these two, and 0 is an index like any other
                # (rgvarg[0], the last argument) (MS-OAUT 3.1.4.4).
                detail = f"{name}, {_which_argument(outcome.arg_error, names, positional)}"
            raise ComError(outcome.hresult, detail)
        return from_variant(outcome.result, unmarshal=self._channel.unmarshal)

    def release(self) -> None:
        """Give the reference back now rather than when the object is collected."""
        self._channel.release()

    def __repr__(self) -> str:
        return f"<Dispatch {self._channel!r}>"

    def __dir__(self) -> list[str]:
        return sorted(self._known._members)


_EMPTY = Variant(VT.EMPTY, None)
_ByRefSeen = object()  # marks a ByRef argument in the fast path of Dispatch.invoke
# VARTYPEs whose Python value is the VARIANT's value as it is (convert.py's table).
_PLAIN = frozenset({VT.I1, VT.I2, VT.I4, VT.I8, VT.UI1, VT.UI2, VT.UI4, VT.UI8, VT.INT, VT.UINT,
                    VT.R4, VT.R8, VT.BSTR, VT.BOOL, VT.ERROR})


def _which_argument(index: int, names: tuple[str, ...], positional: int) -> str:
    """The argument at rgvarg[index] as the caller wrote it: the named ones stand first in
    rgvarg, then the positional ones, last first (MS-OAUT 2.2.33)."""
    if 0 <= index < len(names):
        return f"argument {names[index]!r} (rgvarg index {index})"
    position = len(names) + positional - 1 - index
    if 0 <= position < positional:
        return f"argument {position + 1} of {positional} (rgvarg index {index})"
    return f"rgvarg index {index}"


class _Method:
    """A method of a Dispatch, ready to be called."""

    __slots__ = ("_owner", "_name", "_dispid")

    def __init__(self, owner: Dispatch, name: str, dispid: int) -> None:
        self._owner = owner
        self._name = name
        self._dispid = dispid

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            found = self._owner._positional(self._dispid, _CALL, args, self._name)
            if found is not _ByRefSeen:
                return found
        return self._owner.invoke(self._dispid, _CALL, *args, _name=self._name, **kwargs)

    def __repr__(self) -> str:
        return f"<method {self._name} of {self._owner!r}>"


def wrap(value: Any, type_key: Any = None) -> Any:
    """A Dispatch for an IDispatch pointer (a proxy, an in-process object) or a Python object;
    None and Dispatch objects as they are."""
    if value is None or isinstance(value, Dispatch):
        return value
    if isinstance(value, Proxy):
        return Dispatch(RemoteChannel(value), type_key)
    if isinstance(value, InprocObject):
        return Dispatch(LocalChannel(object.__getattribute__(value, "_target"), value.release),
                        type_key)
    return Dispatch(LocalChannel(value), type_key)


def dispatch(target: Any, machine: str | None = None, clsctx: int | None = None,
             server_info: Any = None, *, registry: Any = None) -> Dispatch:
    """A late-bound automation object (pywin32's ``Dispatch``/``DispatchEx`` role).

    ``target`` is a ProgID or CLSID to create a new object of, or an IDispatch pointer to wrap
    (a proxy, say one a Windows server returned). ``machine`` ("host" or "host[port]") or
    ``server_info`` names where to run it, overriding the registry's RemoteServerName; with one
    of them the object is never created in this process. ``clsctx`` defaults to CLSCTX.SERVER.
    """
    if not isinstance(target, (str, uuid.UUID)):
        return wrap(target)
    if machine is not None:
        if server_info is not None:
            raise ComError(hresult.E_INVALIDARG, "give machine or server_info, not both")
        server_info = ServerInfo(machine)
    if clsctx is None:
        clsctx = CLSCTX.SERVER & ~CLSCTX.INPROC if server_info is not None else CLSCTX.SERVER
    plan = plan_activation(target, clsctx, server_info, registry=registry)
    obj = create_instance(plan.clsid, clsctx, server_info, iid=IID_IDispatch, registry=registry)
    return wrap(obj, type_key=plan.clsid)


# -- the remote channel: IDispatch through a proxy (MS-OAUT 3.1.4) -----------------------------

LOCALE_USER_DEFAULT = 0x0400  # the lcid late-bound clients send (MS-OAUT 3.1.4.3)


class RemoteChannel:
    """IDispatch's methods encoded for a proxy of an IDispatch (or dual) interface."""

    __slots__ = ("proxy", "_syntax")

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self._syntax = syntax_of(proxy.iid)

    @property
    def handle(self) -> Proxy:
        return self.proxy

    def _call(self, opnum: int, stub: bytes) -> bytes:
        proxy = self.proxy
        if proxy._released:
            raise ComError(hresult.RPC_E_DISCONNECTED, "the object was released")
        return proxy._call(self._syntax, opnum, stub, proxy.ipid)

    def get_ids_of_names(self, names: Sequence[str]) -> tuple[int, list[int]]:
        request = wire.GetIDsOfNamesRequest(orpcthis(causality.outgoing()), IID_NULL, list(names),
                                            len(names), LOCALE_USER_DEFAULT)
        answer = wire.GetIDsOfNamesResponse.decode(
            self._call(wire.OP_GET_IDS_OF_NAMES, request.encode()))
        dispids = list(answer.rgDispId or ())
        if len(dispids) != len(names):
            raise ComError(hresult.RPC_E_UNEXPECTED,
                           f"{len(dispids)} DISPIDs for {len(names)} names")
        return answer.hr, dispids

    def invoke_values(self, dispid: int, flags: int, args: Sequence[Any]
                      ) -> tuple[int, Any, int] | InvokeOutcome | None:
        """Invoke with positional arguments in calling order, when each is a number or a
        boolean (``invoke_codec``'s fixed forms, no Variant made): (HRESULT, result, pArgErr)
        when the result is one too (or VT_EMPTY), else its InvokeOutcome; None when some
        argument is not."""
        stub = invoke_codec.encode_plain_request(causality.outgoing(), dispid, flags, args,
                                                 LOCALE_USER_DEFAULT)
        if stub is None:
            return None
        data = self._call(wire.OP_INVOKE, stub)
        fixed = invoke_codec.decode_fixed_response(data)
        if fixed is not None and (fixed[1] in invoke_codec.PLAIN_VTS or fixed[1] == VT.EMPTY):
            return fixed[0], fixed[2], fixed[3]
        return self._outcome(data, ())

    def invoke(self, dispid: int, flags: int, args: Sequence[Variant], named: Sequence[int],
               varref_index: Sequence[int], varref: Sequence[Variant]) -> InvokeOutcome:
        request = invoke_codec.encode_request(causality.outgoing(), dispid, flags, args, named,
                                              varref_index, varref, LOCALE_USER_DEFAULT)
        return self._outcome(self._call(wire.OP_INVOKE, request), varref)

    def _outcome(self, data: bytes, varref: Sequence[Variant]) -> InvokeOutcome:
        try:
            answer = invoke_codec.decode_response(data)
        except NdrError as exc:
            raise ComError(hresult.hresult_from_win32(hresult.RPC_X_BAD_STUB_DATA),
                           str(exc)) from None
        refs = answer.varref
        error = error_of(*answer.excepinfo) if answer.hr == hresult.DISP_E_EXCEPTION else None
        return InvokeOutcome(answer.hr, answer.result or EMPTY, error, answer.arg_error,
                             refs if len(refs) == len(varref) else list(varref))

    def type_info_count(self) -> int:
        """IDispatch::GetTypeInfoCount (MS-OAUT 3.1.4.1)."""
        request = wire.GetTypeInfoCountRequest(orpcthis(causality.outgoing()))
        answer = wire.GetTypeInfoCountResponse.decode(
            self._call(wire.OP_GET_TYPE_INFO_COUNT, request.encode()))
        if answer.hr & 0x80000000:
            raise ComError(answer.hr, "GetTypeInfoCount")
        return answer.pctinfo

    def type_info(self) -> Proxy:
        """ITypeInfo of the object (MS-OAUT 3.1.4.2), as a proxy."""
        request = wire.GetTypeInfoRequest(orpcthis(causality.outgoing()), 0, LOCALE_USER_DEFAULT)
        answer = wire.GetTypeInfoResponse.decode(
            self._call(wire.OP_GET_TYPE_INFO, request.encode()))
        if answer.hr & 0x80000000:
            raise ComError(answer.hr, "GetTypeInfo")
        return self.proxy._runtime.unmarshal_pointer(answer.ppTInfo, self.proxy._info.resolver)

    def marshal(self, value: Any) -> Any:
        """An object argument: a proxy passes its own reference on; a local object is exported
        by this process's exporter, so that the server can call it back."""
        return self.proxy._runtime.marshal(handle_of(value), ids.IID_IDispatch)

    def unmarshal(self, pointer: Any) -> Any:
        return as_value(self.proxy._runtime.unmarshal_pointer(pointer, self.proxy._info.resolver))

    def release(self) -> None:
        self.proxy.release()

    def __repr__(self) -> str:
        return repr(self.proxy)
