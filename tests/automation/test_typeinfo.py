"""ITypeInfo (MS-OAUT 3.7) end to end: IDispatch::GetTypeInfo of objects served by a real
activation service (their classes in a surrogate process), read by pydcom's ``describe`` and by
impacket's independent ITypeInfo client, over real sockets on 127.0.0.23."""

from __future__ import annotations

import contextlib
import struct
import threading
import uuid

import pytest
from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dcom import oaut
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_NONE, DCERPCException
from impacket.uuid import string_to_bin

from pydcom import hresult
from pydcom.automation import typeinfo_wire as tw
from pydcom.automation.client import wrap
from pydcom.automation.members import dispid_of
from pydcom.automation.typeinfo import (
    IID_ITypeInfo,
    MemberInfo,
    TypeInfo,
    describe,
    describe_type,
)
from pydcom.automation.variant import VT
from pydcom.examples.calculator import CALC_CLSID, Calculator
from pydcom.hresult import ComError
from pydcom.rpc import RpcFault
from pydcom.rpc.constants import NCA_S_OP_RNG_ERROR
from pydcom.runtime import causality
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.interfaces import syntax_of
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.wire import ids
from pydcom.wire.orpc import COMVERSION, ORPCTHAT, orpcthis

from .conftest import running_service
from .typeinfo_classes import DECLARED_CLSID, THERMOSTAT_CLSID, Declared, Thermostat

HOST = "127.0.0.23"  # impacket's DCOM client always talks to port 135
PORT = 135
CLASSES = StaticClassStore([
    ClassEntry(CALC_CLSID, python="pydcom.examples.calculator:Calculator"),
    ClassEntry(THERMOSTAT_CLSID, python="tests.automation.typeinfo_classes:Thermostat"),
    ClassEntry(DECLARED_CLSID, python="tests.automation.typeinfo_classes:Declared"),
])
ALL_FLAGS = (tw.TYPEINFO_NAMEARG | tw.TYPEINFO_DOCSTRINGARG | tw.TYPEINFO_HELPCONTEXTARG
             | tw.TYPEINFO_HELPFILEARG)

THERMOSTAT_DOC = "A thermostat: a setpoint to read and write, a reading to read only."
THERMOSTAT = (
    MemberInfo("Adjust", dispid_of("Adjust"), "method", ("delta", "limit", "floor"), 2,
               doc="Move the setpoint by delta, staying between floor and limit."),
    MemberInfo("Log", dispid_of("Log"), "method", ("first",)),
    MemberInfo("Reset", 7, "method", doc="Back to 20 degrees."),
    MemberInfo("Reading", dispid_of("Reading"), "property", readonly=True,
               doc="The temperature measured."),
    MemberInfo("Setpoint", dispid_of("Setpoint"), "property", doc="The temperature aimed at."),
    MemberInfo("unit", dispid_of("unit"), "property"),
)


# -- fixtures: one service for the module, closed even when a test fails -------------------------
@pytest.fixture(scope="module")
def service():
    with running_service(HOST, PORT, classes=CLASSES, ping_period=5) as started:
        yield started


@pytest.fixture(scope="module")
def runtime(service):
    rt = ClientRuntime(connect_timeout=2)
    try:
        yield rt
    finally:
        rt.close()


@contextlib.contextmanager
def activated(runtime, clsid):
    """A Dispatch of a new object of ``clsid`` at the service, released at the end."""
    [(code, proxy)] = remote_activate(runtime, (HOST, PORT), clsid, [ids.IID_IDispatch])
    assert code == 0
    obj = wrap(proxy)
    try:
        yield obj
    finally:
        obj.release()


@contextlib.contextmanager
def type_info_proxy(obj):
    """The ITypeInfo proxy IDispatch::GetTypeInfo gives for a Dispatch, released at the end."""
    proxy = obj._channel.type_info()
    try:
        yield proxy
    finally:
        proxy.release()


def raw(proxy, opnum, request, response=None, stub=None):
    """One ITypeInfo call on the wire; the answer decoded exactly (nothing may be left over)."""
    data = proxy._call(syntax_of(IID_ITypeInfo), opnum, stub if stub is not None else
                       request.encode(), proxy.ipid)
    return response.decode(data) if response is not None else data


