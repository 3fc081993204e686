"""NDR 2.0: layouts checked by hand against C706 14 and MS-DCOM, round trips of every construct,
strict decoding, speed-shaping facts."""

from __future__ import annotations

import struct
import tracemalloc
import uuid

import pytest
from hypothesis import given, settings, strategies as st

from pydcom import ndr
from pydcom.ndr import NdrError
from pydcom.wire.activation_properties import CustomHeader
from pydcom.wire.object_exporter import ComplexPingRequest
from pydcom.wire.orpc import (
    COMVERSION,
    DUALSTRINGARRAY,
    ORPC_EXTENT,
    ORPC_EXTENT_ARRAY,
    ORPCTHAT,
    ORPCTHIS,
    REMQIRESULT,
    STDOBJREF,
    MInterfacePointer,
)
from pydcom.wire.remunknown import RemQueryInterfaceResponse

from .fixtures import Aliased, Mixed, Nested, StringParams, VariantLike

G1 = uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10")


# -- layouts by hand --------------------------------------------------------------------------
def test_orpcthis_without_extensions_is_32_bytes():
    raw = ORPCTHIS(COMVERSION(5, 7), 0, 0, G1, None).encode()
    assert raw == bytes.fromhex("05000700" "00000000" "00000000") + G1.bytes_le + bytes(4)


def test_conformant_structure_hoists_max_count():
    raw = DUALSTRINGARRAY(3, 2, [7, 0x41, 0]).encode()
    # max_count first (C706 14.3.7), then the fields, then the elements
    assert raw == struct.pack("<IHH3H", 3, 3, 2, 7, 0x41, 0)


def test_deferred_referents_follow_depth_first_with_windows_ids():
    ext = ORPC_EXTENT(G1, 3, b"abc" + bytes(5))
    raw = ORPCTHIS(COMVERSION(5, 7), 0, 0, G1, ORPC_EXTENT_ARRAY(1, 0, [ext, None])).encode()
    expected = b"".join([
        bytes.fromhex("05000700" "00000000" "00000000"), G1.bytes_le, struct.pack("<I", 0x20000),
        struct.pack("<III", 1, 0, 0x20004),  # ORPC_EXTENT_ARRAY, its extent pointer
        struct.pack("<III", 2, 0x20008, 0),  # the pointer array: max_count 2, one NULL
        struct.pack("<I", 8), G1.bytes_le, struct.pack("<I", 3), b"abc" + bytes(5),
    ])
    assert raw == expected


def test_hyper_members_align_the_struct_to_8():
    raw = REMQIRESULT(0x80004002, STDOBJREF(0, 5, 1, 2, G1)).encode()
    assert raw[:8] == struct.pack("<I4x", 0x80004002)  # 4 pad bytes before the 8-aligned STDOBJREF
    assert len(raw) == 8 + 40


def test_complexping_layout_from_the_spec_notes():
    raw = ComplexPingRequest(0x1122, 1, 2, 0, [10, 11], None).encode()
    assert struct.unpack_from("<QHHH", raw) == (0x1122, 1, 2, 0)
    assert struct.unpack_from("<I", raw, 16)[0] == 0x20000  # AddToSet id
    assert struct.unpack_from("<I", raw, 20)[0] == 2  # its max_count
    assert struct.unpack_from("<QQ", raw, 24) == (10, 11)  # OIDs 8-aligned
    assert struct.unpack_from("<I", raw, 40)[0] == 0  # DelFromSet NULL


def test_top_level_ref_has_no_id_and_unique_has_id_then_referent():
    raw = StringParams("ab", "x").encode()
    assert raw == (struct.pack("<IIII", 0x20000, 3, 0, 3) + "ab\0".encode("utf-16-le") + b"\0\0"
                   + struct.pack("<III", 2, 0, 2) + b"x\0")


def test_size_is_of_an_array_behind_two_pointers():
    results = [REMQIRESULT(0, STDOBJREF(0, 5, 1, 2, G1)), REMQIRESULT(0x80004002, STDOBJREF(0, 0, 0, 0, G1))]
    raw = RemQueryInterfaceResponse(ORPCTHAT(), results, 0).encode()
    assert struct.unpack_from("<II", raw, 8) == (0x20000, 2)  # id, then max_count, then elements
    back = RemQueryInterfaceResponse.decode(raw)
    assert back.ppQIResults == results and back.hr == 0


