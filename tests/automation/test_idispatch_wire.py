"""pydcom's own automation client against pydcom's IDispatch server over the wire (MS-OAUT 3.1.4):
a real activation service on a loopback address, objects in its surrogate process, calls with
every argument form, the errors Invoke answers, QueryInterface, and hostile request stubs.
"""

from __future__ import annotations

import datetime
import decimal
import struct
import threading
import uuid

import pytest

import pydcom
from pydcom import hresult, registry
from pydcom.automation import ByRef, Dispatch, DispatchError, SafeArray, VT, Variant, wrap
from pydcom.automation import idispatch_wire as wire
from pydcom.automation.client import RemoteChannel
from pydcom.examples.calculator import CALC_CLSID, CALC_PROGID, ICALCULATOR_IID, Calculator
from pydcom.hresult import ComError
from pydcom.registry import parse_machine_name
from pydcom.rpc import RpcFault
from pydcom.runtime.coclass import coclass_entry
from pydcom.runtime.interfaces import syntax_of
from pydcom.runtime.scm_client import remote_activate
from pydcom.wire.dualstringarray import DualStringArray, StringBinding
from pydcom.wire.ids import IID_IClassFactory, IID_IDispatch, IID_IUnknown
from pydcom.wire.objref import ObjRefStandard, StdObjRef
from pydcom.wire.orpc import MInterfacePointer, interface_pointer, objref_of, orpcthis

from .conftest import client_runtime, running_service
from .interop_classes import CUSTOM_HRESULT, IPLAIN_IID, PLAIN_CLSID, WORKBENCH_CLSID

HOST = "127.0.0.72"
IID_NULL = uuid.UUID(int=0)
LCID = 0x0400
MISSING = Variant(VT.ERROR, hresult.DISP_E_PARAMNOTFOUND)  # an optional argument left out
DISPATCH_SYNTAX = syntax_of(IID_IDispatch)
ANSWER_WITHIN = 10.0  # seconds; a hostile stub must be answered (or faulted) by then

pytestmark = pytest.mark.timeout(60)


# -- the service, the client runtime, the objects ------------------------------------------------
@pytest.fixture(scope="module")
def service():
    with running_service(HOST) as started:
        yield started


@pytest.fixture(scope="module")
def runtime(service):
    with client_runtime(local_service=service.endpoint) as rt:
        yield rt


@pytest.fixture(scope="module")
def activate(service, runtime):
    endpoint = parse_machine_name(service.endpoint)

    def activate(clsid: uuid.UUID, iid: uuid.UUID = IID_IDispatch, **options):
        [(code, proxy)] = remote_activate(runtime, endpoint, clsid, [iid], **options)
        assert code == hresult.S_OK
        return proxy

    return activate


@pytest.fixture
def calc(activate):
    obj = wrap(activate(CALC_CLSID), type_key=CALC_CLSID)
    try:
        yield obj
    finally:
        obj.release()


@pytest.fixture
def bench(activate):
    obj = wrap(activate(WORKBENCH_CLSID), type_key=WORKBENCH_CLSID)
    try:
        yield obj
    finally:
        obj.release()


def channel_of(obj: Dispatch) -> RemoteChannel:
    channel = object.__getattribute__(obj, "_channel")
    assert isinstance(channel, RemoteChannel)
    return channel


def dispid_of(obj: Dispatch, name: str) -> int:
    code, [number] = channel_of(obj).get_ids_of_names([name])
    assert code == hresult.S_OK
    return number


def raw_invoke(obj: Dispatch, name: str, args, named=(), index=(), refs=(),
               flags: int = wire.DISPATCH_METHOD):
    """Invoke through the channel, DISPPARAMS as on the wire (last argument first)."""
    return channel_of(obj).invoke(dispid_of(obj, name), flags, list(args), list(named),
                                  list(index), list(refs))


# -- activation by ProgID, machine "host[port]" ---------------------------------------------------
def test_dispatch_by_progid_on_a_named_machine(service, tmp_path):
    with registry.Registry(tmp_path / "registry.sqlite3") as reg:
        reg.register(coclass_entry(Calculator))
        calc = pydcom.dispatch(CALC_PROGID, machine=service.endpoint, registry=reg)
        try:
            assert isinstance(calc, Dispatch)
            assert calc.Add(2, 3) == 5
            assert calc.Subtract(2, 3) == -1
        finally:
            calc.release()


# -- argument forms (MS-OAUT 3.1.4.4, 2.2.33) -----------------------------------------------------
def test_positional_arguments(calc):
    assert calc.Add(40, 2) == 42
    assert calc.Subtract(10, 4) == 6  # order kept: rgvarg holds them last first
    assert calc.Divide(7.0, 2) == 3.5
    assert calc.Divide(7, 2) == 3
    assert calc.Multiply("ab", 2) == "abab"


