"""impacket's IDispatch client (impacket.dcerpc.v5.dcom.oaut), an independent implementation of
MS-OAUT 3.1.4, against pydcom's Demo.Calculator activated through a pydcom service on port 135 of
a loopback address (impacket's DCOM client always talks to port 135), at
RPC_C_AUTHN_LEVEL_NONE.

Where impacket reads an answer differently from the spec (SPEC-NOTES §9 row 8: its
IDispatch_InvokeResponse has no rgVarRef, so its ``ErrorCode`` field is rgVarRef's max_count and
only the last 4 bytes hold the HRESULT), the raw answer is also decoded with pydcom's own
``idispatch_wire.InvokeResponse``, the spec's layout, and the two readings are compared.
"""

from __future__ import annotations

import struct
import uuid

import pytest
from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dcom import oaut
from impacket.dcerpc.v5.dcom.oaut import DISPPARAMS, VARENUM, VARIANT
from impacket.dcerpc.v5.dtypes import NULL
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_NONE, DCERPCException
from impacket.uuid import string_to_bin

from pydcom import hresult
from pydcom.automation import idispatch_wire as wire
from pydcom.automation.variant import VT, Variant
from pydcom.examples.calculator import CALC_CLSID
from pydcom.wire.orpc import orpcthis

from .conftest import running_service
from .interop_classes import WORKBENCH_CLSID

IID_NULL = uuid.UUID(int=0)
HOST = "127.0.0.71"  # port 135 of an address no other test module uses
LCID = 0x409
U32 = 0xFFFFFFFF

pytestmark = pytest.mark.timeout(60)


# -- the service and impacket's connection ----------------------------------------------------
@pytest.fixture(scope="module")
def service():
    with running_service(HOST, 135, ping_period=5) as started:
        yield started


@pytest.fixture(scope="module")
def dcom(service):
    connection = dcomrt.DCOMConnection(HOST, authLevel=RPC_C_AUTHN_LEVEL_NONE, oxidResolver=True)
    try:
        yield connection
    finally:
        connection.disconnect()


@pytest.fixture
def bench(dcom):
    """A Workbench (tests.automation.interop_classes), for by-reference arguments."""
    disp = oaut.IDispatch(dcom.CoCreateInstanceEx(string_to_bin(str(WORKBENCH_CLSID)),
                                                  oaut.IID_IDispatch))
    try:
        yield disp
    finally:
        disp.RemRelease()


@pytest.fixture
def calc(dcom):
    """A new Calculator, activated by impacket with IID_IDispatch (CoCreateInstanceEx)."""
    interface = dcom.CoCreateInstanceEx(string_to_bin(str(CALC_CLSID)), oaut.IID_IDispatch)
    disp = oaut.IDispatch(interface)
    try:
        yield disp
    finally:
        disp.RemRelease()


# -- impacket's VARIANTs and DISPPARAMS ----------------------------------------------------------
_ARMS = {VARENUM.VT_I4: "lVal", VARENUM.VT_I2: "iVal", VARENUM.VT_R8: "dblVal",
         VARENUM.VT_BOOL: "boolVal", VARENUM.VT_BSTR: "bstrVal", VARENUM.VT_EMPTY: None}


def ivar(vt: int, value=None) -> VARIANT:
    """An impacket VARIANT, built the way impacket's own examples (dcomexec.py) build them."""
    v = VARIANT(None, False)
    v["clSize"] = 5  # impacket's habit; pydcom never trusts clSize
    v["rpcReserved"] = 0
    v["vt"] = vt
    v["wReserved1"] = v["wReserved2"] = v["wReserved3"] = 0
    v["_varUnion"]["tag"] = vt
    arm = _ARMS[vt]
    if arm == "bstrVal":
        v["_varUnion"]["bstrVal"]["asData"] = value
    elif arm == "boolVal":
        v["_varUnion"]["boolVal"] = 0xFFFF if value else 0  # VARIANT_TRUE is -1 (MS-OAUT 2.2.27)
    elif arm is not None:
        v["_varUnion"][arm] = value
    return v


def ivar_byref_i4(value: int) -> VARIANT:
    v = ivar(VARENUM.VT_EMPTY)
    v["vt"] = v["_varUnion"]["tag"] = VT.BYREF | VT.I4
    v["_varUnion"]["plVal"] = value
    return v