def test_non_encapsulated_union_carries_its_discriminant_again():
    raw = VariantLike(vt=3, value=-2).encode()
    assert struct.unpack_from("<IIHHHHIi", raw)[-2:] == (3, -2)
    assert VariantLike.decode(raw) == VariantLike(vt=3, value=-2)
    double = VariantLike(vt=5, value=1.5).encode()
    assert len(double) == 16 + 4 + 4 + 8  # the arm is 8-aligned after the u32 discriminant


def test_full_pointers_alias():
    shared = COMVERSION(5, 7)
    raw = Aliased(shared, shared).encode()
    assert struct.unpack_from("<II", raw) == (0x20000, 0x20000)
    assert len(raw) == 8 + 4  # the referent once
    back = Aliased.decode(raw)
    assert back.first is back.second and back.first == shared


def test_ts1_stream_follows_the_spec():
    header = CustomHeader(1, 2, 0, 2, 1, uuid.UUID(int=0), [G1], [64], None)
    raw = ndr.ts1.serialize(header)
    assert raw[:8] == bytes.fromhex("01100800cccccccc")
    length, filler = struct.unpack_from("<II", raw, 8)
    assert filler == 0 and length % 8 == 0 and len(raw) == 16 + length  # length counts the pad
    assert ndr.ts1.deserialize(raw, CustomHeader) == [header]


def test_ts1_accepts_impacket_style_lengths_and_filler():
    header = CustomHeader(1, 2, 0, 2, 1, uuid.UUID(int=0), [G1], [64], None)
    raw = bytearray(ndr.ts1.serialize(header))
    body = bytes(ndr.ts1.encode_body(header))[8:]
    unpadded = len(body.rstrip(b"\0")) + 4  # impacket counts the body without the pad
    struct.pack_into("<II", raw, 8, unpadded, 0xCCCCCCCC)
    assert ndr.ts1.deserialize(bytes(raw), CustomHeader) == [header]


# -- round trips --------------------------------------------------------------------------------
u16s = st.integers(0, 0xFFFF)
u32s = st.integers(0, 0xFFFFFFFF)
guids = st.uuids()
extents = st.builds(lambda id_, data: ORPC_EXTENT(id_, len(data), data + bytes(-len(data) % 8)),
                    guids, st.binary(max_size=20))
extent_arrays = st.lists(st.none() | extents, max_size=4).map(
    lambda items: ORPC_EXTENT_ARRAY(len(items), 0, items + [None] * (len(items) % 2)))
orpcthis = st.builds(ORPCTHIS, st.builds(COMVERSION, u16s, u16s), u32s, u32s, guids,
                     st.none() | extent_arrays)
dsas = st.lists(u16s, max_size=30).map(lambda a: DUALSTRINGARRAY(len(a), len(a) // 2, a))
stdobjrefs = st.builds(STDOBJREF, u32s, u32s, st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), guids)
qiresults = st.lists(st.builds(REMQIRESULT, u32s, stdobjrefs), max_size=5)
mixed = st.lists(u32s, max_size=6).flatmap(lambda v: st.builds(
    Mixed, st.integers(0, 255), st.integers(-2**15, 2**15 - 1), st.integers(-2**63, 2**63 - 1),
    st.floats(allow_nan=False), st.lists(u16s, min_size=3, max_size=3), st.just(len(v)), st.just(v)))
variants = st.one_of(
    st.builds(lambda: VariantLike(vt=0, value=None)),
    st.integers(-2**31, 2**31 - 1).map(lambda v: VariantLike(vt=3, value=v)),
    st.floats(allow_nan=False).map(lambda v: VariantLike(vt=5, value=v)),
    (st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)).map(
        lambda v: VariantLike(vt=8, value=v)),
)
pings = st.tuples(st.lists(st.integers(0, 2**64 - 1), max_size=10),
                  st.lists(st.integers(0, 2**64 - 1), max_size=10)).map(
    lambda t: ComplexPingRequest(5, 1, len(t[0]), len(t[1]), t[0] or None, t[1] or None)
    if t[0] and t[1] else ComplexPingRequest(5, 1, len(t[0]), 0, t[0] or None, None)
    if t[0] else ComplexPingRequest(5, 1, 0, len(t[1]), None, t[1] or None))
