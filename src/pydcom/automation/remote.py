"""IDispatch through a proxy (MS-OAUT 3.1.4): the channel a ``Dispatch`` uses to reach an object
in another process or on another machine.

Objects passed as arguments are exported by this process's exporter (a callback), or passed on
as the reference they are (a proxy); interface pointers that come back become ``Dispatch``
objects, or the local object itself when they name one this process exports.
"""

from __future__ import annotations

from typing import Any, Sequence

from pydcom import hresult
from pydcom.automation import idispatch_wire as wire
from pydcom.automation import invoke_codec
from pydcom.automation.client import as_value, handle_of
from pydcom.automation.dispatcher import EMPTY, InvokeOutcome
from pydcom.automation.stub import IID_NULL, error_of
from pydcom.automation.variant import VT, Variant
from pydcom.hresult import ComError
from pydcom.ndr import NdrError
from pydcom.runtime import causality
from pydcom.runtime.interfaces import syntax_of
from pydcom.runtime.proxy import Proxy
from pydcom.wire import ids
from pydcom.wire.orpc import orpcthis

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
        rgvarg = args[::-1]
        vts = [invoke_codec.plain_vt(value) for value in rgvarg]
        if None in vts:
            return None
        stub = invoke_codec.encode_fixed_request(causality.outgoing(), dispid, flags, vts,
                                                 rgvarg, LOCALE_USER_DEFAULT)
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