def params(*args: VARIANT, named: tuple[int, ...] = ()) -> DISPPARAMS:
    """DISPPARAMS with the arguments given first first; on the wire last first (MS-OAUT 2.2.33)."""
    p = DISPPARAMS(None, False)
    if args:
        for arg in reversed(args):
            p["rgvarg"].append(arg)
    else:
        p["rgvarg"] = NULL
    if named:
        for dispid in named:
            p["rgdispidNamedArgs"].append(dispid & U32)  # impacket's DISPID_ARRAY is unsigned
    else:
        p["rgdispidNamedArgs"] = NULL
    p["cArgs"] = len(args)
    p["cNamedArgs"] = len(named)
    return p


def result_of(answer, arm: str):
    value = answer["pVarResult"]["_varUnion"][arm]
    return value["asData"] if arm == "bstrVal" else value


def raw_call(disp: oaut.IDispatch, request) -> bytes:
    """What impacket's INTERFACE.request does, but the answer's stub bytes are returned as they
    came, neither parsed nor raised on (for the spec's layout, decoded by pydcom). ``request``
    is an impacket DCOMCALL, or (opnum, stub bytes) made by pydcom."""
    if isinstance(request, tuple):
        opnum, request = request
    else:
        opnum = request.opnum
        request["ORPCthis"] = disp.get_cinstance().get_ORPCthis()
        request["ORPCthis"]["flags"] = 0
    disp.connect(disp._iid)
    dce = disp.get_dce_rpc()
    dce.call(opnum, request, disp.get_iPid())
    return dce.recv()


def raw_invoke(disp: oaut.IDispatch, dispid: int, flags: int, p: DISPPARAMS) -> bytes:
    request = oaut.IDispatch_Invoke()
    request["dispIdMember"] = dispid
    request["riid"] = oaut.IID_NULL
    request["lcid"] = LCID
    request["dwFlags"] = flags
    request["pDispParams"] = p
    request["cVarRef"] = 0
    request["rgVarRefIdx"] = []
    request["rgVarRef"] = []
    return raw_call(disp, request)


def dispid(disp: oaut.IDispatch, name: str) -> int:
    [number] = disp.GetIDsOfNames([name], LCID)
    return number


# -- GetIDsOfNames (MS-OAUT 3.1.4.3) ---------------------------------------------------------------
def test_get_ids_of_names_one_name(calc):
    [add] = calc.GetIDsOfNames(["Add"], LCID)
    assert add not in (0, U32, wire.DISPID_UNKNOWN)  # a member's own DISPID, not a reserved one
    assert calc.GetIDsOfNames(["Subtract"], LCID) != [add]


def test_get_ids_of_names_with_parameter_names(calc):
    """The member's DISPID, then its parameters' numbers in declaration order."""
    add = dispid(calc, "Add")
    assert calc.GetIDsOfNames(["Add", "a", "b"], LCID) == [add, 0, 1]
    assert calc.GetIDsOfNames(["Add", "b", "a"], LCID) == [add, 1, 0]


def test_get_ids_of_names_is_case_insensitive(calc):
    add = dispid(calc, "Add")
    assert calc.GetIDsOfNames(["ADD"], LCID) == [add]
    assert calc.GetIDsOfNames(["aDd", "A", "B"], LCID) == [add, 0, 1]
    assert dispid(calc, "mEmOrY") == dispid(calc, "Memory")


def test_get_ids_of_names_unknown_name(calc):
    """DISP_E_UNKNOWNNAME, with DISPID_UNKNOWN in each slot of a name not known."""
    with pytest.raises(DCERPCException) as raised:
        calc.GetIDsOfNames(["NoSuchMember"], LCID)
    assert raised.value.get_error_code() == hresult.DISP_E_UNKNOWNNAME
    assert list(raised.value.get_packet()["rgDispId"]) == [U32]
    with pytest.raises(DCERPCException) as raised:  # an unknown member knows no parameters
        calc.GetIDsOfNames(["NoSuchMember", "a"], LCID)
    assert list(raised.value.get_packet()["rgDispId"]) == [U32, U32]

    add = dispid(calc, "Add")
    with pytest.raises(DCERPCException) as raised:
        calc.GetIDsOfNames(["Add", "a", "nope", "B", "zz"], LCID)
    assert raised.value.get_error_code() == hresult.DISP_E_UNKNOWNNAME
    assert list(raised.value.get_packet()["rgDispId"]) == [add, 0, U32, 1, U32]