def this():
    return orpcthis(causality.current())


def dispids(obj, name):
    code, found = obj._channel.get_ids_of_names([name])
    assert code == 0
    return found[0]


# -- in this process: the description itself ---------------------------------------------------
def test_one_immutable_typeinfo_per_class_shared_by_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(TypeInfo.of(Thermostat)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(info) for info in seen}) == 1 and seen[0] is TypeInfo.of(Thermostat)
    info = seen[0]
    with pytest.raises(AttributeError):
        info.name = "Other"
    assert TypeInfo.of(Calculator) is not info
    assert TypeInfo._dispatch_ is False and IID_ITypeInfo in TypeInfo._com_interfaces_


def test_type_attr_funcdesc_vardesc_values():
    info = TypeInfo.of(Thermostat)
    attr = info.GetTypeAttr()
    assert (attr.typekind, attr.cFuncs, attr.cVars, attr.cImplTypes) == (
        tw.TKIND_DISPATCH, 3, 3, 0)
    assert (attr.cbSizeInstance, attr.cbSizeVft, attr.cbAlignment, attr.wTypeFlags) == (
        4, 28, 4, tw.TYPEFLAG_FDISPATCHABLE)
    assert (attr.guid, attr.dwReserved2, attr.dwReserved3, attr.tdescAlias.vt) == (
        uuid.UUID(int=0), 0xFFFFFFFF, 0xFFFFFFFF, VT.EMPTY)
    adjust = info.GetFuncDesc(0)
    assert (adjust.memid, adjust.funckind, adjust.invkind, adjust.callconv) == (
        dispid_of("Adjust"), tw.FUNC_DISPATCH, tw.INVOKE_FUNC, tw.CC_STDCALL)
    assert (adjust.cParams, adjust.cParamsOpt, adjust.oVft, adjust.elemdescFunc.tdesc.vt) == (
        3, 2, 0, VT.VARIANT)
    assert [(e.tdesc.vt, e.paramdesc.wParamFlags) for e in adjust.lprgelemdescParam] == [
        (VT.VARIANT, tw.PARAMFLAG_FIN), (VT.VARIANT, tw.PARAMFLAG_FIN | tw.PARAMFLAG_FOPT),
        (VT.VARIANT, tw.PARAMFLAG_FIN | tw.PARAMFLAG_FOPT)]
    assert info.GetFuncDesc(2).lprgelemdescParam is None  # Reset: no parameters
    reading = info.GetVarDesc(0)
    assert (reading.memid, reading.varkind, reading._vdUnion, reading.wVarFlags) == (
        dispid_of("Reading"), tw.VAR_DISPATCH, (tw.VAR_DISPATCH, 0), tw.VARFLAG_FREADONLY)
    assert info.GetVarDesc(1).wVarFlags == 0
    for call in (lambda: info.GetFuncDesc(3), lambda: info.GetVarDesc(3),
                 lambda: info.GetNames(12345, 5), lambda: info.GetDocumentation(12345, 1)):
        with pytest.raises(ComError) as err:
            call()
        assert err.value.hresult == tw.TYPE_E_ELEMENTNOTFOUND


def test_wire_structures_round_trip_and_get_names_max_count():
    info = TypeInfo.of(Thermostat)
    for response in (tw.GetTypeAttrResponse(ORPCTHAT(), info.GetTypeAttr(), 0, 0),
                     tw.GetFuncDescResponse(ORPCTHAT(), info.GetFuncDesc(0), 0, 0),
                     tw.GetVarDescResponse(ORPCTHAT(), info.GetVarDesc(0), 0, 0),
                     tw.GetDocumentationResponse(ORPCTHAT(), "a", None, 0, None, 0)):
        assert type(response).decode(response.encode()) == response
    # [size_is(cMaxNames), length_is(*pcNames)]: max_count is cMaxNames, actual_count the names
    data = tw.encode_get_names_response(["Adjust", "delta"], 10, 0)
    assert struct.unpack_from("<III", data, 8) == (10, 0, 2)
    answer = tw.GetNamesResponse.decode(data)
    assert (answer.rgBstrNames, answer.pcNames, answer.hr) == (["Adjust", "delta"], 2, 0)
    empty = tw.encode_get_names_response([], 0, tw.TYPE_E_ELEMENTNOTFOUND)
    assert struct.unpack_from("<III", empty, 8) == (0, 0, 0)