values = st.one_of(orpcthis, dsas, qiresults.map(lambda r: RemQueryInterfaceResponse(ORPCTHAT(), r, 0)),
                   mixed, variants, pings,
                   st.builds(MInterfacePointer, st.just(0), st.just(b"")),
                   st.binary(max_size=64).map(lambda b: MInterfacePointer(len(b), b)),
                   st.builds(StringParams, st.none() | st.text(max_size=8).filter(lambda s: "\0" not in s),
                             st.text(st.characters(max_codepoint=255), max_size=8).filter(lambda s: "\0" not in s)),
                   st.builds(Nested, st.none() | extent_arrays, st.none() | u32s))


@given(values)
@settings(max_examples=400)
def test_round_trip(value):
    raw = value.encode()
    assert type(value).decode(raw) == value


@given(values)
@settings(max_examples=200)
def test_round_trip_in_a_ts1_stream(value):
    if isinstance(value, ndr.Params):
        return  # parameter lists are stubs, not serialized types
    assert ndr.ts1.deserialize(ndr.ts1.serialize(value), type(value)) == [value]


@pytest.mark.parametrize("offset", range(8))
@pytest.mark.parametrize("kind,value", [(ndr.u8, 200), (ndr.u16, 60000), (ndr.i32, -5),
                                        (ndr.u64, 2**63 + 1), (ndr.f64, 2.5), (ndr.GUID, G1)])
def test_primitives_align_at_every_offset(offset, kind, value):
    w = ndr.Writer()
    w.buf += b"\xee" * offset
    kind.encode(w, value)
    raw = bytes(w.buf)
    start = offset + (-offset % kind.align)
    assert raw[offset:start] == bytes(start - offset)  # padding is zero
    r = ndr.Reader(raw, offset)
    assert kind.decode(r) == value and r.pos == len(raw)


# -- strictness ---------------------------------------------------------------------------------
@given(values, st.data())
@settings(max_examples=300)
def test_truncation_is_an_ndr_error(value, data):
    raw = value.encode()
    if not raw:
        return
    cut = data.draw(st.integers(0, len(raw) - 1))
    try:
        decoded = type(value).decode(raw[:cut])
    except NdrError:
        return
    # Only trailing padding may go missing without notice.
    assert len(raw) - cut <= 7 and decoded == value


@given(st.binary(max_size=120), st.sampled_from([ORPCTHIS, DUALSTRINGARRAY, RemQueryInterfaceResponse,
                                                 Mixed, VariantLike, ComplexPingRequest,
                                                 MInterfacePointer, StringParams, Nested, CustomHeader]))
@settings(max_examples=2000)
def test_random_bytes_give_a_value_or_an_ndr_error(raw, kind):
    try:
        kind.decode(raw)
    except NdrError:
        pass