# -- GetTypeInfoCount (MS-OAUT 3.1.4.1), as impacket sends it ----------------------------------
def test_get_type_info_count_with_impackets_extra_bytes(calc):
    """impacket's request carries a pwszMachineName the method does not have (SPEC-NOTES §9 row
    9): bytes past the end of the request (impacket 0.13 sends a non-NULL pointer to an empty
    string, 16 bytes). The server ignores them and answers rather than faults."""
    sent = oaut.IDispatch_GetTypeInfoCount()
    sent["ORPCthis"] = calc.get_cinstance().get_ORPCthis()
    spec = wire.GetTypeInfoCountRequest(orpcthis()).encode()
    assert len(sent.getData()) > len(spec)
    answer = calc.GetTypeInfoCount()
    assert answer["ErrorCode"] == 0
    assert answer["pctinfo"] == 1
    raw = raw_call(calc, oaut.IDispatch_GetTypeInfoCount())
    ours = wire.GetTypeInfoCountResponse.decode(raw)
    assert (ours.pctinfo, ours.hr) == (1, hresult.S_OK)
    # and the object is still served
    assert dispid(calc, "Add")


# -- Invoke (MS-OAUT 3.1.4.4) --------------------------------------------------------------------
def test_invoke_with_i4_arguments(calc):
    answer = calc.Invoke(dispid(calc, "Add"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_I4, 40), ivar(VARENUM.VT_I4, 2)), 0, [], [])
    assert answer["ErrorCode"] == 0 and answer["pArgErr"] == 0
    assert answer["pVarResult"]["vt"] == VARENUM.VT_I4
    assert result_of(answer, "lVal") == 42
    # arguments arrive in order: 10 - 4, not 4 - 10
    answer = calc.Invoke(dispid(calc, "Subtract"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_I4, 10), ivar(VARENUM.VT_I4, 4)), 0, [], [])
    assert result_of(answer, "lVal") == 6


def test_invoke_with_r8_arguments(calc):
    answer = calc.Invoke(dispid(calc, "Divide"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_R8, 7.0), ivar(VARENUM.VT_R8, 2.0)), 0, [], [])
    assert answer["pVarResult"]["vt"] == VARENUM.VT_R8
    assert result_of(answer, "dblVal") == 3.5
    answer = calc.Invoke(dispid(calc, "Multiply"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_R8, 1.5), ivar(VARENUM.VT_I4, 4)), 0, [], [])
    assert (answer["pVarResult"]["vt"], result_of(answer, "dblVal")) == (VARENUM.VT_R8, 6.0)


def test_invoke_with_bstr_arguments(calc):
    # Multiply has no annotations: "ab" * 3 in Python, a BSTR back
    answer = calc.Invoke(dispid(calc, "Multiply"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_BSTR, "ab"), ivar(VARENUM.VT_I4, 3)), 0, [], [])
    assert answer["pVarResult"]["vt"] == VARENUM.VT_BSTR
    assert result_of(answer, "bstrVal") == "ababab"
    # Add's parameters are annotated int: numeric strings are converted (VariantChangeType)
    answer = calc.Invoke(dispid(calc, "Add"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_BSTR, "20"), ivar(VARENUM.VT_BSTR, "22")),
                         0, [], [])
    assert (answer["pVarResult"]["vt"], result_of(answer, "lVal")) == (VARENUM.VT_I4, 42)
    answer = calc.Invoke(dispid(calc, "Echo"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_BSTR, "h\u00e9llo \u4e16\u754c")), 0, [], [])
    assert result_of(answer, "bstrVal") == "h\u00e9llo \u4e16\u754c"


def test_invoke_with_bool_arguments(calc):
    answer = calc.Invoke(dispid(calc, "Echo"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_BOOL, True)), 0, [], [])
    assert answer["pVarResult"]["vt"] == VARENUM.VT_BOOL
    assert result_of(answer, "boolVal") == 0xFFFF  # VARIANT_TRUE
    answer = calc.Invoke(dispid(calc, "Echo"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_BOOL, False)), 0, [], [])
    assert result_of(answer, "boolVal") == 0
    # True as a number is -1 (VariantChangeType): Add(True, 5) is 4
    answer = calc.Invoke(dispid(calc, "Add"), LCID, wire.DISPATCH_METHOD,
                         params(ivar(VARENUM.VT_BOOL, True), ivar(VARENUM.VT_I4, 5)), 0, [], [])
    assert result_of(answer, "lVal") == 4