def test_named_arguments(bench):
    assert bench.Scale(value=3.0, factor=4.0) == 12.0
    assert bench.Scale(offset=1.0, value=3.0, factor=4.0) == 13.0
    assert bench.Scale(3.0, offset=1.0) == 7.0  # factor left out in between
    assert bench.Describe(5, ratio=0.5, flag=True) == "5|True|0.5"
    # on the wire: rgdispidNamedArgs holds the parameter numbers GetIDsOfNames gave
    code, numbers = channel_of(bench).get_ids_of_names(["Scale", "offset", "VALUE"])
    assert (code, numbers[1:]) == (hresult.S_OK, [2, 0])
    outcome = raw_invoke(bench, "Scale", [Variant(VT.R8, 1.0), Variant(VT.R8, 3.0)], named=[2, 0])
    assert outcome.result == Variant(VT.R8, 7.0)


def test_optional_arguments_left_out(bench):
    assert bench.Scale(3.0) == 6.0
    assert bench.Scale(3.0, 3.0) == 9.0
    # VT_ERROR DISP_E_PARAMNOTFOUND marks one left out in the middle (MS-OAUT 3.1.4.4.3)
    assert bench.Scale(3.0, MISSING, 1.0) == 7.0
    # but a required one cannot be
    with pytest.raises(ComError) as raised:
        bench.Scale(MISSING)
    assert raised.value.hresult == hresult.DISP_E_PARAMNOTOPTIONAL


def test_by_reference_arguments(bench):
    a, b = ByRef(1), ByRef(2)
    assert bench.Swap(a, b) == "swapped"
    assert (a.value, b.value) == (2, 1)
    counter = ByRef(41)
    assert bench.Bump("n", counter) == "n:41"
    assert counter.value == 42
    # VT_BYREF|VT_VARIANT takes a value of any type back
    x, y = ByRef("text", vt=VT.VARIANT), ByRef(2.5, vt=VT.VARIANT)
    assert bench.Swap(x, y) == "swapped"
    assert (x.value, y.value) == (2.5, "text")


def test_by_reference_values_come_back_in_rg_var_ref(bench):
    """rgvarg slots of by-reference arguments are VT_EMPTY; their values travel in rgVarRef,
    mapped by rgVarRefIdx, and come back updated (MS-OAUT 3.1.4.4.1-2)."""
    label, counter = Variant(VT.BSTR, "k"), Variant(VT.BYREF | VT.I4, 9)
    outcome = raw_invoke(bench, "Bump", [Variant(VT.EMPTY), label], index=[0], refs=[counter])
    assert outcome.hresult == hresult.S_OK
    assert outcome.result == Variant(VT.BSTR, "k:9")
    assert outcome.varref == [Variant(VT.BYREF | VT.I4, 10)]
    # Wine's IDispatch_Invoke_Proxy lists by-reference slots in increasing rgvarg order, pydcom's
    # client in argument order; either maps (Swap(a, b): b is slot 0)
    a, b = Variant(VT.BYREF | VT.I4, 1), Variant(VT.BYREF | VT.I4, 2)
    outcome = raw_invoke(bench, "Swap", [Variant(VT.EMPTY)] * 2, index=[0, 1], refs=[b, a])
    assert outcome.varref == [Variant(VT.BYREF | VT.I4, 1), Variant(VT.BYREF | VT.I4, 2)]
    outcome = raw_invoke(bench, "Swap", [Variant(VT.EMPTY)] * 2, index=[1, 0], refs=[a, b])
    assert outcome.varref == [Variant(VT.BYREF | VT.I4, 2), Variant(VT.BYREF | VT.I4, 1)]


def test_property_put_and_get(calc, activate):
    assert calc.Memory == 0
    calc.Memory = 9
    assert calc.Memory == 9
    calc.Memory = "seven"
    assert calc.Memory == "seven"
    other = wrap(activate(CALC_CLSID), type_key=CALC_CLSID)
    try:
        assert other.Memory == 0  # each object its own
    finally:
        other.release()
    # as on the wire: PROPERTYPUT with the one named argument DISPID_PROPERTYPUT
    outcome = raw_invoke(calc, "Memory", [Variant(VT.I2, 3)], named=[wire.DISPID_PROPERTYPUT],
                         flags=wire.DISPATCH_PROPERTYPUT)
    assert outcome.hresult == hresult.S_OK
    # a plain Python attribute keeps the value, not its VARTYPE: an int comes back VT_I4
    got = raw_invoke(calc, "Memory", [], flags=wire.DISPATCH_PROPERTYGET)
    assert got.result == Variant(VT.I4, 3)


