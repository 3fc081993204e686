"""ITypeInfo (MS-OAUT 3.7): what IDispatch::GetTypeInfo (MS-OAUT 3.1.4.2) hands out, so that
generic clients can list an object's members, and ``describe``, which reads it back.

A Python class is described as a dispinterface (TKIND_DISPATCH, MS-OAUT 3.7.1.2) built from its
member table (``pydcom.automation.members.members_of``): its methods are the dispatch method
table, as FUNCDESCs (FUNC_DISPATCH, INVOKE_FUNC, every parameter and result a VARIANT), and its
properties the data member table, as VARDESCs (VAR_DISPATCH, VARFLAG_FREADONLY when they cannot
be put). MEMBERIDs are the DISPIDs GetIDsOfNames answers (MS-OAUT 2.2.35). Names and
docstrings are what GetNames and GetDocumentation give.

What a Python class does not have is answered as MS-OAUT says a type without it is:
- the interface table is left empty (cImplTypes 0), so GetRefTypeOfImplType and GetImplTypeFlags
  answer TYPE_E_ELEMENTNOTFOUND for every index (3.7.4.6, 3.7.4.7). MS-OAUT 3.7.1.2 gives an
  ODL dispinterface one entry, IDispatch, but describing IDispatch takes VT_PTR types that
  ``typeinfo_wire`` does not carry; with no entry there is no HREFTYPE to follow either, so
  GetRefTypeInfo answers TYPE_E_ELEMENTNOTFOUND (3.7.4.10);
- no ITypeComp and no containing type library: E_NOTIMPL (3.7.4.2, 3.7.4.13);
- not a module: GetDllEntry answers TYPE_E_BADMODULEKIND (3.7.4.9); not a coclass:
  CreateInstance answers TYPE_E_BADMODULEKIND (3.7.4.11);
- GetMops has no effect across the wire: S_OK and a NULL BSTR (3.7.4.12).
Every [out] parameter is written in the spec's layout on failure too, as NULLs and zeros.

A method's ``*args`` is not announced as [vararg] (cParamsOpt -1, MS-OAUT 2.2.42): a [vararg]
client packs the extra arguments into one SAFEARRAY (3.1.4.4.3), which the Dispatcher does not
unpack. Public instance attributes (properties found when asked for) are not described: the
description is of the class, the same for all its objects.

A ``TypeInfo`` is made once per class, never changed, and shared by every thread and client.
"""

from __future__ import annotations

import inspect
import threading
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

from pydcom import hresult
from pydcom.automation import typeinfo_wire as wire
from pydcom.automation.client import Dispatch, LocalChannel, RemoteChannel
from pydcom.automation.members import METHOD, PROPERTY, Member, members_of
from pydcom.automation.variant import VT
from pydcom.hresult import ComError
from pydcom.rpc import RpcFault
from pydcom.rpc.constants import NCA_S_OP_RNG_ERROR
from pydcom.runtime import causality
from pydcom.runtime.interfaces import ComInterface, Method, register_interface, syntax_of
from pydcom.runtime.orpc_checks import check_orpcthis
from pydcom.runtime.proxy import Proxy
from pydcom.wire.orpc import ORPCTHAT, orpcthis

IID_ITypeInfo = wire.IID_ITypeInfo
IID_ITypeComp = uuid.UUID("00020403-0000-0000-c000-000000000046")  # MS-OAUT 1.9
IID_ITypeLib = uuid.UUID("00020402-0000-0000-c000-000000000046")  # MS-OAUT 1.9
IID_NULL = uuid.UUID(int=0)

_NAME_AND_DOC = wire.TYPEINFO_NAMEARG | wire.TYPEINFO_DOCSTRINGARG


def _element(flags: int = 0) -> wire.ELEMDESC:
    """An ELEMDESC of type VARIANT (MS-OAUT 2.2.41); ``flags`` are a parameter's PARAMFLAGs, 0
    for a result or a data member, and there is never a default value (pparamdescex NULL)."""
    return wire.ELEMDESC(wire.typedesc(VT.VARIANT), wire.PARAMDESC(None, flags))


