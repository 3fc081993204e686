"""A server's exception reaches its client with its type and message (the error information ORPC
extension, MS-DCOM 2.2.21): Faulty (tests.runtime.error_classes) in a surrogate of a real
service on port 135 of 127.0.0.81, called through pydcom proxies and through impacket's DCOM
client; then hand-built responses whose extension cannot be read."""

from __future__ import annotations

import logging
import struct
import uuid

import pytest
from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dcomrt import DCERPCSessionError  # noqa: F401 - impacket looks it up here
from impacket.dcerpc.v5.dtypes import LONG, ULONG
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_NONE
from impacket.uuid import string_to_bin

from pydcom import hresult
from pydcom.examples.calculator import IntResponse
from pydcom.hresult import ComError
from pydcom.rpc.calls import CallReceived
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.exporter import ObjectExporter
from pydcom.runtime.proxy import read_answer
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.service.service import Service
from pydcom.wire.errorinfo import MAX_STRING_UNITS, ErrorInfo
from pydcom.wire.ids import CLSID_ERROR_EXTENSION, CLSID_ErrorObject, IID_IUnknown
from pydcom.wire.objref import ObjRefCustom
from pydcom.wire.orpc import ORPC_EXTENT, ORPC_EXTENT_ARRAY, ORPCTHAT

from .error_classes import (
    ApartmentFaulty,
    COMERROR_BARE,
    COMERROR_TEXT,
    FAULTY_CLSID,
    IFAULTY_IID,
    LONG_MESSAGE,
    OWN_ERROR,
    SUCCEED,
    VALUE_ERROR,
    Faulty,
    IFaulty,
)

HOST = "127.0.0.81"  # port 135 (impacket's DCOM client knows no other) of an address of its own

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def service():
    classes = StaticClassStore([ClassEntry(FAULTY_CLSID,
                                           python="tests.runtime.error_classes:Faulty")])
    started = Service(classes, [HOST], 135, ping_period=5)
    try:
        yield started.start()
    finally:
        started.close()


@pytest.fixture(scope="module")
def faulty(service):
    runtime = ClientRuntime(connect_timeout=2)
    try:
        [(code, proxy)] = remote_activate(runtime, (HOST, 135), FAULTY_CLSID, [IFAULTY_IID])
        assert code == 0
        yield proxy
        proxy.release()
    finally:
        runtime.close()


def failure(call, *args) -> ComError:
    with pytest.raises(ComError) as raised:
        call(*args)
    return raised.value


# -- through pydcom's proxies ---------------------------------------------------------------
def test_fail_takes_the_one_struct_codec_and_refuse_the_declared_one():
    assert IFaulty.by_name("Fail").flat is not None and IFaulty.by_name("Refuse").flat is None


def test_a_python_exception_arrives_with_its_type_and_message(faulty):
    err = failure(faulty.Fail, VALUE_ERROR)
    assert err.hresult == hresult.RPC_E_SERVERFAULT  # what docs/errors.md promises
    assert err.source == "ValueError"
    assert err.description.startswith("bad input (at error_classes.py:")
    assert err.description.endswith(" in Fail)")  # the innermost frame, base name only
    assert "ValueError: bad input" in str(err) and "RPC_E_SERVERFAULT 0x80010105" in str(err)
    assert faulty.Fail(SUCCEED) == 42  # the success path and the proxy are as before


def test_an_application_exception_is_named_with_its_module(faulty):
    err = failure(faulty.Fail, OWN_ERROR)
    assert err.hresult == hresult.RPC_E_SERVERFAULT
    assert err.source == "tests.runtime.error_classes.SampleError"
    assert "the sample failed" in err.description


def test_a_comerror_with_text_keeps_its_hresult_and_text(faulty):
    err = failure(faulty.Fail, COMERROR_TEXT)
    assert err.hresult == hresult.E_ACCESSDENIED
    assert err.description == "only the owner may do this" and err.source is None
    assert str(err).endswith("(E_ACCESSDENIED 0x80070005): Fail: only the owner may do this")


def test_a_comerror_without_text_is_the_bare_hresult(faulty):
    err = failure(faulty.Fail, COMERROR_BARE)
    assert err.hresult == hresult.E_ACCESSDENIED
    assert err.source is None and err.description is None and err.detail == "Fail"


def test_a_huge_message_is_cut_to_the_limit(faulty):
    err = failure(faulty.Fail, LONG_MESSAGE)
    assert err.hresult == hresult.RPC_E_SERVERFAULT
    assert len(err.description) == MAX_STRING_UNITS - 1 and set(err.description) == {"x"}


def test_a_method_with_the_declared_codec_too(faulty):
    """Refuse takes a string: its request and answer go through the declared codec."""
    err = failure(faulty.Refuse, "that")
    assert err.hresult == hresult.RPC_E_SERVERFAULT
    assert err.source == "ValueError" and err.description.startswith("refused 'that' (at ")


@pytest.mark.parametrize("cls", [Faulty, ApartmentFaulty])
def test_an_exporter_in_this_process_answers_and_logs_the_traceback_at_debug(caplog, cls):
    """The one-struct path of ObjectExporter.invoke, called directly (for an "Apartment"
    object, on the apartment's thread): the failure's answer carries the extension, and the
    traceback is logged at DEBUG only."""
    exporter = ObjectExporter([HOST])
    method = IFaulty.by_name("Fail")
    try:
        ipid = exporter.marshal(cls(), IFAULTY_IID).std.ipid

        def call(code: int) -> bytes:
            stub = method.flat[0].pack(5, 7, 0, 0, uuid.uuid4().bytes_le, 0, code)
            return exporter.invoke(IFAULTY_IID, CallReceived(1, 0, None, 3, ipid, stub, None),
                                   IFaulty)

        with caplog.at_level(logging.DEBUG, logger="pydcom.runtime"):
            failed = call(VALUE_ERROR)
        succeeded = call(SUCCEED)
    finally:
        exporter.close()
    assert succeeded == method.flat[1].pack(0, 0, 42, 0)  # no extension on success
    err = failure(read_answer, method, failed)
    assert err.hresult == hresult.RPC_E_SERVERFAULT and err.source == "ValueError"
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.levelno == logging.DEBUG and record.exc_info[0] is ValueError
    assert 'raise ValueError("bad input")' in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- through impacket's DCOM client -----------------------------------------------------------