def test_methods_returning_objects(calc):
    calc.Memory = 11
    child = calc.Clone()
    try:
        assert isinstance(child, Dispatch)
        assert child.Memory == 11
        assert child.Add(1, 2) == 3
        child.Memory = 1
        assert calc.Memory == 11
        grandchild = child.Clone()
        assert grandchild.Memory == 1
        grandchild.release()
    finally:
        child.release()


def test_a_returned_object_passed_back_is_the_same_object(bench, activate):
    kid = bench.Make("kid")
    try:
        assert kid.Hello() == "hello from kid"
        assert bench.IsMine(kid) is True  # arrived as the very object Make made
        assert bench.NameOf(kid) == "Child:kid"
        other = wrap(activate(WORKBENCH_CLSID))
        try:
            assert other.IsMine(kid) is False
            assert other.NameOf(kid) == "Child:kid"  # the same process: the object itself
        finally:
            other.release()
        assert bench.IsMine(kid) is True  # and the reference passed on is still good
        assert kid.Hello() == "hello from kid"
        bench.Memory = kid  # DISPATCH_PROPERTYPUTREF; then out and back in again
        assert bench.Memory.Hello() == "hello from kid"
        assert bench.IsMine(bench.Memory) is True
    finally:
        kid.release()


class Local:
    """An object of this process, passed to the server as an argument."""

    def __init__(self) -> None:
        self.Name = "local"


def test_a_local_object_passed_as_an_argument_is_called_back(bench):
    """The client exports it (its runtime's exporter, joined to the service); the server gets an
    IDispatch proxy and calls it back; handed back to the client it is the object itself."""
    local = Local()
    assert bench.NameOf(local) == "Dispatch:local"  # read by the server, through IDispatch
    assert bench.IsMine(local) is False
    bench.Memory = local
    assert bench.Memory is local


# -- errors Invoke answers (MS-OAUT 3.1.4.4) ------------------------------------------------------
def test_bad_param_count(calc):
    for args in ((1,), (1, 2, 3), ()):
        with pytest.raises(ComError) as raised:
            calc.Add(*args)
        assert raised.value.hresult == hresult.DISP_E_BADPARAMCOUNT
    assert calc.Add(1, 2) == 3


def test_member_not_found_and_unknown_interface(calc):
    channel = channel_of(calc)
    assert channel.invoke(0x7FFF0001, wire.DISPATCH_METHOD, [], [], [], []).hresult == \
        hresult.DISP_E_MEMBERNOTFOUND
    add = dispid_of(calc, "Add")
    assert channel.invoke(add, 0, [Variant(VT.I4, 1)] * 2, [], [], []).hresult == \
        hresult.DISP_E_MEMBERNOTFOUND  # no kind of call at all
    # riid must be IID_NULL (MS-OAUT 3.1.4.4)
    params = wire.DISPPARAMS([Variant(VT.I4, 2), Variant(VT.I4, 40)], None, 2, 0)
    stub = wire.InvokeRequest(orpcthis(), add, IID_IDispatch, LCID, wire.DISPATCH_METHOD, params,
                              0, [], []).encode()
    proxy = channel.proxy
    answer = wire.InvokeResponse.decode(proxy._call(DISPATCH_SYNTAX, wire.OP_INVOKE, stub,
                                                    proxy.ipid))
    assert answer.hr == hresult.DISP_E_UNKNOWNINTERFACE
    # a name GetIDsOfNames does not know is an AttributeError, so that hasattr() works
    with pytest.raises(AttributeError, match="DISP_E_UNKNOWNNAME"):
        calc.NoSuchThing
    assert not hasattr(calc, "NoSuchThing") and hasattr(calc, "Memory")


def test_param_not_found(bench):
    # value given twice, by position and by name
    with pytest.raises(ComError) as raised:
        bench.Scale(1.0, value=2.0)
    assert raised.value.hresult == hresult.DISP_E_PARAMNOTFOUND
    # a parameter number the method does not have; pArgErr names its slot in rgvarg
    outcome = raw_invoke(bench, "Scale", [Variant(VT.R8, 1.0), Variant(VT.R8, 2.0)], named=[7])
    assert (outcome.hresult, outcome.arg_error) == (hresult.DISP_E_PARAMNOTFOUND, 0)
    # a parameter name it does not have: GetIDsOfNames says so before any Invoke
    with pytest.raises(ComError) as raised:
        bench.Scale(1.0, nonesuch=2.0)
    assert raised.value.hresult == hresult.DISP_E_UNKNOWNNAME


