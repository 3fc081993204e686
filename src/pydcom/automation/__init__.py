"""Automation: IDispatch and VARIANT (MS-OAUT), Python objects served and called late-bound.

Importing this package makes IDispatch an interface every exported Python object serves (a
class object excepted), and declared IIDs without methods of their own dual interfaces.
"""

from pydcom.automation import idispatch_wire as _wire
from pydcom.automation.client import ByRef, Dispatch, dispatch, wrap
from pydcom.automation.errors import DispatchError
from pydcom.automation.stub import DispatchStub
from pydcom.automation.variant import VT, SafeArray, Variant
from pydcom.runtime.interfaces import ComInterface, Method, register_interface

IDispatch = register_interface(ComInterface("IDispatch", _wire.IID_IDispatch, (
    Method("GetTypeInfoCount", _wire.OP_GET_TYPE_INFO_COUNT, _wire.GetTypeInfoCountRequest,
           _wire.GetTypeInfoCountResponse),
    Method("GetTypeInfo", _wire.OP_GET_TYPE_INFO, _wire.GetTypeInfoRequest,
           _wire.GetTypeInfoResponse),
    Method("GetIDsOfNames", _wire.OP_GET_IDS_OF_NAMES, _wire.GetIDsOfNamesRequest,
           _wire.GetIDsOfNamesResponse),
    Method("Invoke", _wire.OP_INVOKE, _wire.InvokeRequest, _wire.InvokeResponse),
), stub=DispatchStub, dual=True))
"""IDispatch (MS-OAUT 3.1.4), served for every exported object by ``DispatchStub``."""

__all__ = ["ByRef", "Dispatch", "DispatchError", "IDispatch", "SafeArray", "VT", "Variant",
           "dispatch", "wrap"]