def test_describe_a_local_object_reads_its_class():
    assert describe_type(Thermostat()).members == THERMOSTAT
    assert [(m.name, m.readonly) for m in describe(Declared())] == [
        ("Ping", False), ("Name", False), ("Serial", True)]


# -- over the wire: pydcom's client ---------------------------------------------------------------
def test_describe_calculator_over_the_wire(runtime):
    with activated(runtime, CALC_CLSID) as calc:
        described = describe_type(calc)
        assert (described.name, described.typekind) == ("Calculator", tw.TKIND_DISPATCH)
        assert described.doc == "Arithmetic, a memory, an echo and a factory of new calculators."
        members = described.members
        assert [m.name for m in members] == [
            "Add", "Clone", "Divide", "Echo", "Multiply", "ProcessId", "Subtract"]
        assert all(m.kind == "method" and not m.readonly for m in members)
        for member in members:
            assert member.dispid == dispids(calc, member.name)  # what GetIDsOfNames answers
        by_name = {m.name: m for m in members}
        assert by_name["Add"].params == ("a", "b") and by_name["Echo"].params == ("value",)
        assert by_name["Clone"].params == () and by_name["Clone"].doc.startswith("A new calc")
        assert by_name["Add"].doc == ""
        assert members == describe_type(Calculator()).members  # the same as read in-process
        assert calc.Add(2, 3) == 5  # IDispatch still answers


def test_describe_properties_docstrings_and_fixed_dispids(runtime):
    with activated(runtime, THERMOSTAT_CLSID) as thermo:
        described = describe_type(thermo)
        assert described.name == "Thermostat"
        assert described.doc == THERMOSTAT_DOC
        assert described.members == THERMOSTAT
        for member in described.members:
            assert member.dispid == dispids(thermo, member.name)
        assert thermo.Adjust(3) == 23.0 and thermo.Reading == 22.5
    with activated(runtime, DECLARED_CLSID) as declared:
        assert [(m.name, m.kind, m.params, m.readonly) for m in describe(declared)] == [
            ("Ping", "method", ("payload",), False), ("Name", "property", (), False),
            ("Serial", "property", (), True)]