# -- the server side: a class described ---------------------------------------------------------
_cache_lock = threading.Lock()
_cache: "weakref.WeakKeyDictionary[type, TypeInfo]" = weakref.WeakKeyDictionary()


class TypeInfo:
    """An automation type description of a Python class (MS-OAUT 3.7.1): a dispinterface whose
    dispatch method table is the class's methods and whose data member table is its properties.
    Served through ITypeInfo only (and IUnknown); immutable.

    The methods named after ITypeInfo's (MS-OAUT 3.7.4) answer with the values the wire carries
    and raise ``ComError`` with the HRESULT the spec prescribes; ``TypeInfoStub`` puts them on
    the wire.
    """

    _dispatch_ = False  # no IDispatch of its own: IUnknown and ITypeInfo
    _com_interfaces_ = (IID_ITypeInfo,)
    _reg_threading_ = "both"  # nothing in it changes: any thread may read it
    __slots__ = ("name", "doc", "functions", "variables", "_by_memid", "__weakref__")

    name: str
    doc: str
    functions: tuple[Member, ...]
    variables: tuple[Member, ...]

    def __init__(self, name: str, doc: str, members: tuple[Member, ...] | list[Member]) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "doc", doc)
        set_(self, "functions", tuple(m for m in members if m.kind == METHOD))
        set_(self, "variables", tuple(m for m in members if m.kind == PROPERTY))
        set_(self, "_by_memid", {m.dispid: m for m in members})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a TypeInfo does not change ({name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a TypeInfo does not change ({name})")

    @classmethod
    def of(cls, described: type) -> "TypeInfo":
        """The one TypeInfo of a class, made at its first request (MS-OAUT 3.7.3: its tables
        never change afterwards)."""
        with _cache_lock:
            found = _cache.get(described)
            if found is None:
                found = cls(described.__name__, inspect.getdoc(described) or "",
                            list(members_of(described)))
                _cache[described] = found
        return found

    def __repr__(self) -> str:
        return (f"<TypeInfo {self.name}: {len(self.functions)} methods, "
                f"{len(self.variables)} properties>")

    def member(self, memid: int) -> Member:
        found = self._by_memid.get(memid)
        if found is None:
            raise ComError(wire.TYPE_E_ELEMENTNOTFOUND, f"{self.name} has no member {memid}")
        return found

    # -- ITypeInfo's methods (MS-OAUT 3.7.4), with Python values -------------------------------
    def GetTypeAttr(self) -> wire.TYPEATTR:
        """MS-OAUT 3.7.4.1: the TYPEATTR (2.2.44) of a dispinterface with no [uuid] (IID_NULL),
        no type library (version 0.0, lcid 0) and an empty interface table."""
        return wire.TYPEATTR(
            guid=IID_NULL, lcid=0, dwReserved1=0, dwReserved2=0xFFFFFFFF, dwReserved3=0xFFFFFFFF,
            lpstrReserved4=None, cbSizeInstance=wire.POINTER_SIZE, typekind=wire.TKIND_DISPATCH,
            cFuncs=len(self.functions), cVars=len(self.variables), cImplTypes=0,
            cbSizeVft=7 * wire.POINTER_SIZE, cbAlignment=wire.POINTER_SIZE,
            wTypeFlags=wire.TYPEFLAG_FDISPATCHABLE, wMajorVerNum=0, wMinorVerNum=0,
            tdescAlias=wire.typedesc(VT.EMPTY), dwReserved5=0, wReserved6=0)

    def GetFuncDesc(self, index: int) -> wire.FUNCDESC:
        """MS-OAUT 3.7.4.3: the FUNCDESC (2.2.42) of the method at ``index`` in the dispatch
        method table; TYPE_E_ELEMENTNOTFOUND past its end."""
        if not 0 <= index < len(self.functions):
            raise ComError(wire.TYPE_E_ELEMENTNOTFOUND, f"{self.name} has no method #{index}")
        member = self.functions[index]
        params = [_element(wire.PARAMFLAG_FIN | (wire.PARAMFLAG_FOPT if p.optional else 0))
                  for p in member.params]
        return wire.FUNCDESC(
            memid=member.dispid, lReserved1=None, lprgelemdescParam=params or None,
            funckind=wire.FUNC_DISPATCH, invkind=wire.INVOKE_FUNC, callconv=wire.CC_STDCALL,
            cParams=len(params), cParamsOpt=sum(1 for p in member.params if p.optional),
            oVft=0, cReserved2=0, elemdescFunc=_element(), wFuncFlags=0)

    def GetVarDesc(self, index: int) -> wire.VARDESC:
        """MS-OAUT 3.7.4.4: the VARDESC (2.2.43) of the property at ``index`` in the data member
        table; TYPE_E_ELEMENTNOTFOUND past its end."""
        if not 0 <= index < len(self.variables):
            raise ComError(wire.TYPE_E_ELEMENTNOTFOUND, f"{self.name} has no property #{index}")
        member = self.variables[index]
        return wire.VARDESC(
            memid=member.dispid, lpstrReserved=None, _vdUnion=(wire.VAR_DISPATCH, 0),
            elemdescVar=_element(), wVarFlags=wire.VARFLAG_FREADONLY if member.readonly else 0,
            varkind=wire.VAR_DISPATCH)

    def GetNames(self, memid: int, max_names: int) -> list[str]:
        """MS-OAUT 3.7.4.5: the member's name, then (for a method) its parameters' names, at
        most ``max_names``; TYPE_E_ELEMENTNOTFOUND for a MEMBERID that is no member's."""
        member = self.member(memid)
        names = [member.name] + [p.name for p in member.params]
        return names[:max_names]

    def GetRefTypeOfImplType(self, index: int) -> int:
        """MS-OAUT 3.7.4.6: the interface table is empty, and the type is not a dual interface
        (so index -1 names nothing either): TYPE_E_ELEMENTNOTFOUND."""
        raise ComError(wire.TYPE_E_ELEMENTNOTFOUND, f"{self.name} has no interface #{index}")

    def GetImplTypeFlags(self, index: int) -> int:
        """MS-OAUT 3.7.4.7: the interface table is empty: TYPE_E_ELEMENTNOTFOUND."""
        raise ComError(wire.TYPE_E_ELEMENTNOTFOUND, f"{self.name} has no interface #{index}")

    def GetDocumentation(self, memid: int, flags: int
                         ) -> tuple[str | None, str | None, int, str | None]:
        """MS-OAUT 3.7.4.8: (name, docstring, help context, help file) of the type
        (MEMBERID_NIL) or of a member, each only if ``flags`` asks for it (NULL BSTRs and 0
        otherwise); a missing docstring is a NULL BSTR. TYPE_E_ELEMENTNOTFOUND for a MEMBERID
        that is no member's."""
        if memid == wire.MEMBERID_NIL:
            name, doc = self.name, self.doc
        else:
            member = self.member(memid)
            name, doc = member.name, member.doc
        return (name if flags & wire.TYPEINFO_NAMEARG else None,
                (doc or None) if flags & wire.TYPEINFO_DOCSTRINGARG else None,
                0, None)  # no [helpcontext], no [helpfile]

    def GetTypeComp(self) -> Any:
        """MS-OAUT 3.7.4.2: no ITypeComp server here."""
        raise ComError(hresult.E_NOTIMPL, "ITypeInfo::GetTypeComp")

    def GetDllEntry(self, memid: int, invkind: int, flags: int) -> tuple[None, None, int]:
        """MS-OAUT 3.7.4.9: the type is not a module: TYPE_E_BADMODULEKIND."""
        raise ComError(wire.TYPE_E_BADMODULEKIND, f"{self.name} is not a module")

    def GetRefTypeInfo(self, hreftype: int) -> Any:
        """MS-OAUT 3.7.4.10: this type hands out no HREFTYPE: TYPE_E_ELEMENTNOTFOUND."""
        raise ComError(wire.TYPE_E_ELEMENTNOTFOUND, f"{self.name} has no HREFTYPE {hreftype}")

    def CreateInstance(self, riid: uuid.UUID) -> Any:
        """MS-OAUT 3.7.4.11: the type is not a coclass: TYPE_E_BADMODULEKIND."""
        raise ComError(wire.TYPE_E_BADMODULEKIND, f"{self.name} is not a coclass")

    def GetMops(self, memid: int) -> None:
        """MS-OAUT 3.7.4.12: no effect across the wire; a NULL BSTR."""
        return None

    def GetContainingTypeLib(self) -> Any:
        """MS-OAUT 3.7.4.13: no type library contains this type."""
        raise ComError(hresult.E_NOTIMPL, "ITypeInfo::GetContainingTypeLib")


# -- ITypeInfo served over ORPC ------------------------------------------------------------------
def _outcome(target: Any, call: Any) -> tuple[Any, int]:
    """(what ``call(info)`` gave, S_OK), or (None, its HRESULT). An object that is not a
    TypeInfo but claims ITypeInfo in its ``_com_interfaces_`` describes nothing: E_NOTIMPL."""
    if not isinstance(target, TypeInfo):
        return None, hresult.E_NOTIMPL
    try:
        return call(target), hresult.S_OK
    except ComError as exc:
        return None, exc.hresult


class TypeInfoStub:
    """Serves ITypeInfo's methods (MS-OAUT 3.7.4) for the TypeInfo objects of one exporter.

    Requests are read as MS-OAUT declares them (bytes after a complete request are ignored, as
    IDispatch's stub does); a malformed one is a fault (RPC_X_BAD_STUB_DATA), and the object goes
    on answering. Nothing here runs the user's code, so calls are answered on the thread that
    received them.
    """

    def __init__(self, exporter: Any) -> None:
        self.exporter = exporter

    def __call__(self, target: Any, call: Any) -> bytes:
        """One ORPC call (MS-DCOM 3.1.1.5.4); the exporter has found ``target`` by the call's
        IPID."""
        handler = _HANDLERS.get(call.opnum)
        if handler is None:  # 10, 11, 15, 19-21: reserved for local use (MS-OAUT 3.7.4)
            raise RpcFault(NCA_S_OP_RNG_ERROR, did_not_execute=True)
        return handler(self, target, call)

    def _request(self, kind: type, call: Any) -> Any:
        """The call's [in] parameters, its ORPCTHIS checked (MS-DCOM 3.1.1.5.4)."""
        request = kind.decode(call.stub, exact=False)
        check_orpcthis(request.orpcthis, orpc=True)
        return request

    def get_type_attr(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.1"""
        self._request(wire.EmptyRequest, call)
        attr, hr = _outcome(target, lambda info: info.GetTypeAttr())
        return wire.GetTypeAttrResponse(ORPCTHAT(), attr, 0, hr).encode()

    def get_type_comp(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.2"""
        self._request(wire.EmptyRequest, call)
        _, hr = _outcome(target, lambda info: info.GetTypeComp())
        return wire.InterfacePointerResponse(ORPCTHAT(), None, hr).encode()

    def get_func_desc(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.3"""
        request = self._request(wire.IndexRequest, call)
        desc, hr = _outcome(target, lambda info: info.GetFuncDesc(request.index))
        return wire.GetFuncDescResponse(ORPCTHAT(), desc, 0, hr).encode()

    def get_var_desc(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.4"""
        request = self._request(wire.IndexRequest, call)
        desc, hr = _outcome(target, lambda info: info.GetVarDesc(request.index))
        return wire.GetVarDescResponse(ORPCTHAT(), desc, 0, hr).encode()

    def get_names(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.5: rgBstrNames as a conformant varying array of cMaxNames, as many
        names in it as pcNames says (none on failure)."""
        request = self._request(wire.GetNamesRequest, call)
        names, hr = _outcome(target, lambda info: info.GetNames(request.memid, request.cMaxNames))
        return wire.encode_get_names_response(names or [], request.cMaxNames, hr)

    def get_ref_type_of_impl_type(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.6"""
        request = self._request(wire.IndexRequest, call)
        value, hr = _outcome(target, lambda info: info.GetRefTypeOfImplType(request.index))
        return wire.RefTypeResponse(ORPCTHAT(), value or 0, hr).encode()

    def get_impl_type_flags(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.7"""
        request = self._request(wire.IndexRequest, call)
        value, hr = _outcome(target, lambda info: info.GetImplTypeFlags(request.index))
        return wire.RefTypeResponse(ORPCTHAT(), value or 0, hr).encode()

    def get_documentation(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.8: each [out] value only if refPtrFlags asks for it."""
        request = self._request(wire.GetDocumentationRequest, call)
        values, hr = _outcome(target, lambda info: info.GetDocumentation(request.memid,
                                                                         request.refPtrFlags))
        name, doc, context, help_file = values or (None, None, 0, None)
        return wire.GetDocumentationResponse(ORPCTHAT(), name, doc, context, help_file,
                                             hr).encode()

    def get_dll_entry(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.9"""
        request = self._request(wire.GetDllEntryRequest, call)
        values, hr = _outcome(target, lambda info: info.GetDllEntry(
            request.memid, request.invKind, request.refPtrFlags))
        dll, name, ordinal = values or (None, None, 0)
        return wire.GetDllEntryResponse(ORPCTHAT(), dll, name, ordinal, hr).encode()

    def get_ref_type_info(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.10: ppTInfo NULL when hRefType names no type."""
        request = self._request(wire.GetRefTypeInfoRequest, call)
        _, hr = _outcome(target, lambda info: info.GetRefTypeInfo(request.hRefType))
        return wire.InterfacePointerResponse(ORPCTHAT(), None, hr).encode()

    def create_instance(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.11: ppvObj NULL when no instance is made."""
        request = self._request(wire.CreateInstanceRequest, call)
        _, hr = _outcome(target, lambda info: info.CreateInstance(request.riid))
        return wire.InterfacePointerResponse(ORPCTHAT(), None, hr).encode()

    def get_mops(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.12: pBstrMops a NULL BSTR."""
        request = self._request(wire.GetMopsRequest, call)
        _, hr = _outcome(target, lambda info: info.GetMops(request.memid))
        return wire.GetMopsResponse(ORPCTHAT(), None, hr).encode()

    def get_containing_type_lib(self, target: Any, call: Any) -> bytes:
        """MS-OAUT 3.7.4.13"""
        self._request(wire.EmptyRequest, call)
        _, hr = _outcome(target, lambda info: info.GetContainingTypeLib())
        return wire.GetContainingTypeLibResponse(ORPCTHAT(), None, 0, hr).encode()


_HANDLERS = {
    wire.OP_GET_TYPE_ATTR: TypeInfoStub.get_type_attr,
    wire.OP_GET_TYPE_COMP: TypeInfoStub.get_type_comp,
    wire.OP_GET_FUNC_DESC: TypeInfoStub.get_func_desc,
    wire.OP_GET_VAR_DESC: TypeInfoStub.get_var_desc,
    wire.OP_GET_NAMES: TypeInfoStub.get_names,
    wire.OP_GET_REF_TYPE_OF_IMPL_TYPE: TypeInfoStub.get_ref_type_of_impl_type,
    wire.OP_GET_IMPL_TYPE_FLAGS: TypeInfoStub.get_impl_type_flags,
    wire.OP_GET_DOCUMENTATION: TypeInfoStub.get_documentation,
    wire.OP_GET_DLL_ENTRY: TypeInfoStub.get_dll_entry,
    wire.OP_GET_REF_TYPE_INFO: TypeInfoStub.get_ref_type_info,
    wire.OP_CREATE_INSTANCE: TypeInfoStub.create_instance,
    wire.OP_GET_MOPS: TypeInfoStub.get_mops,
    wire.OP_GET_CONTAINING_TYPE_LIB: TypeInfoStub.get_containing_type_lib,
}

ITypeInfo = register_interface(ComInterface("ITypeInfo", IID_ITypeInfo, (
    Method("GetTypeAttr", wire.OP_GET_TYPE_ATTR, wire.EmptyRequest, wire.GetTypeAttrResponse),
    Method("GetTypeComp", wire.OP_GET_TYPE_COMP, wire.EmptyRequest,
           wire.InterfacePointerResponse, {"ppOut": IID_ITypeComp}),
    Method("GetFuncDesc", wire.OP_GET_FUNC_DESC, wire.IndexRequest, wire.GetFuncDescResponse),
    Method("GetVarDesc", wire.OP_GET_VAR_DESC, wire.IndexRequest, wire.GetVarDescResponse),
    Method("GetNames", wire.OP_GET_NAMES, wire.GetNamesRequest, wire.GetNamesResponse),
    Method("GetRefTypeOfImplType", wire.OP_GET_REF_TYPE_OF_IMPL_TYPE, wire.IndexRequest,
           wire.RefTypeResponse),
    Method("GetImplTypeFlags", wire.OP_GET_IMPL_TYPE_FLAGS, wire.IndexRequest,
           wire.RefTypeResponse),
    Method("GetDocumentation", wire.OP_GET_DOCUMENTATION, wire.GetDocumentationRequest,
           wire.GetDocumentationResponse),
    Method("GetDllEntry", wire.OP_GET_DLL_ENTRY, wire.GetDllEntryRequest,
           wire.GetDllEntryResponse),
    Method("GetRefTypeInfo", wire.OP_GET_REF_TYPE_INFO, wire.GetRefTypeInfoRequest,
           wire.InterfacePointerResponse, {"ppOut": IID_ITypeInfo}),
    Method("CreateInstance", wire.OP_CREATE_INSTANCE, wire.CreateInstanceRequest,
           wire.InterfacePointerResponse, {"ppOut": None}),
    Method("GetMops", wire.OP_GET_MOPS, wire.GetMopsRequest, wire.GetMopsResponse),
    Method("GetContainingTypeLib", wire.OP_GET_CONTAINING_TYPE_LIB, wire.EmptyRequest,
           wire.GetContainingTypeLibResponse, {"ppTLib": IID_ITypeLib}),
), stub=TypeInfoStub))
"""ITypeInfo (MS-OAUT 3.7.4), served for TypeInfo objects by ``TypeInfoStub``."""


# -- the client side: a remote object's members, read through its ITypeInfo ----------------------
@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member as a type description lists it: ``kind`` is "method" or "property";
    ``params`` the parameter names, of which the last ``optional`` may be left out;
    ``varargs`` for a [vararg] method (cParamsOpt -1, MS-OAUT 2.2.42)."""

    name: str
    dispid: int
    kind: str
    params: tuple[str, ...] = ()
    optional: int = 0
    readonly: bool = False
    doc: str = ""
    varargs: bool = False


@dataclass(frozen=True, slots=True)
class TypeDescription:
    """A type's name and docstring (GetDocumentation of MEMBERID_NIL), its TYPEKIND, and its
    members in the order of its method table, then of its data member table."""

    name: str
    doc: str
    typekind: int
    members: tuple[MemberInfo, ...]


class _RemoteTypeInfo:
    """ITypeInfo's methods encoded for a proxy, answering as ``TypeInfo``'s do."""

    __slots__ = ("proxy", "_syntax")

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self._syntax = syntax_of(IID_ITypeInfo)

    def _call(self, name: str, opnum: int, request: Any, response: type) -> Any:
        """One ORPC call on the proxy's IPID; ComError when its HRESULT is a failure."""
        proxy = self.proxy
        answer = response.decode(proxy._call(self._syntax, opnum, request.encode(), proxy.ipid))
        if answer.hr & 0x80000000:
            raise ComError(answer.hr, f"ITypeInfo::{name}")
        return answer

    def GetTypeAttr(self) -> wire.TYPEATTR:
        """MS-OAUT 3.7.4.1"""
        answer = self._call("GetTypeAttr", wire.OP_GET_TYPE_ATTR,
                            wire.EmptyRequest(orpcthis(causality.current())),
                            wire.GetTypeAttrResponse)
        if answer.ppTypeAttr is None:
            raise ComError(hresult.RPC_E_UNEXPECTED, "ITypeInfo::GetTypeAttr gave no TYPEATTR")
        return answer.ppTypeAttr

    def GetFuncDesc(self, index: int) -> wire.FUNCDESC:
        """MS-OAUT 3.7.4.3"""
        answer = self._call("GetFuncDesc", wire.OP_GET_FUNC_DESC,
                            wire.IndexRequest(orpcthis(causality.current()), index),
                            wire.GetFuncDescResponse)
        if answer.ppFuncDesc is None:
            raise ComError(hresult.RPC_E_UNEXPECTED, "ITypeInfo::GetFuncDesc gave no FUNCDESC")
        return answer.ppFuncDesc

    def GetVarDesc(self, index: int) -> wire.VARDESC:
        """MS-OAUT 3.7.4.4"""
        answer = self._call("GetVarDesc", wire.OP_GET_VAR_DESC,
                            wire.IndexRequest(orpcthis(causality.current()), index),
                            wire.GetVarDescResponse)
        if answer.ppVarDesc is None:
            raise ComError(hresult.RPC_E_UNEXPECTED, "ITypeInfo::GetVarDesc gave no VARDESC")
        wire.check_selector(answer.ppVarDesc)
        return answer.ppVarDesc

    def GetNames(self, memid: int, max_names: int) -> list[str]:
        """MS-OAUT 3.7.4.5: no more names than asked for, and as many as pcNames says."""
        answer = self._call("GetNames", wire.OP_GET_NAMES,
                            wire.GetNamesRequest(orpcthis(causality.current()), memid, max_names),
                            wire.GetNamesResponse)
        names = list(answer.rgBstrNames or ())
        if len(names) != answer.pcNames or len(names) > max_names:
            raise ComError(hresult.RPC_E_UNEXPECTED,
                           f"ITypeInfo::GetNames: {len(names)} names, pcNames {answer.pcNames}")
        return [name or "" for name in names]

    def GetDocumentation(self, memid: int, flags: int
                         ) -> tuple[str | None, str | None, int, str | None]:
        """MS-OAUT 3.7.4.8"""
        answer = self._call("GetDocumentation", wire.OP_GET_DOCUMENTATION,
                            wire.GetDocumentationRequest(orpcthis(causality.current()), memid,
                                                         flags),
                            wire.GetDocumentationResponse)
        return (answer.pBstrName, answer.pBstrDocString, answer.pdwHelpContext,
                answer.pBstrHelpFile)


def _optional_count(desc: wire.FUNCDESC) -> int:
    """How many parameters may be left out: those flagged optional or with a default
    (MS-OAUT 2.2.42 note <21>: cParamsOpt alone does not say it)."""
    flags = [e.paramdesc.wParamFlags for e in desc.lprgelemdescParam or ()]
    return sum(1 for f in flags if f & (wire.PARAMFLAG_FOPT | wire.PARAMFLAG_FHASDEFAULT))


class _Found:
    """What the method and data member tables say of one MEMBERID, gathered while reading."""

    __slots__ = ("name", "kind", "params", "optional", "varargs", "get", "put", "readonly")

    def __init__(self, name: str) -> None:
        self.name = name
        self.kind = PROPERTY
        self.params: tuple[str, ...] = ()
        self.optional = 0
        self.varargs = self.get = self.put = False
        self.readonly: bool | None = None  # a data member's VARFLAG_FREADONLY, when it is one


def _read(info: Any) -> TypeDescription:
    """A type description read through ITypeInfo's methods, as MS-OAUT 4.8.5 reads one:
    GetTypeAttr, then GetFuncDesc, GetNames and GetDocumentation for each method, and
    GetVarDesc, GetNames and GetDocumentation for each data member. Restricted members (such as
    the IUnknown and IDispatch methods a dual interface's description lists) are left out;
    property accessors (INVOKE_PROPERTYGET/PUT/PUTREF) of one MEMBERID make one property,
    read-only when it has no put."""
    attr = info.GetTypeAttr()
    type_name, type_doc, _, _ = info.GetDocumentation(wire.MEMBERID_NIL, _NAME_AND_DOC)
    found: dict[int, _Found] = {}  # by MEMBERID, in table order
    for index in range(attr.cFuncs):
        desc = info.GetFuncDesc(index)
        if desc.wFuncFlags & wire.FUNCFLAG_FRESTRICTED:
            continue
        names = info.GetNames(desc.memid, max(desc.cParams, 0) + 1)
        if not names:
            continue
        entry = found.setdefault(desc.memid, _Found(names[0]))
        if desc.invkind == wire.INVOKE_FUNC:
            entry.kind, entry.params = METHOD, tuple(names[1:])
            entry.optional, entry.varargs = _optional_count(desc), desc.cParamsOpt == -1
        elif desc.invkind == wire.INVOKE_PROPERTYGET:
            entry.get = True
            if entry.kind == PROPERTY:
                entry.params = tuple(names[1:])  # an indexed property's indexes
        else:  # a put's names are the get's, then the value's
            entry.put = True
            if entry.kind == PROPERTY and not entry.get:
                entry.params = tuple(names[1:-1])
    for index in range(attr.cVars):
        desc = info.GetVarDesc(index)
        if desc.wVarFlags & wire.VARFLAG_FRESTRICTED:
            continue
        names = info.GetNames(desc.memid, 1)
        if names:
            entry = found.setdefault(desc.memid, _Found(names[0]))
            entry.readonly = bool(desc.wVarFlags & wire.VARFLAG_FREADONLY)

    def doc_of(memid: int) -> str:
        try:
            return info.GetDocumentation(memid, wire.TYPEINFO_DOCSTRINGARG)[1] or ""
        except ComError:  # the names are known; a docstring is a nicety
            return ""

    members = tuple(MemberInfo(
        entry.name, memid, entry.kind, entry.params, entry.optional,
        readonly=entry.kind == PROPERTY and (
            entry.readonly if entry.readonly is not None else not entry.put),
        doc=doc_of(memid), varargs=entry.varargs) for memid, entry in found.items())
    return TypeDescription(type_name or "", type_doc or "", attr.typekind, members)


def describe_type(obj: Any) -> TypeDescription:
    """The type description of an automation object: for one in another process or on
    another machine (a ``Dispatch`` over a proxy, or an IDispatch proxy), read over the wire
    through IDispatch::GetTypeInfo (MS-OAUT 3.1.4.2) and ITypeInfo (3.7.4), every proxy
    obtained released; for one in this process, from its class's ``TypeInfo``.
    ``ComError`` with the server's HRESULT when the object has no type information."""

    if isinstance(obj, Dispatch):
        channel = obj._channel
        if isinstance(channel, LocalChannel):
            return _read(TypeInfo.of(type(channel.dispatcher.target)))
    elif isinstance(obj, Proxy):
        channel = RemoteChannel(obj)
    else:
        return _read(TypeInfo.of(type(obj)))
    if not isinstance(channel, RemoteChannel):
        raise ComError(hresult.E_NOTIMPL, f"no type information through {channel!r}")
    proxy = channel.type_info()
    if proxy is None:
        raise ComError(hresult.E_POINTER, "IDispatch::GetTypeInfo gave a NULL ITypeInfo")
    try:
        return _read(_RemoteTypeInfo(proxy))
    finally:
        proxy.release()


def describe(obj: Any) -> list[MemberInfo]:
    """The members an automation object's type information lists (see ``describe_type``):
    names, DISPIDs, kinds, parameter names, read-only flags and docstrings."""
    return list(describe_type(obj).members)