def test_type_mismatch_names_the_argument(bench):
    """pArgErr is the index in rgvarg of the argument that could not be converted: the first
    of three arguments is slot 2, the last slot 0."""
    outcome = raw_invoke(bench, "Describe", [Variant(VT.R8, 0.5), Variant(VT.BOOL, True),
                                             Variant(VT.BSTR, "many")])
    assert (outcome.hresult, outcome.arg_error) == (hresult.DISP_E_TYPEMISMATCH, 2)
    outcome = raw_invoke(bench, "Describe", [Variant(VT.BSTR, "half"), Variant(VT.BOOL, True),
                                             Variant(VT.I4, 1)])
    assert (outcome.hresult, outcome.arg_error) == (hresult.DISP_E_TYPEMISMATCH, 0)
    with pytest.raises(ComError) as raised:
        bench.Describe("many", True, 0.5)
    assert raised.value.hresult == hresult.DISP_E_TYPEMISMATCH
    assert "argument 1 of 3 (rgvarg index 2)" in str(raised.value)
    # index 0 is an index too: the last argument
    with pytest.raises(ComError) as raised:
        bench.Describe(1, True, "half")
    assert raised.value.hresult == hresult.DISP_E_TYPEMISMATCH
    assert "argument 3 of 3 (rgvarg index 0)" in str(raised.value)
    with pytest.raises(ComError) as raised:
        bench.Describe(1, ratio="half", flag=True)
    assert "argument 'ratio' (rgvarg index 0)" in str(raised.value)


def test_exception_becomes_dispatch_error(bench):
    with pytest.raises(DispatchError) as raised:
        bench.Raise("boom")
    error = raised.value
    assert error.hresult == hresult.DISP_E_EXCEPTION
    assert (error.source, error.description, error.scode) == (
        "Workbench", "ValueError: boom", hresult.E_FAIL)


def test_com_error_keeps_its_hresult(bench):
    with pytest.raises(DispatchError) as raised:
        bench.RaiseCom()
    assert raised.value.hresult == hresult.DISP_E_EXCEPTION
    assert raised.value.scode == CUSTOM_HRESULT
    assert raised.value.description == "the widget is jammed"
    assert raised.value.source == "Workbench"


def test_dispatch_error_travels_whole(bench, calc):
    with pytest.raises(DispatchError) as raised:
        bench.RaiseDispatch()
    error = raised.value
    assert (error.source, error.description, error.scode) == (
        "Workbench.Source", "chosen by hand", hresult.E_ACCESSDENIED)
    assert (error.help_file, error.help_context) == ("bench.chm", 42)
    with pytest.raises(DispatchError) as raised:
        calc.Divide(1, 0)
    assert (raised.value.source, raised.value.scode) == ("Calculator", hresult.DISP_E_DIVBYZERO)


# -- VARIANTs keep their types --------------------------------------------------------------------
ECHOED = [
    Variant(VT.EMPTY), Variant(VT.NULL), Variant(VT.I2, 5), Variant(VT.I2, -32768),
    Variant(VT.I4, -7), Variant(VT.I1, -5), Variant(VT.UI1, 200), Variant(VT.UI2, 65535),
    Variant(VT.UI4, 0xFFFFFFFF), Variant(VT.I8, -(1 << 63)), Variant(VT.UI8, (1 << 64) - 1),
    Variant(VT.INT, 12), Variant(VT.UINT, 13), Variant(VT.R4, 1.5), Variant(VT.R8, -2.25),
    Variant(VT.CY, decimal.Decimal("1234.5678")), Variant(VT.DATE, 45000.25),
    Variant(VT.DECIMAL, decimal.Decimal("-79228162514264337593543950335")),
    Variant(VT.DECIMAL, decimal.Decimal("0.0000000000000000000000000001")),
    Variant(VT.BOOL, True), Variant(VT.BOOL, False), Variant(VT.ERROR, hresult.E_FAIL),
    Variant(VT.BSTR, ""), Variant(VT.BSTR, None), Variant(VT.BSTR, "\U0001f600 \u00e9"),
    Variant(VT.ARRAY | VT.I4, SafeArray(VT.I4, ((-1, 3),), (1, 2, 3))),
    Variant(VT.ARRAY | VT.UI1, SafeArray(VT.UI1, ((0, 4),), b"\x00\x01\xfe\xff")),
    Variant(VT.ARRAY | VT.BSTR, SafeArray(VT.BSTR, ((0, 2), (0, 2)), ("a", None, "", "d"))),
    Variant(VT.ARRAY | VT.VARIANT, SafeArray(VT.VARIANT, ((0, 3),), (
        Variant(VT.I2, 1), Variant(VT.BSTR, "x"), Variant(VT.ARRAY | VT.R8, SafeArray(
            VT.R8, ((0, 1),), (0.5,)))))),
]