def test_invoke_success_reads_the_same_both_ways(calc):
    """On success impacket parses the spec's answer: the 4 bytes it takes for ErrorCode are
    rgVarRef's max_count (0 here), and the real HRESULT after them is 0 too."""
    raw = raw_invoke(calc, dispid(calc, "Add"), wire.DISPATCH_METHOD,
                     params(ivar(VARENUM.VT_I4, 1), ivar(VARENUM.VT_I4, 2)))
    ours = wire.InvokeResponse.decode(raw)
    assert ours.hr == hresult.S_OK and ours.rgVarRef == [] and ours.pVarResult == Variant(VT.I4, 3)
    theirs = oaut.IDispatch_InvokeResponse(raw)
    assert theirs["ErrorCode"] == 0 and result_of(theirs, "lVal") == 3


def test_divide_by_zero_is_disp_e_exception_with_excepinfo(calc):
    divide = dispid(calc, "Divide")
    args = params(ivar(VARENUM.VT_I4, 1), ivar(VARENUM.VT_I4, 0))
    with pytest.raises(DCERPCException) as raised:
        calc.Invoke(divide, LCID, wire.DISPATCH_METHOD, args, 0, [], [])
    # impacket raises (it looks at the last 4 bytes), and parses the EXCEPINFO ...
    info = raised.value.get_packet()["pExcepInfo"]
    assert info["bstrSource"]["asData"] == "Calculator"
    assert "ZeroDivisionError" in info["bstrDescription"]["asData"]
    assert info["scode"] & U32 == hresult.DISP_E_DIVBYZERO
    assert info["wCode"] == 0
    # ... but its get_error_code() is its ErrorCode field, rgVarRef's max_count (SPEC-NOTES §9
    # row 8), so the HRESULT itself is read from the raw answer in the spec's layout.
    assert raised.value.get_error_code() in (0, hresult.DISP_E_EXCEPTION)
    raw = raw_invoke(calc, divide, wire.DISPATCH_METHOD, args)
    assert struct.unpack("<I", raw[-4:])[0] == hresult.DISP_E_EXCEPTION
    ours = wire.InvokeResponse.decode(raw)
    assert ours.hr == hresult.DISP_E_EXCEPTION
    assert ours.pExcepInfo.bstrSource == "Calculator"
    assert ours.pExcepInfo.scode == hresult.DISP_E_DIVBYZERO
    assert ours.pExcepInfo.bstrDescription == "ZeroDivisionError: 1 / 0"
    assert ours.rgVarRef == []


def test_memory_property_put_and_get(calc):
    memory = dispid(calc, "Memory")
    put = calc.Invoke(memory, LCID, wire.DISPATCH_PROPERTYPUT,
                      params(ivar(VARENUM.VT_I4, 1234), named=(wire.DISPID_PROPERTYPUT,)),
                      0, [], [])
    assert put["ErrorCode"] == 0
    assert put["pVarResult"]["vt"] == VARENUM.VT_EMPTY
    got = calc.Invoke(memory, LCID, wire.DISPATCH_PROPERTYGET, params(), 0, [], [])
    assert (got["pVarResult"]["vt"], result_of(got, "lVal")) == (VARENUM.VT_I4, 1234)
    # a property put without DISPID_PROPERTYPUT is refused (MS-OAUT 3.1.4.4)
    raw = raw_invoke(calc, memory, wire.DISPATCH_PROPERTYPUT, params(ivar(VARENUM.VT_I4, 1)))
    assert wire.InvokeResponse.decode(raw).hr == hresult.DISP_E_PARAMNOTFOUND
    got = calc.Invoke(memory, LCID, wire.DISPATCH_PROPERTYGET, params(), 0, [], [])
    assert result_of(got, "lVal") == 1234