def test_itypeinfo_methods_answer_as_ms_oaut_says(runtime):
    with activated(runtime, THERMOSTAT_CLSID) as thermo, type_info_proxy(thermo) as ti:
        assert ti.iid == IID_ITypeInfo
        # IUnknown and ITypeInfo only: a TypeInfo has no IDispatch of its own
        [(code, none)] = ti.remote_query([ids.IID_IDispatch])
        assert (code, none) == (hresult.E_NOINTERFACE, None)
        attr = raw(ti, tw.OP_GET_TYPE_ATTR, tw.EmptyRequest(this()), tw.GetTypeAttrResponse)
        assert attr.hr == 0 and attr.pReserved == 0
        assert (attr.ppTypeAttr.cFuncs, attr.ppTypeAttr.cVars) == (3, 3)
        # out of range: TYPE_E_ELEMENTNOTFOUND and a NULL description (3.7.4.3, 3.7.4.4)
        for index in (3, 0xFFFFFFFF):
            func = raw(ti, tw.OP_GET_FUNC_DESC, tw.IndexRequest(this(), index),
                       tw.GetFuncDescResponse)
            assert (func.ppFuncDesc, func.pReserved, func.hr) == (
                None, 0, tw.TYPE_E_ELEMENTNOTFOUND)
            var = raw(ti, tw.OP_GET_VAR_DESC, tw.IndexRequest(this(), index),
                      tw.GetVarDescResponse)
            assert (var.ppVarDesc, var.pReserved, var.hr) == (None, 0, tw.TYPE_E_ELEMENTNOTFOUND)
        # no interface table (3.7.4.6, 3.7.4.7): any index, -1 included
        for opnum in (tw.OP_GET_REF_TYPE_OF_IMPL_TYPE, tw.OP_GET_IMPL_TYPE_FLAGS):
            for index in (0, 0xFFFFFFFF):
                answer = raw(ti, opnum, tw.IndexRequest(this(), index), tw.RefTypeResponse)
                assert (answer.value, answer.hr) == (0, tw.TYPE_E_ELEMENTNOTFOUND)
        comp = raw(ti, tw.OP_GET_TYPE_COMP, tw.EmptyRequest(this()), tw.InterfacePointerResponse)
        assert (comp.ppOut, comp.hr) == (None, hresult.E_NOTIMPL)
        dll = raw(ti, tw.OP_GET_DLL_ENTRY, tw.GetDllEntryRequest(this(), 7, tw.INVOKE_FUNC, 7),
                  tw.GetDllEntryResponse)
        assert (dll.pBstrDllName, dll.pBstrName, dll.pwOrdinal, dll.hr) == (
            None, None, 0, tw.TYPE_E_BADMODULEKIND)
        ref = raw(ti, tw.OP_GET_REF_TYPE_INFO, tw.GetRefTypeInfoRequest(this(), 0),
                  tw.InterfacePointerResponse)
        assert (ref.ppOut, ref.hr) == (None, tw.TYPE_E_ELEMENTNOTFOUND)
        made = raw(ti, tw.OP_CREATE_INSTANCE, tw.CreateInstanceRequest(this(), ids.IID_IUnknown),
                   tw.InterfacePointerResponse)
        assert (made.ppOut, made.hr) == (None, tw.TYPE_E_BADMODULEKIND)
        mops = raw(ti, tw.OP_GET_MOPS, tw.GetMopsRequest(this(), 7), tw.GetMopsResponse)
        assert (mops.pBstrMops, mops.hr) == (None, 0)
        lib = raw(ti, tw.OP_GET_CONTAINING_TYPE_LIB, tw.EmptyRequest(this()),
                  tw.GetContainingTypeLibResponse)
        assert (lib.ppTLib, lib.pIndex, lib.hr) == (None, 0, hresult.E_NOTIMPL)
        # reserved for local use, and past the end: nca_s_op_rng_error
        for opnum in (10, 11, 15, 19, 22):
            with pytest.raises(RpcFault) as fault:
                raw(ti, opnum, tw.EmptyRequest(this()))
            assert fault.value.status == NCA_S_OP_RNG_ERROR


def test_get_names_and_get_documentation(runtime):
    with activated(runtime, THERMOSTAT_CLSID) as thermo, type_info_proxy(thermo) as ti:
        adjust = dispid_of("Adjust")

        def names(memid, most):
            data = raw(ti, tw.OP_GET_NAMES, tw.GetNamesRequest(this(), memid, most))
            answer = tw.GetNamesResponse.decode(data)
            assert struct.unpack_from("<I", data, 8)[0] == most  # max_count is cMaxNames
            return answer.rgBstrNames, answer.pcNames, answer.hr

        assert names(adjust, 16) == (["Adjust", "delta", "limit", "floor"], 4, 0)
        assert names(adjust, 2) == (["Adjust", "delta"], 2, 0)
        assert names(adjust, 0) == ([], 0, 0)
        assert names(dispid_of("Setpoint"), 5) == (["Setpoint"], 1, 0)
        assert names(7, 0xFFFFFFFF) == (["Reset"], 1, 0)
        assert names(dispid_of("History"), 5) == ([], 0, tw.TYPE_E_ELEMENTNOTFOUND)
        assert names(tw.MEMBERID_NIL, 5) == ([], 0, tw.TYPE_E_ELEMENTNOTFOUND)

        def documentation(memid, flags):
            answer = raw(ti, tw.OP_GET_DOCUMENTATION,
                         tw.GetDocumentationRequest(this(), memid, flags),
                         tw.GetDocumentationResponse)
            return (answer.pBstrName, answer.pBstrDocString, answer.pdwHelpContext,
                    answer.pBstrHelpFile, answer.hr)

        assert documentation(tw.MEMBERID_NIL, ALL_FLAGS) == ("Thermostat", THERMOSTAT_DOC, 0,
                                                             None, 0)
        assert documentation(7, ALL_FLAGS) == ("Reset", "Back to 20 degrees.", 0, None, 0)
        # refPtrFlags (3.7.4.8): what is not asked for is a NULL BSTR
        assert documentation(7, tw.TYPEINFO_NAMEARG) == ("Reset", None, 0, None, 0)
        assert documentation(7, tw.TYPEINFO_DOCSTRINGARG) == (None, "Back to 20 degrees.", 0,
                                                              None, 0)
        assert documentation(7, 0) == (None, None, 0, None, 0)
        assert documentation(dispid_of("unit"), ALL_FLAGS) == ("unit", None, 0, None, 0)
        assert documentation(12345, ALL_FLAGS) == (None, None, 0, None,
                                                   tw.TYPE_E_ELEMENTNOTFOUND)