def test_echo_preserves_variant_types(calc):
    echo = dispid_of(calc, "Echo")
    channel = channel_of(calc)
    for value in ECHOED:
        outcome = channel.invoke(echo, wire.DISPATCH_METHOD, [value], [], [], [])
        assert outcome.hresult == hresult.S_OK, value
        assert outcome.result == value
    # through the Dispatch, the value comes back as Python's
    assert calc.Echo(Variant(VT.I2, 5)) == 5
    assert calc.Echo([1, "a", 2.5]) == [1, "a", 2.5]
    moment = datetime.datetime(2024, 2, 29, 12, 30)
    assert calc.Echo(moment) == moment


# -- QueryInterface (MS-DCOM 3.1.1.5.6.1.1) answers only what is served ---------------------------
def test_query_interface_for_idispatch(activate):
    unknown = activate(CALC_CLSID, IID_IUnknown)
    disp = unknown.query_interface(IID_IDispatch)
    assert disp.iid == IID_IDispatch and disp.ipid != unknown.ipid
    calc = wrap(disp)
    code, ids = channel_of(calc).get_ids_of_names(["Add", "a", "b"])
    assert code == hresult.S_OK and ids[1:] == [0, 1]
    assert calc.Add(2, 2) == 4
    early = activate(CALC_CLSID, ICALCULATOR_IID)  # the NDR-declared interface
    assert early.Add(3, 4) == 7
    late = wrap(early.query_interface(IID_IDispatch))
    assert late.Add(3, 4) == 7
    for proxy in (late, calc, early, unknown):
        proxy.release()


def test_query_interface_for_an_unknown_iid(calc, activate):
    proxy = channel_of(calc).proxy
    with pytest.raises(ComError) as raised:
        proxy.query_interface(uuid.uuid4())
    assert raised.value.hresult == hresult.E_NOINTERFACE
    with pytest.raises(ComError) as raised:
        proxy.query_interface(IPLAIN_IID)  # declared for another class only
    assert raised.value.hresult == hresult.E_NOINTERFACE
    assert calc.Add(1, 1) == 2


def test_a_class_object_answers_no_idispatch(activate):
    factory = activate(CALC_CLSID, IID_IClassFactory, class_object=True)
    try:
        with pytest.raises(ComError) as raised:
            factory.query_interface(IID_IDispatch)
        assert raised.value.hresult == hresult.E_NOINTERFACE
        made = factory.create_instance(IID_IDispatch)
        assert wrap(made).Add(1, 2) == 3
        made.release()
    finally:
        factory.release()
    with pytest.raises(ComError) as raised:
        activate(CALC_CLSID, IID_IDispatch, class_object=True)
    assert raised.value.hresult == hresult.E_NOINTERFACE


def test_declared_iid_without_methods_serves_idispatch(activate):
    """A class registered with interfaces=(IPLAIN_IID,): the IID answers QueryInterface and is
    served as a dual interface, IDispatch's methods under its own IID."""
    proxy = activate(PLAIN_CLSID, IPLAIN_IID)
    assert proxy.iid == IPLAIN_IID
    plain = wrap(proxy)
    assert plain.Twice(21) == 42
    code, ids = channel_of(plain).get_ids_of_names(["twice", "N"])
    assert code == hresult.S_OK and ids[1] == 0
    assert channel_of(plain).type_info_count() == 1
    unknown = proxy.query_interface(IID_IUnknown)
    again = unknown.query_interface(IPLAIN_IID)
    assert wrap(again).Twice(2) == 4
    assert wrap(unknown.query_interface(IID_IDispatch)).Twice(3) == 6
    with pytest.raises(ComError) as raised:
        unknown.query_interface(uuid.uuid4())
    assert raised.value.hresult == hresult.E_NOINTERFACE
    for p in (again, unknown, proxy):
        p.release()


