"""IDispatch served over ORPC (MS-OAUT 3.1.4): the stub that decodes a call on an exported
object's IDispatch (or a dual interface's IDispatch part), runs it through a ``Dispatcher`` in
the object's apartment, and encodes the answer.

Requests are read as MS-OAUT declares them; bytes after a complete request are ignored rather
than faulted (impacket's GetTypeInfoCount sends 4 more than the method has), while answers are
written in the spec's layout (rgVarRef included, MS-OAUT 3.1.4.4).
"""

from __future__ import annotations

from typing import Any

from pydcom import hresult
from pydcom.automation import idispatch_wire as wire
from pydcom.automation.idispatch_wire import IID_NULL
from pydcom.automation import invoke_codec
from pydcom.automation.client import as_value, handle_of
from pydcom.automation.dispatcher import EMPTY, Dispatcher, InvokeOutcome, invoke_values
from pydcom.automation.typeinfo import IID_ITypeInfo, TypeInfo
from pydcom.automation.variant import VT
from pydcom.ndr import NdrError
from pydcom.rpc import RpcFault
from pydcom.rpc.constants import NCA_S_OP_RNG_ERROR
from pydcom.runtime.orpc_checks import check_orpcthis, check_version
from pydcom.wire import ids
from pydcom.wire.orpc import ORPCTHAT

EMPTY_VT = int(VT.EMPTY)
_WANTS = wire.DISPATCH_ZEROVARRESULT | wire.DISPATCH_ZEROEXCEPINFO | wire.DISPATCH_ZEROARGERR


