"""PDU encode/decode: exact layouts from C706 12.6 / MS-RPCE 2.2.2, round trips, strictness."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, settings, strategies as st

from pydcom.rpc import pdu as P
from pydcom.rpc.constants import (
    NDR64_SYNTAX,
    NDR_SYNTAX,
    PFC_FIRST_FRAG,
    PTYPE,
    SyntaxId,
    bind_time_feature_syntax,
)

IF = SyntaxId(uuid.UUID("c8a3e0d2-51f6-4e1c-9d27-3b6f0a0e7b11"), 1, 2)


def test_request_layout():
    obj = uuid.UUID("00000000-1111-2222-3333-444444444444")
    raw = P.Request(7, 1, 3, b"abcd", object=obj).encode()
    assert raw[:4] == bytes([5, 0, 0, 0x83])  # version 5.0, request, first|last|object
    assert raw[4:8] == b"\x10\x00\x00\x00"  # little-endian, ASCII, IEEE
    assert struct.unpack_from("<HHI", raw, 8) == (44, 0, 7)  # frag_length, auth_length, call_id
    assert struct.unpack_from("<IHH", raw, 16) == (4, 1, 3)  # alloc_hint, p_cont_id, opnum
    assert raw[24:40] == obj.bytes_le and raw[40:] == b"abcd"


def test_bind_layout_and_syntax_version_order():
    raw = P.Bind(1, (P.ContextElement(0, IF, (NDR_SYNTAX,)),), 5840, 5840, 0).encode()
    assert len(raw) == 16 + 12 + 44  # one context with one transfer syntax: 44 bytes
    assert struct.unpack_from("<HHIB", raw, 16) == (5840, 5840, 0, 1)
    # p_syntax_id_t: UUID then version with the major in the low 16 bits (C706 12.6.3.1)
    assert raw[32:48] == IF.uuid.bytes_le
    assert struct.unpack_from("<I", raw, 48)[0] == 1 | 2 << 16
    assert raw[52:68] == NDR_SYNTAX.uuid.bytes_le and raw[68:72] == b"\x02\x00\x00\x00"


def test_bind_ack_sec_addr_padding():
    ack = P.BindAck(1, (P.ContextResult(0, 0, NDR_SYNTAX),), 5840, 5840, 0x1234, b"135")
    raw = ack.encode()
    # 16 header + 8 fixed + 2 length + "135\0" = 30, padded to 32, then n_results and results
    assert struct.unpack_from("<H", raw, 24)[0] == 4 and raw[26:30] == b"135\x00"
    assert raw[30:32] == b"\x00\x00" and raw[32] == 1
    assert len(raw) == 36 + 24
    assert P.decode_pdu(raw) == ack


def test_fault_is_32_bytes():
    raw = P.encode_fault(9, 0, 0x1C010002)
    assert len(raw) == 32 and raw[2] == PTYPE.FAULT
    fault = P.decode_pdu(raw)
    assert isinstance(fault, P.Fault) and fault.status == 0x1C010002 and fault.call_id == 9


def test_auth_trailer_is_16_aligned_from_the_stub_and_round_trips():
    auth = P.AuthVerifier(10, 2, 79, b"T" * 16)
    req = P.Request(3, 0, 1, b"12345", auth=auth)
    raw = req.encode()
    frag_len, auth_len = struct.unpack_from("<HH", raw, 8)
    trailer_at = frag_len - auth_len - 8
    assert (trailer_at - 24) % 16 == 0 and raw[trailer_at + 2] == 11  # pad length
    back = P.decode_pdu(raw)
    assert back.stub == b"12345" and back.auth.token == b"T" * 16 and back.auth.context_id == 79


syntaxes = st.builds(SyntaxId, st.uuids(), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
flags = st.integers(0, 255)
call_ids = st.integers(0, 0xFFFFFFFF)
stubs = st.binary(max_size=200)
auths = st.none() | st.builds(P.AuthVerifier, st.integers(1, 255), st.integers(0, 6),
                              st.integers(0, 0xFFFFFFFF), st.binary(min_size=1, max_size=40))
elements = st.builds(P.ContextElement, st.integers(0, 0xFFFF), syntaxes,
                     st.lists(syntaxes, max_size=3).map(tuple))
results = st.builds(P.ContextResult, st.integers(0, 3), st.integers(0, 0xFFFF), syntaxes)

pdus = st.one_of(
    st.builds(P.Request, call_ids, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), stubs,
              st.none() | st.uuids(), flags, st.integers(0, 0xFFFFFFFF), auths),
    st.builds(P.Response, call_ids, st.integers(0, 0xFFFF), stubs, flags,
              st.integers(0, 0xFFFFFFFF), st.integers(0, 255), auths),
    st.builds(P.Fault, call_ids, st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF), flags,
              st.integers(0, 255), stubs, st.integers(0, 0xFFFFFFFF), st.integers(0, 255), auths),
    st.builds(P.Bind, call_ids, st.lists(elements, max_size=4).map(tuple),
              st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), flags,
              auths),
    st.builds(P.AlterContext, call_ids, st.lists(elements, max_size=4).map(tuple)),
    st.builds(P.BindAck, call_ids, st.lists(results, max_size=4).map(tuple),
              st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
              st.binary(max_size=8).map(lambda b: b.replace(b"\0", b"1")), flags, auths),
    st.builds(P.AlterContextResp, call_ids, st.lists(results, max_size=4).map(tuple)),
    st.builds(P.BindNak, call_ids, st.integers(0, 9),
              st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), max_size=3).map(tuple)),
    st.builds(P.Auth3, flags, call_ids, auths),
    st.builds(P.Shutdown, flags, call_ids),
    st.builds(P.CoCancel, flags, call_ids),
    st.builds(P.Orphaned, flags, call_ids),
)


@given(pdus)
def test_every_pdu_round_trips(pdu):
    raw = pdu.encode()
    assert struct.unpack_from("<H", raw, 8)[0] == len(raw)
    assert P.decode_pdu(raw) == pdu


@given(pdus, st.data())
@settings(max_examples=300)
def test_truncation_or_bad_length_gives_pdu_error_only(pdu, data):
    raw = pdu.encode()
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(P.PduError):
        P.decode_pdu(raw[:cut])


@given(st.binary(min_size=16, max_size=300))
@settings(max_examples=1000)
def test_random_bytes_decode_or_fail_cleanly(raw):
    raw = bytes([5, 0]) + raw[2:8] + struct.pack("<H", len(raw)) + raw[10:]
    try:
        P.decode_pdu(raw)
    except P.PduError:
        pass


def test_unsupported_version_and_short_frag_length():
    with pytest.raises(P.PduError, match="version"):
        P.peek_header(bytes([4, 0, 0, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0]))
    with pytest.raises(P.PduError, match="shorter"):
        P.peek_header(bytes([5, 0, 0, 3, 0x10, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0]))


def test_big_endian_header_is_framed_but_body_refused():
    raw = bytearray(P.Request(1, 0, 0, b"").encode())
    raw[4] = 0x00  # big-endian integers
    raw[8:10] = struct.pack(">H", len(raw))
    header = P.peek_header(raw)
    assert header.frag_length == len(raw) and not header.little_endian
    with pytest.raises(P.PduError, match="big-endian"):
        P.decode_pdu(bytes(raw))


def test_feature_negotiation_syntax():
    syntax = bind_time_feature_syntax(3)
    assert str(syntax.uuid).startswith("6cb71c2c-9812-4540-0300")
    assert syntax.major == 1 and syntax != NDR64_SYNTAX


# -- the heads of call PDUs --------------------------------------------------------------------

def test_the_heads_every_writer_packs_are_the_pdus_encode_writes():
    obj = uuid.UUID("00000400-1111-2222-3333-444455556666")
    assert (P.pack_request_head(P.SINGLE_OBJECT_REQUEST, 44, 0, 3, 4, 1, 2) + obj.bytes_le
            + b"abcd" == P.Request(3, 1, 2, b"abcd", obj).encode())
    assert (P.pack_response_head(P.RESPONSE_LEADING[PFC_FIRST_FRAG], 28, 0, 3, 100, 1, 0)
            + b"abcd" == P.Response(3, 1, b"abcd", PFC_FIRST_FRAG, alloc_hint=100).encode())
    assert P.encode_fault(3, 1, 5) == P.Fault(3, 5, 1).encode()


def test_the_single_forms_are_version_5_0_little_endian_ascii_ieee():
    """The leading bytes the hot paths compare against (C706 12.6.3.1): rpc_vers 5, minor 0,
    the PDU type, first|last (and object) flags, drep 0x10 0 0 0."""
    assert P.SINGLE_REQUEST == bytes([5, 0, 0, 3, 0x10, 0, 0, 0])
    assert P.SINGLE_OBJECT_REQUEST == bytes([5, 0, 0, 0x83, 0x10, 0, 0, 0])
    assert P.SINGLE_RESPONSE == bytes([5, 0, 2, 3, 0x10, 0, 0, 0])