# -- bytes after a complete request are ignored ---------------------------------------------------
def test_extra_bytes_after_a_request_are_ignored(calc):
    proxy = channel_of(calc).proxy
    extra = b"\xde\xad\xbe\xef"

    def call(opnum: int, request) -> bytes:
        return proxy._call(DISPATCH_SYNTAX, opnum, request.encode() + extra, proxy.ipid)

    names = wire.GetIDsOfNamesRequest(orpcthis(), IID_NULL, ["Add"], 1, LCID)
    answer = wire.GetIDsOfNamesResponse.decode(call(wire.OP_GET_IDS_OF_NAMES, names))
    assert answer.hr == hresult.S_OK and answer.rgDispId == [dispid_of(calc, "Add")]
    params = wire.DISPPARAMS([Variant(VT.I4, 2), Variant(VT.I4, 40)], None, 2, 0)
    answer = wire.InvokeResponse.decode(call(wire.OP_INVOKE, wire.InvokeRequest(
        orpcthis(), dispid_of(calc, "Add"), IID_NULL, LCID, wire.DISPATCH_METHOD, params,
        0, [], [])))
    assert answer.hr == hresult.S_OK and answer.pVarResult == Variant(VT.I4, 42)
    answer = wire.GetTypeInfoCountResponse.decode(call(
        wire.OP_GET_TYPE_INFO_COUNT, wire.GetTypeInfoCountRequest(orpcthis())))
    assert (answer.pctinfo, answer.hr) == (1, hresult.S_OK)


# -- hostile Invoke stubs -------------------------------------------------------------------------
ORPCTHIS_SIZE = len(wire.GetTypeInfoCountRequest(orpcthis()).encode())
C_ARGS_AT = ORPCTHIS_SIZE + 4 + 16 + 4 + 4 + 8  # dispIdMember, riid, lcid, dwFlags, 2 pointers
MARK = 0x5A5A5A5A  # an I4 argument's value, to find its VARIANT in the stub
LOWER = 0x1234  # the SAFEARRAY's lower bound, to find its bounds


def invoke_stub(dispid: int, args, named=(), index=(), refs=()) -> bytes:
    params = wire.DISPPARAMS(list(args) or None, list(named) or None, len(args), len(named))
    return wire.InvokeRequest(orpcthis(), dispid, IID_NULL, LCID, wire.DISPATCH_METHOD, params,
                              len(refs), list(index), list(refs)).encode()


def patched(stub: bytes, offset: int, fmt: str, value, expect=None) -> bytes:
    if expect is not None:
        assert struct.unpack_from(fmt, stub, offset)[0] == expect, "the stub's layout moved"
    data = bytearray(stub)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def within(call, seconds: float = ANSWER_WITHIN):
    """``call()``'s value or the exception it raised, as ("value", v) or ("error", e); fails if
    it takes longer than ``seconds`` (the server did not answer)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - judged by the caller
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"no answer within {seconds} s"
    return ("error", box["error"]) if "error" in box else ("value", box["value"])


def answer_to(proxy, stub: bytes, opnum: int = wire.OP_INVOKE, response=wire.InvokeResponse) -> int:
    """Send ``stub`` on the proxy's IPID; the fault's or the answer's HRESULT. Fails if nothing
    comes back in time, or if the connection breaks instead of a fault."""
    kind, value = within(lambda: proxy._call(DISPATCH_SYNTAX, opnum, stub, proxy.ipid))
    if kind == "error":
        assert isinstance(value, RpcFault), f"not a fault: {value!r}"
        return value.hresult
    return response.decode(value).hr


@pytest.fixture
def target(calc):
    """The Calculator, its proxy, and a valid Invoke of Echo with a VARIANT holding a SAFEARRAY,
    and of Add with an I4 and a BSTR."""
    proxy = channel_of(calc).proxy
    echo, add = dispid_of(calc, "Echo"), dispid_of(calc, "Add")
    array = Variant(VT.ARRAY | VT.I4, SafeArray(VT.I4, ((LOWER, 2),), (7, 8)))
    echo_stub = invoke_stub(echo, [array])
    add_stub = invoke_stub(add, [Variant(VT.I4, MARK), Variant(VT.BSTR, "12")])
    assert answer_to(proxy, echo_stub) == hresult.S_OK
    assert answer_to(proxy, add_stub) == hresult.S_OK
    yield calc, proxy, echo_stub, add_stub
    assert calc.Add(1, 2) == 3  # the object keeps answering
    assert answer_to(proxy, add_stub) == hresult.S_OK


def failed(code: int) -> bool:
    """An error HRESULT: a fault's (RPC_X_BAD_STUB_DATA is 0x800706F7 as a client reports it)
    or the answer's."""
    return bool(code & 0x80000000)


def test_bad_orpcthis(target):
    """COMVERSION other than 5.x, and ORPCTHIS flags other than 0 (MS-DCOM 3.1.1.5.4)."""
    _, proxy, _, add_stub = target
    code = answer_to(proxy, patched(add_stub, 0, "<H", 6, expect=5))
    assert code == hresult.RPC_E_VERSION_MISMATCH
    assert failed(answer_to(proxy, patched(add_stub, 4, "<I", 0xFFFF, expect=0)))