class Fail(dcomrt.DCOMCALL):
    opnum = 3
    structure = (("code", ULONG),)


class FailResponse(dcomrt.DCOMANSWER):
    structure = (("result", LONG), ("ErrorCode", ULONG))


def test_impacket_reads_a_failing_answer(service):
    """impacket raises its own exception with the HRESULT, having parsed the answer (extension
    included) with its own NDR; a successful call after it still works."""
    dcom = dcomrt.DCOMConnection(HOST, authLevel=RPC_C_AUTHN_LEVEL_NONE, oxidResolver=True)
    try:
        iface = dcom.CoCreateInstanceEx(string_to_bin(str(FAULTY_CLSID)),
                                        string_to_bin(str(IID_IUnknown)))
        faulty = iface.RemQueryInterface(1, (string_to_bin(str(IFAULTY_IID)),))
        request = Fail()
        request["code"] = VALUE_ERROR
        with pytest.raises(dcomrt.DCERPCSessionError) as raised:
            faulty.request(request, string_to_bin(str(IFAULTY_IID)), faulty.get_iPid())
        assert raised.value.get_error_code() == hresult.RPC_E_SERVERFAULT
        answer = raised.value.get_packet()
        assert answer is not None  # impacket parsed it whole
        extent = answer["ORPCthat"]["extensions"]["extent"][0]["Data"]
        assert extent["id"] == CLSID_ERROR_EXTENSION.bytes_le
        request = Fail()
        request["code"] = SUCCEED
        answer = faulty.request(request, string_to_bin(str(IFAULTY_IID)), faulty.get_iPid())
        assert answer["result"] == 42 and answer["ErrorCode"] == 0
        faulty.RemRelease()
        iface.RemRelease()
    finally:
        dcom.disconnect()


# -- hand-built answers: what cannot be read leaves the bare HRESULT --------------------------
FAIL = IFaulty.by_name("Fail")
INFO = ErrorInfo(IFAULTY_IID, "ValueError", "bad input")


def answer(*extents, hr: int = hresult.RPC_E_SERVERFAULT) -> bytes:
    extents = list(extents)
    extensions = ORPC_EXTENT_ARRAY(len(extents), 0, extents + [None] * (len(extents) % 2)) \
        if extents else None
    return IntResponse(ORPCTHAT(0, extensions), 0, hr).encode()


def extent(data: bytes, ext_id: uuid.UUID = CLSID_ERROR_EXTENSION) -> ORPC_EXTENT:
    return ORPC_EXTENT(ext_id, len(data), data + bytes(-len(data) % 8))


def read_failure(data: bytes) -> ComError:
    return failure(read_answer, FAIL, data)


def test_a_readable_extension_is_read():
    err = read_failure(answer(INFO.extent()))
    assert (err.source, err.description) == ("ValueError", "bad input")


GOOD = INFO.objref().encode()
ERROR_OBJECT = INFO.encode()


@pytest.mark.parametrize("data", [
    b"\x00" * 8,
    b"garbage " * 9,
    GOOD[:len(GOOD) - 10],  # the Description cut short
    ObjRefCustom(IFAULTY_IID, CLSID_ErrorObject,
                 ERROR_OBJECT[:28] + struct.pack("<III", 0x40000000, 0, 0x40000000)).encode(),
    ObjRefCustom(IFAULTY_IID, uuid.uuid4(), ERROR_OBJECT).encode(),
], ids=["zeros", "garbage", "truncated", "oversized", "other-unmarshaler"])
def test_an_unreadable_extension_leaves_the_bare_hresult(data):
    err = read_failure(answer(extent(data)))
    assert err.hresult == hresult.RPC_E_SERVERFAULT
    assert err.source is None and err.description is None and err.detail == "Fail"


def test_unknown_extensions_are_ignored():
    other = extent(b"someone else's", uuid.UUID("f1f19680-4d2a-11ce-a66a-0020af6e72f4"))
    assert read_failure(answer(other)).description is None
    assert read_failure(answer(other, INFO.extent())).description == "bad input"


def test_an_extent_whose_ndr_is_broken_leaves_the_bare_hresult():
    """size says 200 where the data holds 8 (the max_count): the ORPCTHAT itself is not valid
    NDR, and the HRESULT at the end of the answer still is the failure."""
    data = bytearray(answer(extent(b"12345678")))
    size_at = data.index(CLSID_ERROR_EXTENSION.bytes_le) + 16
    struct.pack_into("<I", data, size_at, 200)
    err = read_failure(bytes(data))
    assert err.hresult == hresult.RPC_E_SERVERFAULT and err.source is None


def test_a_success_answer_with_an_extension_is_a_success():
    assert read_answer(FAIL, answer(INFO.extent(), hr=hresult.S_OK)).hr == hresult.S_OK


def test_an_exception_whose_message_cannot_be_read_still_explains_itself():
    from pydcom.runtime.exporter import exception_info

    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    info = exception_info(Unprintable(), IFAULTY_IID)
    assert info.source.endswith("Unprintable") and "could not be read" in info.description
