"""The error information extension (MS-DCOM 2.2.21.1-2.2.21.3) in an ORPCTHAT (2.2.13): bytes
worked out by hand from the spec, round trips, what a reader refuses, and impacket reading the
ORPCTHAT pydcom writes."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, strategies as st
from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dtypes import ULONG

from pydcom.wire.errorinfo import (
    MAX_STRING_UNITS,
    ErrorInfo,
    ErrorObjectData,
    error_info_of,
)
from pydcom.wire.errors import WireError
from pydcom.wire.ids import CLSID_ERROR_EXTENSION, CLSID_ErrorObject
from pydcom.wire.objref import ObjRefCustom
from pydcom.wire.orpc import ORPC_EXTENT, ORPC_EXTENT_ARRAY, ORPCTHAT

IID = uuid.UUID("6e5a1b2c-3d4e-4f50-8a61-7b8c9d0e1f20")
IID_LE = "2c1b5a6e" "4e3d" "504f" "8a617b8c9d0e1f20"  # MS-DTYP 2.3.4: Data1-3 little-endian

# Source "E", Description "ab", no HelpFile, help context 7 (2.2.21.2, 2.2.21.3).
OBJECT_DATA = bytes.fromhex(
    "00000000"  # dwVersion 0
    "07000000"  # dwHelpContext
    + IID_LE +  # iid
    "ffffffff"  # dwSourceSignature: present
    "02000000" "00000000" "02000000"  # dwMax 2 (E + NUL), dwOffSet 0, dwActual = dwMax
    "4500" "0000"  # "E", NUL
    "ffffffff"  # dwDescriptionSignature
    "03000000" "00000000" "03000000"
    "6100" "6200" "0000"  # "ab", NUL: odd, and the next field follows with no padding
    "00000000"  # dwHelpFileSignature: absent, no string
)
SAMPLE = ErrorInfo(IID, "E", "ab", None, help_context=7)

# The OBJREF_CUSTOM around it (2.2.18.1, 2.2.18.6): MEOW, flags 4, IID_IErrorInfo,
# CLSID_ErrorObject, cbExtension 0, reserved = len(pObjectData) + 8 as Windows writes it.
OBJREF = bytes.fromhex(
    "4d454f57" "04000000"
    "20b1f21c" "7d54" "1b10" "8e6508002b2bd119"  # IID_IErrorInfo
    "1b030000" "0000" "0000" "c000000000000046"  # CLSID_ErrorObject
    "00000000" "4e000000"  # cbExtension, reserved = 70 + 8
) + OBJECT_DATA

# The ORPCTHAT in NDR (2.2.13.1, 2.2.13.2, 2.2.13.4; referent ids as Windows numbers them).
ORPCTHAT_BYTES = bytes.fromhex(
    "00000000"  # flags
    "00000200"  # extensions: referent id
    "01000000" "00000000"  # ORPC_EXTENT_ARRAY size 1 (non-NULL extents), reserved
    "04000200"  # extent: referent id of the array
    "02000000"  # max_count (size + 1) & ~1 = 2
    "08000200" "00000000"  # the extent, then a NULL to make the count even
    "78000000"  # ORPC_EXTENT is conformant: its max_count (size + 7) & ~7 = 120 goes first
    "1c030000" "0000" "0000" "c000000000000046"  # id CLSID_ERROR_EXTENSION
    "76000000"  # size 118, the OBJREF without padding
) + OBJREF + bytes(2)  # padded to 120


def test_error_object_bytes_from_the_spec():
    assert len(OBJECT_DATA) == 70
    assert SAMPLE.encode() == OBJECT_DATA
    assert ErrorInfo.decode(OBJECT_DATA) == SAMPLE


def test_the_objref_custom_around_it():
    objref = SAMPLE.objref()
    assert objref.clsid == CLSID_ErrorObject
    assert objref.encode() == OBJREF


def test_orpcthat_bytes_from_the_spec():
    assert SAMPLE.orpcthat().encode() == ORPCTHAT_BYTES
    assert len(ORPCTHAT_BYTES) == 176
    decoded = ORPCTHAT.decode(ORPCTHAT_BYTES)
    assert decoded.extensions.size == 1 and decoded.extensions.extent[1] is None
    assert error_info_of(decoded) == SAMPLE


def test_the_fixed_fields_are_one_flat_ndr_structure():
    assert ErrorObjectData(0, 7, IID).encode() == OBJECT_DATA[:24]


def test_no_strings_at_all():
    info = ErrorInfo(IID)
    raw = info.encode()
    assert raw == OBJECT_DATA[:4] + bytes(4) + OBJECT_DATA[8:24] + bytes(12)
    assert ErrorInfo.decode(raw) == info


def test_empty_string_is_a_lone_nul():
    raw = ErrorInfo(IID, "").encode()
    assert raw[24:] == bytes.fromhex("ffffffff" "01000000" "00000000" "01000000" "0000"
                                     "00000000" "00000000")
    assert ErrorInfo.decode(raw).source == ""


def test_a_sender_that_aligns_each_signature_is_read_too():
    """2 zero bytes after the odd-length Description, as NDR alignment would put them."""
    aligned = OBJECT_DATA[:-4] + bytes(2) + OBJECT_DATA[-4:]
    assert ErrorInfo.decode(aligned) == SAMPLE


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                max_size=40)


@given(st.builds(ErrorInfo, st.uuids(), st.none() | _text, st.none() | _text,
                 st.none() | _text, st.integers(0, 0xFFFFFFFF)))
def test_round_trip(info):
    assert ErrorInfo.decode(info.encode()) == info
    assert error_info_of(ORPCTHAT.decode(info.orpcthat().encode())) == info


def test_a_long_text_is_cut_to_the_limit_and_never_inside_a_surrogate_pair():
    text = "a" + "\U0001F600" * MAX_STRING_UNITS  # each emoji is two UTF-16 units
    info = ErrorInfo.decode(ErrorInfo(IID, description=text).encode())
    assert len(info.description.encode("utf-16-le")) // 2 <= MAX_STRING_UNITS - 1
    assert info.description == text[:len(info.description)]
    assert ErrorInfo.decode(ErrorInfo(IID, "b" * 70_000).encode()).source == "b" * (
        MAX_STRING_UNITS - 1)


def _with(*changes: int) -> bytes:
    """OBJECT_DATA with the u32 at each offset given replaced: _with(offset, value, ...)."""
    data = bytearray(OBJECT_DATA)
    for offset, value in zip(changes[::2], changes[1::2]):
        struct.pack_into("<I", data, offset, value)
    return bytes(data)


@pytest.mark.parametrize("data, why", [
    (OBJECT_DATA[:23], "shorter than the fixed fields"),
    (_with(0, 1), "a version other than 0"),
    (_with(24, 1), "a signature neither 0 nor 0xFFFFFFFF"),
    (_with(32, 1), "dwOffSet not 0"),
    (_with(36, 1), "dwActual not dwMax"),
    (_with(28, 3), "dwMax not dwActual"),
    (_with(28, MAX_STRING_UNITS + 1, 36, MAX_STRING_UNITS + 1), "over the string limit"),
    (OBJECT_DATA[:44], "a string cut short"),
    (OBJECT_DATA[:-4], "the last signature missing"),
])
def test_what_a_reader_refuses(data, why):
    with pytest.raises(WireError):
        ErrorInfo.decode(data)


def _orpcthat(*extents) -> ORPCTHAT:
    extents = list(extents)
    return ORPCTHAT(0, ORPC_EXTENT_ARRAY(len(extents), 0, extents + [None] * (len(extents) % 2)))


def _extent(ext_id: uuid.UUID, data: bytes) -> ORPC_EXTENT:
    return ORPC_EXTENT(ext_id, len(data), data + bytes(-len(data) % 8))


def test_unknown_extensions_are_ignored():
    other = _extent(uuid.UUID("f1f19680-4d2a-11ce-a66a-0020af6e72f4"), b"debug data")
    assert error_info_of(_orpcthat(other)) is None
    assert error_info_of(_orpcthat(other, SAMPLE.extent())) == SAMPLE
    assert error_info_of(ORPCTHAT()) is None
    assert error_info_of(None) is None


@pytest.mark.parametrize("data", [
    b"",
    b"\xff" * 40,  # not an OBJREF
    OBJREF[:60],  # an OBJREF_CUSTOM whose error object is cut short
    ObjRefCustom(IID, uuid.uuid4(), OBJECT_DATA).encode(),  # another unmarshaler's data
    ObjRefCustom(IID, CLSID_ErrorObject, _with(28, 0x7FFFFFFF, 36, 0x7FFFFFFF)).encode(),
])
def test_an_unreadable_error_extension_is_no_error_information(data):
    assert error_info_of(_orpcthat(_extent(CLSID_ERROR_EXTENSION, data))) is None


class _ImpacketAnswer(dcomrt.DCOMANSWER):
    """An ORPC response with no [out] parameters but the HRESULT, in impacket's NDR."""
    structure = (("ErrorCode", ULONG),)


def test_impacket_reads_the_orpcthat():
    """impacket's ORPCTHAT (dcomrt.py) parses pydcom's response whole, the extent as it was sent
    (it does not read the error object itself: its ErrorInfoString is wrong, §9 row 16)."""
    stub = ORPCTHAT_BYTES + struct.pack("<I", 0x80010105)
    answer = _ImpacketAnswer(stub)
    assert len(answer.getData()) == len(stub) and answer["ErrorCode"] == 0x80010105
    extensions = answer["ORPCthat"]["extensions"]
    assert (extensions["size"], len(extensions["extent"])) == (1, 2)
    extent = extensions["extent"][0]["Data"]
    assert extent["id"] == CLSID_ERROR_EXTENSION.bytes_le
    assert extent["size"] == len(OBJREF)
    assert b"".join(extent["data"]) == OBJREF + bytes(2)