def test_truncated_invoke(target):
    _, proxy, echo_stub, add_stub = target
    for stub in (echo_stub, add_stub):
        for end in sorted({0, 4, 8, ORPCTHIS_SIZE - 1, ORPCTHIS_SIZE, ORPCTHIS_SIZE + 10,
                           C_ARGS_AT, C_ARGS_AT + 6, C_ARGS_AT + 12, len(stub) // 2,
                           len(stub) - 9, len(stub) - 5, len(stub) - 4, len(stub) - 1}):
            assert failed(answer_to(proxy, stub[:end])), f"truncated at {end} of {len(stub)}"


def test_c_args_disagreeing_with_the_array(target):
    _, proxy, _, add_stub = target
    for count in (0, 1, 3, 1000, 0xFFFFFFFF):
        code = answer_to(proxy, patched(add_stub, C_ARGS_AT, "<I", count, expect=2))
        assert failed(code), f"cArgs {count}"
    # cNamedArgs without an array, and an array without its count
    assert failed(answer_to(proxy, patched(add_stub, C_ARGS_AT + 4, "<I", 1, expect=0)))
    assert failed(answer_to(proxy, patched(add_stub, C_ARGS_AT - 8, "<I", 0)))  # rgvarg NULL


def test_unknown_vartype(target):
    _, proxy, _, add_stub = target
    head = struct.pack("<HHHHI", VT.I4, 0, 0, 0, VT.I4) + struct.pack("<i", MARK)
    at = add_stub.index(head)
    for vt in (0x0F, 0x20, 0x7FFF, VT.VOID, VT.PTR, VT.LPWSTR, VT.BYREF | VT.EMPTY,
               VT.ARRAY | VT.EMPTY, VT.ARRAY | VT.BYREF | VT.DECIMAL):
        stub = patched(patched(add_stub, at, "<H", vt), at + 8, "<I", vt)
        assert failed(answer_to(proxy, stub)), f"vt 0x{vt:x}"
        # the discriminant disagreeing with a known vt
        stub = patched(add_stub, at + 8, "<I", vt)
        assert failed(answer_to(proxy, stub)), f"discriminant 0x{vt:x} for VT_I4"


def test_safearray_with_absurd_bounds(target):
    _, proxy, echo_stub, _ = target
    at = echo_stub.index(struct.pack("<Ii", 2, LOWER))  # rgsabound[0]: cElements, lLbound
    for count in (0xFFFFFFFF, 0x7FFFFFFF, 1 << 30, 3, 0):
        assert failed(answer_to(proxy, patched(echo_stub, at, "<I", count))), f"cElements {count}"
    # cDims (and its hoisted max_count) absurd
    dims_at = echo_stub.index(struct.pack("<IHH", 1, 1, 0x0080))
    for dims in (0, 2, 0xFFFF):
        stub = patched(patched(echo_stub, dims_at, "<I", dims), dims_at + 4, "<H", dims)
        assert failed(answer_to(proxy, stub)), f"cDims {dims}"


def test_more_named_arguments_than_arguments(target):
    calc, proxy, _, _ = target
    stub = invoke_stub(dispid_of(calc, "Add"), [Variant(VT.I4, 1)], named=[0, 1])
    assert failed(answer_to(proxy, stub))
    stub = invoke_stub(dispid_of(calc, "Add"), [], named=[wire.DISPID_PROPERTYPUT])
    assert failed(answer_to(proxy, stub))


def test_var_ref_index_out_of_range(target):
    calc, proxy, _, _ = target
    add = dispid_of(calc, "Add")
    two = [Variant(VT.EMPTY), Variant(VT.I4, 1)]
    ref = Variant(VT.BYREF | VT.I4, 5)
    for index in (2, 7, 0xFFFFFFFF):
        assert failed(answer_to(proxy, invoke_stub(add, two, index=[index], refs=[ref]))), index
    # the same slot twice: answered (Wine's IDispatch_Invoke_Stub lets the last one win too)
    both = [Variant(VT.EMPTY), Variant(VT.EMPTY)]
    answer_to(proxy, invoke_stub(add, both, index=[0, 0], refs=[ref, ref]))
    # cVarRef disagreeing with the arrays: it follows the last argument's VARIANT (VT_I4 1)
    stub = invoke_stub(add, two, index=[0], refs=[ref])
    c_var_ref = stub.index(struct.pack("<HHHHIi", VT.I4, 0, 0, 0, VT.I4, 1)) + 16
    for count in (0, 2, 0xFFFFFFFF):
        assert failed(answer_to(proxy, patched(stub, c_var_ref, "<I", count, expect=1))), count