def test_clone_returns_a_dispatch_impacket_can_call(calc):
    memory = dispid(calc, "Memory")
    calc.Invoke(memory, LCID, wire.DISPATCH_PROPERTYPUT,
                params(ivar(VARENUM.VT_I4, 77), named=(wire.DISPID_PROPERTYPUT,)), 0, [], [])
    answer = calc.Invoke(dispid(calc, "Clone"), LCID, wire.DISPATCH_METHOD, params(), 0, [], [])
    assert answer["pVarResult"]["vt"] == VARENUM.VT_DISPATCH
    pointer = answer["pVarResult"]["_varUnion"]["pdispVal"]
    child = oaut.IDispatch(dcomrt.INTERFACE(
        calc.get_cinstance(), b"".join(pointer["abData"]), calc.get_ipidRemUnknown(),
        target=calc.get_target()))
    try:
        assert child.get_iPid() != calc.get_iPid()
        assert child.get_oxid() == calc.get_oxid()  # served by the same process
        added = child.Invoke(dispid(child, "Add"), LCID, wire.DISPATCH_METHOD,
                             params(ivar(VARENUM.VT_I4, 30), ivar(VARENUM.VT_I4, 12)), 0, [], [])
        assert result_of(added, "lVal") == 42
        got = child.Invoke(dispid(child, "Memory"), LCID, wire.DISPATCH_PROPERTYGET, params(),
                           0, [], [])
        assert result_of(got, "lVal") == 77  # the clone's own memory, copied
        child.Invoke(memory, LCID, wire.DISPATCH_PROPERTYPUT,
                     params(ivar(VARENUM.VT_I4, 5), named=(wire.DISPID_PROPERTYPUT,)), 0, [], [])
        got = calc.Invoke(memory, LCID, wire.DISPATCH_PROPERTYGET, params(), 0, [], [])
        assert result_of(got, "lVal") == 77  # a different object
    finally:
        child.RemRelease()


# -- by-reference arguments: rgVarRef (MS-OAUT 3.1.4.4.1) -----------------------------------------
def test_impackets_by_reference_request_is_faulted_not_misread(bench):
    """impacket cannot send a by-reference argument that NDR readers can read: its
    IDispatch.Invoke() copies rgVarRefIdx into rgVarRef, and a hand-built IDispatch_Invoke puts
    rgVarRef's wireVARIANTStr 4 bytes short of an 8-byte boundary of the stub (aligned, it
    seems, from the start of the parameter rather than of the stub, as C706 14.2.2 has it). The
    server faults the call (RPC_X_BAD_STUB_DATA) rather than read a wrong value, and keeps
    serving."""
    request = oaut.IDispatch_Invoke()
    request["ORPCthis"] = bench.get_cinstance().get_ORPCthis()
    request["ORPCthis"]["flags"] = 0
    request["dispIdMember"] = dispid(bench, "Bump")
    request["riid"] = oaut.IID_NULL
    request["lcid"] = LCID
    request["dwFlags"] = wire.DISPATCH_METHOD
    request["pDispParams"] = params(ivar(VARENUM.VT_BSTR, "n"), ivar(VARENUM.VT_EMPTY))
    request["cVarRef"] = 1
    request["rgVarRefIdx"] = [0]
    request["rgVarRef"] = [ivar_byref_i4(41)]
    data = request.getData()
    header = data.rindex(struct.pack("<HHHHI", VT.BYREF | VT.I4, 0, 0, 0, VT.BYREF | VT.I4)) - 8
    assert header % 8 == 4, "impacket now aligns rgVarRef's VARIANT: this test's premise is gone"
    with pytest.raises(DCERPCException) as raised:
        raw_call(bench, request)
    assert "rpc_x_bad_stub_data" in str(raised.value)
    answer = bench.Invoke(dispid(bench, "Scale"), LCID, wire.DISPATCH_METHOD,
                          params(ivar(VARENUM.VT_R8, 1.5)), 0, [], [])
    assert result_of(answer, "dblVal") == 3.0


def test_by_reference_answer_carries_rg_var_ref(bench):
    """The same call in the spec's layout (made by pydcom) over impacket's connection: the
    answer returns rgVarRef updated (MS-OAUT 3.1.4.4), which impacket's IDispatch_InvokeResponse
    has no field for, so its ErrorCode reads rgVarRef's max_count (SPEC-NOTES §9 row 8)."""
    stub = wire.InvokeRequest(
        orpcthis(), dispid(bench, "Bump"), IID_NULL, LCID, wire.DISPATCH_METHOD,
        wire.DISPPARAMS([Variant(VT.EMPTY), Variant(VT.BSTR, "n")], None, 2, 0),
        1, [0], [Variant(VT.BYREF | VT.I4, 41)]).encode()
    raw = raw_call(bench, (wire.OP_INVOKE, stub))
    ours = wire.InvokeResponse.decode(raw)
    assert ours.hr == hresult.S_OK
    assert ours.pVarResult == Variant(VT.BSTR, "n:41")
    assert ours.rgVarRef == [Variant(VT.BYREF | VT.I4, 42)]
    theirs = oaut.IDispatch_InvokeResponse(raw)
    assert result_of(theirs, "bstrVal") == "n:41"  # what comes before rgVarRef reads right
    assert theirs["ErrorCode"] == 1  # rgVarRef's max_count, not the HRESULT