def test_malformed_requests_fault_and_the_object_keeps_answering(runtime):
    with activated(runtime, THERMOSTAT_CLSID) as thermo, type_info_proxy(thermo) as ti:
        head = tw.EmptyRequest(this()).encode()
        good_names = tw.GetNamesRequest(this(), 7, 4).encode()
        bad = [
            (tw.OP_GET_NAMES, tw.EmptyRequest(this()).encode()),  # memid and cMaxNames missing
            (tw.OP_GET_NAMES, good_names[:-2]),  # cut short
            (tw.OP_GET_NAMES, b""),
            (tw.OP_GET_FUNC_DESC, b"\xff" * 7),
            (tw.OP_GET_FUNC_DESC, tw.EmptyRequest(this()).encode()),  # no index
            (tw.OP_GET_DOCUMENTATION, head[:10]),
        ]
        for opnum, stub in bad:
            with pytest.raises(RpcFault) as fault:
                raw(ti, opnum, None, stub=stub)
            assert fault.value.status == hresult.RPC_X_BAD_STUB_DATA
        # an ORPCTHIS the exporter refuses (MS-DCOM 3.1.1.5.4)
        wrong_version = tw.GetNamesRequest(orpcthis(version=COMVERSION(6, 1)), 7, 4)
        with pytest.raises(RpcFault) as fault:
            raw(ti, tw.OP_GET_NAMES, wrong_version)
        assert fault.value.status == hresult.RPC_E_VERSION_MISMATCH
        flagged = tw.IndexRequest(this(), 0)
        flagged.orpcthis.flags = 1
        with pytest.raises(RpcFault) as fault:
            raw(ti, tw.OP_GET_FUNC_DESC, flagged)
        assert fault.value.status == hresult.RPC_E_INVALID_HEADER
        # still answering, on ITypeInfo and on IDispatch
        answer = raw(ti, tw.OP_GET_NAMES, tw.GetNamesRequest(this(), 7, 4), tw.GetNamesResponse)
        assert (answer.rgBstrNames, answer.hr) == (["Reset"], 0)
        assert [m.name for m in describe(thermo)] == [m.name for m in THERMOSTAT]
        assert thermo.Adjust(-1) == 19.0


def test_every_typeinfo_reference_is_given_back(runtime, monkeypatch):
    from pydcom.automation.client import RemoteChannel

    obtained = []  # kept alive here, so that only an explicit release gives them back
    type_info = RemoteChannel.type_info
    monkeypatch.setattr(RemoteChannel, "type_info",
                        lambda channel: obtained.append(type_info(channel)) or obtained[-1])
    with activated(runtime, CALC_CLSID) as calc:
        with type_info_proxy(calc) as ti:
            describe(calc)  # takes and releases references of its own to the same IPID
            assert len(obtained) == 2 and obtained[1]._released and not ti._released
        assert ti._released
        runtime.releases.flush()
        # the exporter dropped the IPID when its last reference came back (MS-DCOM 3.1.1.5.6.1.3)
        with pytest.raises(RpcFault) as fault:
            runtime.call(ti._info.endpoint, syntax_of(IID_ITypeInfo), tw.OP_GET_TYPE_ATTR,
                         tw.EmptyRequest(this()).encode(), ti.ipid)
        assert fault.value.hresult == hresult.RPC_E_DISCONNECTED
        assert describe(calc)[0].name == "Add"  # a new GetTypeInfo exports it again