def test_interface_pointer_arguments_that_name_nothing(target, bench, service):
    """VT_DISPATCH arguments the server cannot use: not an OBJREF, an IPID its own exporter does
    not have, an IPID another process's exporter does not have, an OXID nobody knows, a
    resolver nobody listens at. Each is an error HRESULT, answered at once."""
    calc, _, _, _ = target
    own = objref_of(channel_of(bench).marshal(bench))  # the Workbench's surrogate's exporter
    other = objref_of(channel_of(calc).marshal(calc))  # the Calculator's: another process
    assert own.std.oxid != other.std.oxid
    host, port = parse_machine_name(service.endpoint)
    resolver = DualStringArray((StringBinding.tcp(host, port),))
    nobody = DualStringArray((StringBinding.tcp(host, 1),))  # connection refused

    def unknown_ipid(objref):
        std = objref.std
        return interface_pointer(ObjRefStandard(IID_IDispatch, StdObjRef(
            0, 1, std.oxid, std.oid, uuid.uuid4()), objref.resolver))

    def unknown_oxid(bindings):
        return interface_pointer(ObjRefStandard(IID_IDispatch, StdObjRef(
            0, 1, 0x1234567, 0x89ABCDEF, uuid.uuid4()), bindings))

    cases = [
        (MInterfacePointer(8, b"\x00" * 8), hresult.RPC_E_INVALID_OBJREF),
        (MInterfacePointer(4, b"MEOW"), hresult.RPC_E_INVALID_OBJREF),
        (unknown_ipid(own), hresult.E_NOINTERFACE),
        # a proxy is made; the method's first call on it finds the object gone
        (unknown_ipid(other), hresult.DISP_E_EXCEPTION),
        (unknown_oxid(resolver), None),  # OR_INVALID_OXID, as an HRESULT
        (unknown_oxid(nobody), None),  # RPC_S_SERVER_UNAVAILABLE
    ]
    for pointer, expected in cases:
        kind, outcome = within(lambda: raw_invoke(bench, "NameOf", [Variant(VT.DISPATCH, pointer)]))
        assert kind == "value", outcome
        assert failed(outcome.hresult), pointer
        if expected is not None:
            assert outcome.hresult == expected, hresult.name_of(outcome.hresult)
        if outcome.hresult != hresult.DISP_E_EXCEPTION:
            assert outcome.arg_error == 0  # the argument that could not be taken
    assert bench.NameOf(bench.Make("ok")) == "Child:ok"


def test_hostile_get_ids_of_names(target):
    _, proxy, _, _ = target

    def stub(names, count=None):
        return wire.GetIDsOfNamesRequest(orpcthis(), IID_NULL, names,
                                         len(names) if count is None else count, LCID)

    def answer(data: bytes) -> int:
        return answer_to(proxy, data, wire.OP_GET_IDS_OF_NAMES, wire.GetIDsOfNamesResponse)

    good = stub(["Add", "a", "b"]).encode()
    assert answer(good) == hresult.S_OK
    for end in (0, ORPCTHIS_SIZE, ORPCTHIS_SIZE + 16, ORPCTHIS_SIZE + 24, len(good) // 2,
                len(good) - 4, len(good) - 1):
        assert failed(answer(good[:end])), f"truncated at {end}"
    # cNames (it follows the names) disagreeing with rgszNames' max_count
    c_names = len(good) - 8
    for count in (0, 2, 4, wire.MAX_NAMES + 1, 0xFFFFFFFF):
        assert failed(answer(patched(good, c_names, "<I", count, expect=3))), count
    # max_count absurd
    max_count = ORPCTHIS_SIZE + 16
    assert failed(answer(patched(good, max_count, "<I", 0x7FFFFFFF, expect=3)))
    # a NULL name, an IID not IID_NULL
    assert failed(answer(stub(["Add", None]).encode()))
    other = wire.GetIDsOfNamesRequest(orpcthis(), IID_IDispatch, ["Add"], 1, LCID).encode()
    assert answer(other) == hresult.DISP_E_UNKNOWNINTERFACE


def test_null_variant_pointers(target):
    """A NULL VARIANT pointer in rgvarg or in rgVarRef: no value to call with."""
    calc, proxy, _, _ = target
    add = dispid_of(calc, "Add")
    assert failed(answer_to(proxy, invoke_stub(add, [None, Variant(VT.I4, 1)])))
    assert failed(answer_to(proxy, invoke_stub(add, [Variant(VT.EMPTY), Variant(VT.I4, 1)],
                                               index=[0], refs=[None])))
