"""OBJREF and DUALSTRINGARRAY: layouts from MS-DCOM 2.2.18-2.2.19, round trips, strictness,
and impacket reading what pydcom writes."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, settings, strategies as st
from impacket.dcerpc.v5 import dcomrt

from pydcom.wire.dualstringarray import DualStringArray, SecurityBinding, StringBinding
from pydcom.wire.errors import WireError
from pydcom.wire.objref import (
    DataElement,
    ObjRefCustom,
    ObjRefExtended,
    ObjRefHandler,
    ObjRefStandard,
    StdObjRef,
    decode_objref,
)

IID_IUnknown = uuid.UUID("00000000-0000-0000-c000-000000000046")


def test_dualstringarray_example_from_the_spec_notes():
    # one TCP binding "10.0.0.1[49667]" and an NTLM binding with an empty SPN
    dsa = DualStringArray((StringBinding.tcp("10.0.0.1", 49667),), (SecurityBinding(0x0A, ""),))
    raw = dsa.encode()
    count, offset = struct.unpack_from("<HH", raw)
    assert (count, offset) == (22, 18)
    assert raw[4:6] == b"\x07\x00" and raw[6:36].decode("utf-16-le") == "10.0.0.1[49667]"
    assert raw[36:] == bytes.fromhex("0000" "0000" "0a00" "ffff" "0000" "0000")
    assert DualStringArray.decode(raw) == (dsa, len(raw))
    assert dsa.string_bindings[0].host == "10.0.0.1"
    assert dsa.string_bindings[0].endpoint == "49667"


def test_smallest_dualstringarray():
    raw = DualStringArray().encode()
    assert raw == struct.pack("<HH4H", 4, 2, 0, 0, 0, 0)  # MS-DCOM 2.2.19.1
    assert DualStringArray.decode(raw)[0] == DualStringArray()


hosts = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
                min_size=1, max_size=20)
string_bindings = st.builds(StringBinding, st.integers(1, 0xFFFF), hosts)
security_bindings = st.builds(SecurityBinding, st.integers(1, 0xFE),
                              st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF,
                                                    blacklist_categories=("Cs",)), max_size=20))
dsas = st.builds(DualStringArray, st.lists(string_bindings, max_size=4).map(tuple),
                 st.lists(security_bindings, max_size=3).map(tuple))
stds = st.builds(StdObjRef, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                 st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.uuids())
iids = st.uuids().filter(lambda u: u.int != 0)
objrefs = st.one_of(
    st.builds(ObjRefStandard, iids, stds, dsas),
    st.builds(ObjRefHandler, iids, stds, st.uuids(), dsas),
    st.builds(ObjRefCustom, iids, st.uuids(), st.binary(max_size=64), st.integers(0, 2**32 - 1)),
    st.builds(ObjRefExtended, iids, stds, dsas,
              st.builds(DataElement, iids, st.binary(min_size=1, max_size=40))),
)


@given(dsas)
def test_dualstringarray_round_trips_in_both_versions(dsa):
    assert DualStringArray.decode(dsa.encode())[0] == dsa
    entries, offset = dsa.entries()
    assert DualStringArray.from_entries(entries, offset) == dsa


@given(objrefs)
def test_objref_round_trips(objref):
    assert decode_objref(objref.encode()) == objref


@given(objrefs, st.data())
@settings(max_examples=300)
def test_truncated_objref_is_a_wire_error(objref, data):
    raw = objref.encode()
    if isinstance(objref, ObjRefCustom):
        raw = raw[:48]  # custom data is opaque: only the fixed part can be cut short
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(WireError):
        decode_objref(raw[:cut])


@given(st.binary(max_size=200))
@settings(max_examples=500)
def test_random_bytes_are_an_objref_or_a_wire_error(raw):
    raw = struct.pack("<I", 0x574F454D) + raw
    try:
        decode_objref(raw)
    except WireError:
        pass


def test_null_iid_and_bad_signature_are_refused():
    std = StdObjRef(0, 5, 1, 2, uuid.uuid4())
    with pytest.raises(WireError):
        ObjRefStandard(uuid.UUID(int=0), std, DualStringArray()).encode()
    raw = bytearray(ObjRefStandard(IID_IUnknown, std, DualStringArray()).encode())
    raw[0] ^= 1
    with pytest.raises(WireError, match="MEOW"):
        decode_objref(bytes(raw))


def test_impacket_reads_a_pydcom_standard_objref():
    ipid = uuid.UUID("00001234-0000-0000-0000-00000000abcd")
    objref = ObjRefStandard(IID_IUnknown, StdObjRef(0, 5, 0x1122334455667788, 0x99, ipid),
                            DualStringArray.tcp(["127.0.0.2"], security=(SecurityBinding(0x0A),)))
    raw = objref.encode()
    parsed = dcomrt.OBJREF_STANDARD(raw)
    assert parsed["flags"] == 1
    assert parsed["std"]["cPublicRefs"] == 5
    assert parsed["std"]["oxid"] == 0x1122334455667788 and parsed["std"]["oid"] == 0x99
    assert parsed["std"]["ipid"] == ipid.bytes_le
    addr = dcomrt.DUALSTRINGARRAYPACKED(parsed["saResAddr"])
    entries, security_offset = objref.resolver.entries()
    assert (addr["wNumEntries"], addr["wSecurityOffset"]) == (len(entries), security_offset)
    # impacket reads the string bindings as the UTF-16 text before wSecurityOffset
    strings = addr["aStringArray"][:security_offset * 2].decode("utf-16-le")
    assert strings.split("\x00")[0] == "\x07127.0.0.2"