class DispatchStub:
    """Serves IDispatch's methods (opnums 3-6) for the objects of one exporter."""

    def __init__(self, exporter: Any) -> None:
        self.exporter = exporter

    def _marshal(self, value: Any) -> Any:
        return self.exporter.marshal_pointer(handle_of(value), ids.IID_IDispatch)

    def _unmarshal(self, pointer: Any) -> Any:
        return as_value(self.exporter.unmarshal_pointer(pointer))

    def dispatcher(self, target: Any) -> Dispatcher:
        return Dispatcher(target, marshal=self._marshal, unmarshal=self._unmarshal)

    def __call__(self, target: Any, call: Any) -> bytes:
        """One ORPC call; the exporter has found ``target`` by the call's IPID."""
        opnum = call.opnum
        if opnum == wire.OP_INVOKE:
            return self._invoke(target, call)
        if opnum == wire.OP_GET_IDS_OF_NAMES:
            return self._get_ids_of_names(target, call)
        if opnum == wire.OP_GET_TYPE_INFO_COUNT:
            request = wire.GetTypeInfoCountRequest.decode(call.stub, exact=False)
            check_orpcthis(request.orpcthis, orpc=True)  # pctinfo is 1: GetTypeInfo answers
            return wire.GetTypeInfoCountResponse(ORPCTHAT(), 1, hresult.S_OK).encode()
        if opnum == wire.OP_GET_TYPE_INFO:
            return self._get_type_info(target, call)
        raise RpcFault(NCA_S_OP_RNG_ERROR, did_not_execute=True)

    # -- GetIDsOfNames (MS-OAUT 3.1.4.3) ------------------------------------------------------
    def _get_ids_of_names(self, target: Any, call: Any) -> bytes:
        request = wire.GetIDsOfNamesRequest.decode(call.stub, exact=False)
        check_orpcthis(request.orpcthis, orpc=True)
        names = request.rgszNames or []
        if request.cNames != len(names) or request.cNames > wire.MAX_NAMES:
            raise RpcFault(hresult.RPC_X_BAD_STUB_DATA, "cNames disagrees with rgszNames")
        if request.riid != IID_NULL:
            code, dispids = hresult.DISP_E_UNKNOWNINTERFACE, [wire.DISPID_UNKNOWN] * len(names)
        elif any(name is None for name in names):
            code, dispids = hresult.E_INVALIDARG, [wire.DISPID_UNKNOWN] * len(names)
        else:
            dispatcher = self.dispatcher(target)
            code, dispids = self.exporter.run_in_context(
                target, request.orpcthis.cid.bytes_le, call.security,
                dispatcher.get_ids_of_names, names)
        return wire.GetIDsOfNamesResponse(ORPCTHAT(), dispids, code).encode()

    # -- Invoke (MS-OAUT 3.1.4.4) ---------------------------------------------------------------
    def _invoke(self, target: Any, call: Any) -> bytes:
        fixed = invoke_codec.decode_fixed_request(call.stub)
        if fixed is not None and fixed[4] and invoke_codec.PLAIN_VTS.issuperset(fixed[7]):
            # numbers and booleans in, riid IID_NULL: no Variant on the way in or out
            version, orpc_flags, cid, dispid, _, _, dw_flags, vts, values = fixed
            check_version(version, orpc_flags)
            answer = self.exporter.run_in_context(target, cid, call.security, invoke_values,
                                                  target, dispid, dw_flags & ~_WANTS, values,
                                                  vts, self.dispatcher)
            if type(answer) is tuple:
                result = None if dw_flags & wire.DISPATCH_ZEROVARRESULT else answer[1]
                vt = EMPTY_VT if result is None else invoke_codec.plain_vt(result)
                data = invoke_codec.encode_fixed_response(vt, result, hresult.S_OK) \
                    if vt is not None else None
                if data is not None:
                    return data
                answer = self.dispatcher(target).result_outcome(dispid, result)
            return encode_invoke_response(answer, [], dw_flags)
        try:
            request = invoke_codec.decode_request(call.stub)
        except NdrError as exc:
            raise RpcFault(hresult.RPC_X_BAD_STUB_DATA, str(exc)) from None
        check_version(request.version, request.flags)
        args, varref = request.args, request.varref
        if len(request.named) > len(args) or len(request.varref_index) != len(varref):
            outcome = InvokeOutcome(hresult.E_INVALIDARG)
        elif not request.riid_null:
            outcome = InvokeOutcome(hresult.DISP_E_UNKNOWNINTERFACE)
        elif None in args or None in varref:
            outcome = InvokeOutcome(hresult.E_INVALIDARG)
        else:
            dispatcher = self.dispatcher(target)
            flags = request.dw_flags & ~_WANTS
            outcome = self.exporter.run_in_context(
                target, request.cid, call.security, dispatcher.invoke, request.dispid, flags,
                args, request.named, request.varref_index, varref)
        return encode_invoke_response(outcome, varref, request.dw_flags)

    # -- GetTypeInfo (MS-OAUT 3.1.4.2) ----------------------------------------------------------
    def _get_type_info(self, target: Any, call: Any) -> bytes:
        request = wire.GetTypeInfoRequest.decode(call.stub, exact=False)
        check_orpcthis(request.orpcthis, orpc=True)
        if request.iTInfo != 0:
            return wire.GetTypeInfoResponse(ORPCTHAT(), None, hresult.DISP_E_BADINDEX).encode()
        info = TypeInfo.of(type(target))
        pointer = self.exporter.marshal_pointer(info, IID_ITypeInfo)
        return wire.GetTypeInfoResponse(ORPCTHAT(), pointer, hresult.S_OK).encode()


def encode_invoke_response(outcome: InvokeOutcome, varref_in: list, flags: int) -> bytes:
    """Invoke's [out] side (MS-OAUT 3.1.4.4): the result, the EXCEPINFO, the bad argument's
    index, and rgVarRef as many as came in (unchanged where the call failed; NULL ones, which
    only a failed call has, as VT_EMPTY)."""
    ok = outcome.hresult == hresult.S_OK
    varref = outcome.varref if ok and len(outcome.varref) == len(varref_in) else varref_in
    result = outcome.result if ok and not flags & wire.DISPATCH_ZEROVARRESULT else EMPTY
    return invoke_codec.encode_response(result, outcome.error, outcome.arg_error,
                                        [EMPTY if v is None else v for v in varref],
                                        outcome.hresult)