# -- over the wire: impacket's client -------------------------------------------------------------
def test_impacket_reads_the_type_information(service):
    dcom = dcomrt.DCOMConnection(HOST, authLevel=RPC_C_AUTHN_LEVEL_NONE, oxidResolver=True)
    try:
        unknown = dcom.CoCreateInstanceEx(string_to_bin(str(THERMOSTAT_CLSID)),
                                          oaut.IID_IDispatch)
        dispatch = oaut.IDispatch(unknown)
        assert dispatch.GetTypeInfoCount()["pctinfo"] == 1
        info = dispatch.GetTypeInfo()
        attr = info.GetTypeAttr()["ppTypeAttr"]
        assert (attr["typeKind"], attr["cFuncs"], attr["cVars"], attr["cImplTypes"]) == (
            tw.TKIND_DISPATCH, 3, 3, 0)
        assert (attr["cbSizeVft"], attr["wTypeFlags"], attr["tdescAlias"]["vt"]) == (
            28, tw.TYPEFLAG_FDISPATCHABLE, 0)
        seen = {}
        for index in range(attr["cFuncs"]):
            desc = info.GetFuncDesc(index)["ppFuncDesc"]
            memid = desc["memid"]
            names = info.GetNames(memid, 255)
            found = [names["rgBstrNames"][i]["asData"] for i in range(names["pcNames"])]
            assert (desc["funckind"], desc["invkind"], desc["callconv"]) == (
                tw.FUNC_DISPATCH, tw.INVOKE_FUNC, tw.CC_STDCALL)
            assert desc["cParams"] == len(found) - 1
            params = desc["lprgelemdescParam"]
            flags = [params[i]["paramdesc"]["wParamFlags"] for i in range(desc["cParams"])] \
                if desc["cParams"] else []
            vts = [params[i]["tdesc"]["vt"] for i in range(desc["cParams"])] \
                if desc["cParams"] else []
            assert set(vts) <= {VT.VARIANT} and desc["elemdescFunc"]["tdesc"]["vt"] == VT.VARIANT
            doc = info.GetDocumentation(memid)  # impacket's answer lacks pBstrHelpFile
            assert doc["pBstrName"]["asData"] == found[0]
            assert dispatch.GetIDsOfNames([found[0]])[0] == memid
            seen[found[0]] = (memid, found[1:], desc["cParamsOpt"], flags,
                              doc["pBstrDocString"]["asData"])
        fin, opt = tw.PARAMFLAG_FIN, tw.PARAMFLAG_FIN | tw.PARAMFLAG_FOPT
        assert seen == {
            "Adjust": (dispid_of("Adjust"), ["delta", "limit", "floor"], 2, [fin, opt, opt],
                       "Move the setpoint by delta, staying between floor and limit."),
            "Log": (dispid_of("Log"), ["first"], 0, [fin], ""),
            "Reset": (7, [], 0, [], "Back to 20 degrees."),
        }
        whole = info.GetDocumentation(tw.MEMBERID_NIL)
        assert whole["pBstrName"]["asData"] == "Thermostat"
        assert whole["pBstrDocString"]["asData"] == THERMOSTAT_DOC
        # properties are VARDESCs (impacket has no GetVarDesc): GetNames lists them by DISPID
        reading = info.GetNames(dispid_of("Reading"), 255)
        assert reading["pcNames"] == 1 and reading["rgBstrNames"][0]["asData"] == "Reading"
        with pytest.raises(DCERPCException) as error:
            info.GetFuncDesc(attr["cFuncs"])
        assert error.value.get_error_code() == tw.TYPE_E_ELEMENTNOTFOUND
        with pytest.raises(DCERPCException) as error:
            info.GetNames(12345, 8)
        assert error.value.get_error_code() == tw.TYPE_E_ELEMENTNOTFOUND
        info.RemRelease()
        dispatch.RemRelease()
    finally:
        dcom.disconnect()
