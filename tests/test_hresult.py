import pickle
import uuid

import pytest

from pydcom import hresult
from pydcom.guid import format_guid, guid_from_bytes, guid_to_bytes, parse_guid
from pydcom.hresult import ComError


def test_class_not_registered_is_the_true_code_not_the_kb_typo():
    assert hresult.REGDB_E_CLASSNOTREG == 0x80040154
    err = ComError(hresult.REGDB_E_CLASSNOTREG, "{00000000-0000-0000-0000-000000000001}")
    assert "Class not registered" in str(err)
    assert "0x80040154" in str(err)
    assert err.name == "REGDB_E_CLASSNOTREG"


def test_win32_codes_map_to_hresults():
    assert hresult.hresult_from_win32(hresult.RPC_S_SERVER_UNAVAILABLE) == 0x800706BA
    assert hresult.HRESULT_RPC_S_SERVER_UNAVAILABLE == 0x800706BA
    assert hresult.hresult_from_win32(0) == 0
    assert "RPC server is unavailable" in str(ComError(0x800706BA))
    assert hresult.name_of(0x800706BA) == "HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE)"


def test_log_labels_name_the_code_and_give_its_hex():
    assert hresult.label_of(0) == "S_OK"
    assert hresult.label_of(hresult.REGDB_E_CLASSNOTREG) == "REGDB_E_CLASSNOTREG (0x80040154)"
    assert hresult.label_of(-2147467262) == "E_NOINTERFACE (0x80004002)"
    assert hresult.label_of(0x8BADF00D) == "0x8BADF00D"


def test_hresult_is_unsigned_and_error_pickles():
    err = ComError(-2147467262)  # E_NOINTERFACE as a signed int
    assert err.hresult == hresult.E_NOINTERFACE
    again = pickle.loads(pickle.dumps(err))
    assert again.hresult == err.hresult and str(again) == str(err)


def test_a_remote_explanation_is_kept_and_pickles():
    bare = ComError(hresult.E_FAIL, "Add")
    assert bare.source is None and bare.description is None
    err = ComError(hresult.RPC_E_SERVERFAULT, "Add: ValueError: bad input", source="ValueError",
                   description="bad input")
    assert (err.source, err.description) == ("ValueError", "bad input")
    assert str(err).endswith("(RPC_E_SERVERFAULT 0x80010105): Add: ValueError: bad input")
    again = pickle.loads(pickle.dumps(err))
    assert (again.hresult, again.detail, again.source, again.description) == (
        err.hresult, err.detail, "ValueError", "bad input")


def test_dispatch_error_keeps_its_own_source_and_description():
    from pydcom.automation.errors import DispatchError
    err = DispatchError("it broke", "Demo.Calculator")
    assert (err.source, err.description) == ("Demo.Calculator", "it broke")


def test_unknown_code_still_reads():
    assert "0x8BADF00D" in str(ComError(0x8BADF00D))


@pytest.mark.parametrize("text", ["{00020400-0000-0000-C000-000000000046}",
                                  "00020400-0000-0000-c000-000000000046"])
def test_guid_text_forms(text):
    value = parse_guid(text)
    assert format_guid(value) == "{00020400-0000-0000-C000-000000000046}"


@pytest.mark.parametrize("text", ["", "{00020400-0000-0000-C000-000000000046", "zz", "{}", 42])
def test_bad_guid_text(text):
    with pytest.raises(ValueError):
        parse_guid(text)


def test_guid_wire_form_is_little_endian_fields():
    value = uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10")
    assert guid_to_bytes(value) == bytes.fromhex("04030201060508070" "90a0b0c0d0e0f10")
    assert guid_from_bytes(guid_to_bytes(value)) == value
