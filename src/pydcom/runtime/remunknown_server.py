"""The Remote Unknown an exporter serves (MS-DCOM 3.1.1.5.6-7): IRemUnknown's
RemQueryInterface, RemAddRef and RemRelease, and IRemUnknown2's RemQueryInterface2, on the
exporter's IPID tables. Clients call it at the exporter's IRemUnknown IPID. The references
each method hands out or takes back are the caller's own (``CallSecurity.identity``).
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.rpc import RpcFault
from pydcom.rpc.calls import CallReceived
from pydcom.runtime.export_tables import ExportTables
from pydcom.runtime.orpc_checks import check_orpcthis
from pydcom.wire.dualstringarray import DualStringArray
from pydcom.wire.objref import DEFAULT_PUBLIC_REFS, ObjRefStandard, StdObjRef
from pydcom.wire.orpc import ORPCTHAT, REMQIRESULT, STDOBJREF, interface_pointer
from pydcom.wire.remunknown import (
    OP_REM_ADD_REF,
    OP_REM_QUERY_INTERFACE,
    OP_REM_QUERY_INTERFACE2,
    OP_REM_RELEASE,
    OrpcHresultResponse,
    RemAddRefRequest,
    RemAddRefResponse,
    RemQueryInterface2Request,
    RemQueryInterface2Response,
    RemQueryInterfaceRequest,
    RemQueryInterfaceResponse,
    RemReleaseRequest,
)


class RemUnknownServer:
    """IRemUnknown and IRemUnknown2 of one exporter. ``supported`` gives the IIDs an object
    answers QueryInterface for; ``serve`` starts serving an interface a query handed out."""

    def __init__(self, tables: ExportTables, oxid: int, ipid: uuid.UUID,
                 resolver_bindings: DualStringArray,
                 supported: Callable[[Any], frozenset[uuid.UUID]],
                 serve: Callable[[uuid.UUID], None]) -> None:
        self.tables = tables
        self.oxid = oxid
        self.ipid = ipid
        self.resolver_bindings = resolver_bindings
        self._supported = supported
        self._serve = serve

    def operations(self) -> dict[int, Callable[[CallReceived], bytes]]:
        """IRemUnknown's methods by opnum."""
        return {
            OP_REM_QUERY_INTERFACE: self.rem_query_interface,
            OP_REM_ADD_REF: self.rem_add_ref,
            OP_REM_RELEASE: self.rem_release,
        }

    def operations2(self) -> dict[int, Callable[[CallReceived], bytes]]:
        """IRemUnknown2's methods by opnum: IRemUnknown's and RemQueryInterface2."""
        return {**self.operations(), OP_REM_QUERY_INTERFACE2: self.rem_query_interface2}

    def _request(self, call: CallReceived, request_cls):
        if call.object != self.ipid:
            raise RpcFault(hresult.RPC_E_DISCONNECTED, f"{call.object} is not the Remote Unknown")
        request = request_cls.decode(call.stub, exact=False)
        check_orpcthis(request.orpcthis, orpc=True)
        return request

    def _query(self, call: CallReceived, ripid: uuid.UUID, iids: list[uuid.UUID], refs: int):
        found = self.tables.query(ripid, iids, refs, self._supported, call.security.identity)
        for _, entry in found:
            if entry is not None:
                self._serve(entry.iid)
        return found

    def rem_query_interface(self, call: CallReceived) -> bytes:
        """RemQueryInterface (MS-DCOM 3.1.1.5.6.1.1)."""
        request = self._request(call, RemQueryInterfaceRequest)
        try:
            found = self._query(call, request.ripid, request.iids, request.cRefs)
        except ComError as exc:
            return RemQueryInterfaceResponse(ORPCTHAT(), None, exc.hresult).encode()
        results = [REMQIRESULT(code, STDOBJREF(0, request.cRefs, self.oxid, e.oid, e.ipid)
                               if e is not None else STDOBJREF())
                   for code, e in found]
        return RemQueryInterfaceResponse(ORPCTHAT(), results, hresult.S_OK).encode()

    def rem_query_interface2(self, call: CallReceived) -> bytes:
        """RemQueryInterface2 (MS-DCOM 3.1.1.5.7.1.1): the same, answered as OBJREFs."""
        request = self._request(call, RemQueryInterface2Request)
        try:
            found = self._query(call, request.ripid, request.iids, DEFAULT_PUBLIC_REFS)
        except ComError as exc:
            return RemQueryInterface2Response(ORPCTHAT(), [], [], exc.hresult).encode()
        codes = [code for code, _ in found]
        pointers = [interface_pointer(ObjRefStandard(
            e.iid, StdObjRef(0, DEFAULT_PUBLIC_REFS, self.oxid, e.oid, e.ipid),
            self.resolver_bindings)) if e is not None else None for _, e in found]
        return RemQueryInterface2Response(ORPCTHAT(), codes, pointers, hresult.S_OK).encode()

    def rem_add_ref(self, call: CallReceived) -> bytes:
        """RemAddRef (MS-DCOM 3.1.1.5.6.1.2)."""
        request = self._request(call, RemAddRefRequest)
        results = self.tables.add_refs(request.InterfaceRefs, call.security.identity)
        return RemAddRefResponse(ORPCTHAT(), results, hresult.S_OK).encode()

    def rem_release(self, call: CallReceived) -> bytes:
        """RemRelease (MS-DCOM 3.1.1.5.6.1.3): counts clamp at 0; unknown IPIDs are skipped."""
        request = self._request(call, RemReleaseRequest)
        self.tables.release_refs(request.InterfaceRefs, call.security.identity)
        return OrpcHresultResponse(ORPCTHAT(), hresult.S_OK).encode()