def test_hostile_counts_fail_fast_without_allocating():
    raw = struct.pack("<IHH", 0xFFFFFFFF, 0xFFFF, 0) + bytes(64)
    tracemalloc.start()
    with pytest.raises(NdrError, match="cannot fit|disagrees"):
        DUALSTRINGARRAY.decode(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1 << 20
    ping = struct.pack("<QHHHxxII", 1, 1, 0xFFFF, 0, 0x20000, 0xFFFF) + bytes(32)
    with pytest.raises(NdrError):
        ComplexPingRequest.decode(ping)


@pytest.mark.parametrize("raw,message", [
    (struct.pack("<IHH2H", 3, 2, 0, 1, 2), "disagrees"),  # max_count 3, wNumEntries 2
    (struct.pack("<IIII", 0x20000, 5, 0, 9) + bytes(20), "counts"),  # actual > max
    (struct.pack("<IIII", 0x20000, 2, 1, 2) + bytes(8), "counts"),  # string offset not 0
    (struct.pack("<IIII", 0x20000, 2, 0, 2) + b"a\0b\0" + struct.pack("<III", 1, 0, 1) + b"x",
     "NUL"),  # a string without its NUL
])
def test_inconsistent_conformance_is_refused(raw, message):
    kind = DUALSTRINGARRAY if raw.startswith(b"\x03") else StringParams
    with pytest.raises(NdrError, match=message):
        kind.decode(raw)


def test_unknown_union_arm_and_mismatched_discriminant():
    raw = bytearray(VariantLike(vt=3, value=1).encode())
    struct.pack_into("<H", raw, 8, 99)
    struct.pack_into("<I", raw, 16, 99)
    with pytest.raises(NdrError, match="no arm"):
        VariantLike.decode(bytes(raw))
    struct.pack_into("<H", raw, 8, 3)
    with pytest.raises(NdrError, match="disagrees"):
        VariantLike.decode(bytes(raw))


def test_null_ref_pointer_and_leftover_bytes():
    with pytest.raises(NdrError, match="NULL"):
        StringParams("a", None).encode()
    raw = ORPCTHIS(COMVERSION(5, 7), 0, 0, G1, None).encode()
    with pytest.raises(NdrError, match="left over"):
        ORPCTHIS.decode(raw + bytes(8))
    assert ORPCTHIS.decode(raw + bytes(8), exact=False).cid == G1


def test_encode_refuses_values_that_do_not_fit():
    with pytest.raises(NdrError):
        COMVERSION(70000, 0).encode()
    with pytest.raises(NdrError, match="size_is"):
        DUALSTRINGARRAY(5, 0, [1, 2]).encode()
    with pytest.raises(NdrError):
        ORPCTHIS(COMVERSION(5, 7), 0, 0, "not a guid", None).encode()


def test_deep_nesting_is_bounded():
    kind = ndr.u32
    for _ in range(100):
        kind = ndr.unique(kind)  # a pointer to a pointer to ... a u32
    raw = struct.pack("<100I", *range(0x20000, 0x20000 + 400, 4)) + struct.pack("<I", 7)
    with pytest.raises(NdrError, match="nested"):
        ndr.decode(kind, raw)
    value = 7
    with pytest.raises(NdrError, match="nested"):
        ndr.encode(kind, value)
    shallow = ndr.unique(ndr.unique(ndr.u32))
    assert ndr.decode(shallow, ndr.encode(shallow, 7)) == 7


def test_a_reader_over_a_bytearray_reads_it_in_place_and_takes_bytes():
    """A stub reassembled from fragments is a bytearray: read where it is, not copied whole,
    and what is taken of it is bytes of its own, unchanged when the buffer is used again."""
    from pydcom.ndr.core import Reader

    data = bytearray(b"\x01\x00\x00\x00abcdefgh")
    r = Reader(data)
    assert r.data is data and r.u32() == 1
    taken = r.take(8)
    assert type(taken) is bytes and taken == b"abcdefgh"
    data[4:12] = bytes(8)
    assert taken == b"abcdefgh"
    assert type(Reader(memoryview(b"xy")).data) is bytes  # any other buffer is copied


def test_a_gathering_writer_holds_large_bytes_and_keeps_alignment():
    from pydcom.ndr.core import HOLD_MIN, Writer

    big = bytes(range(256)) * (HOLD_MIN // 256) + b"12345"  # not a multiple of 8
    plain, gathering = Writer(), Writer(gather=True)
    for w in (plain, gathering):
        w.buf += b"head"
        w.put(big)
        w.align(8)
        w.buf += b"tail"
    assert gathering.held == len(big) & ~7 and len(gathering.buf) < 100
    parts = gathering.parts()
    assert any(isinstance(p, memoryview) and p.obj is big for p in parts)
    assert b"".join(parts) == bytes(plain.buf) == gathering.getvalue()
    small = Writer(gather=True)
    small.put(bytes(100))
    assert small.held == 0 and small.parts() == [small.buf]
