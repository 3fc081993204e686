"""Invoke's direct codec (pydcom.automation.invoke_codec) against the declared parameter lists
(idispatch_wire.InvokeRequest / InvokeResponse, MS-OAUT 3.1.4.4): the same bytes both ways."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydcom.automation import idispatch_wire as wire
from pydcom.automation import invoke_codec as codec
from pydcom.automation.errors import DispatchError
from pydcom.automation.variant import VT, SafeArray, Variant
from pydcom.ndr import NdrError
from pydcom.rpc.framing import Gathered
from pydcom.wire.orpc import ORPCTHAT, ORPC_EXTENT, ORPC_EXTENT_ARRAY, orpcthis

IID_NULL = uuid.UUID(int=0)

scalars = st.one_of(
    st.builds(Variant, st.just(VT.I4), st.integers(-2**31, 2**31 - 1)),
    st.builds(Variant, st.just(VT.I2), st.integers(-2**15, 2**15 - 1)),
    st.builds(Variant, st.just(VT.I8), st.integers(-2**63, 2**63 - 1)),
    st.builds(Variant, st.just(VT.R8), st.floats(allow_nan=False)),
    st.builds(Variant, st.just(VT.BOOL), st.booleans()),
    st.builds(Variant, st.just(VT.BSTR), st.one_of(st.none(), st.text(max_size=20))),
    st.builds(Variant, st.just(VT.EMPTY)),
    st.builds(Variant, st.just(VT.ERROR), st.integers(0, 2**32 - 1)),
)
arrays = st.lists(st.integers(-2**31, 2**31 - 1), max_size=5).map(
    lambda xs: Variant(VT.ARRAY | VT.I4, SafeArray(VT.I4, ((1, len(xs)),), tuple(xs))) if xs
    else Variant(VT.EMPTY))
variants = st.one_of(scalars, arrays,
                     scalars.map(lambda v: Variant(VT.BYREF | VT.VARIANT, v)))
cids = st.binary(min_size=16, max_size=16)


@st.composite
def requests(draw):
    args = draw(st.lists(variants, max_size=6))
    named = draw(st.lists(st.integers(-5, 20), max_size=len(args)))
    varref_count = draw(st.integers(0, len(args)))
    varref = draw(st.lists(variants, min_size=varref_count, max_size=varref_count))
    index = draw(st.lists(st.integers(0, 2**32 - 1), min_size=varref_count,
                          max_size=varref_count))
    return (draw(cids), draw(st.integers(-2**31, 2**31 - 1)), draw(st.integers(0, 2**32 - 1)),
            args, named, index, varref)


def declared_request(cid, dispid, flags, args, named, index, varref):
    params = wire.DISPPARAMS(list(args) or None, list(named) or None, len(args), len(named))
    return wire.InvokeRequest(orpcthis(cid), dispid, IID_NULL, 0x400, flags, params,
                              len(varref), list(index), list(varref))


@settings(max_examples=300, deadline=None)
@given(requests())
def test_request_bytes_match_the_declaration(request):
    ours = codec.encode_request(*request)
    assert ours == declared_request(*request).encode()
    call = codec.decode_request(ours + b"\0\0\0\0")  # bytes after the request are ignored
    cid, dispid, flags, args, named, index, varref = request
    assert (call.cid, call.dispid, call.dw_flags) == (cid, dispid, flags)
    assert (call.args, call.named, call.varref_index, call.varref) == (
        list(args), list(named), list(index), list(varref))
    assert call.riid_null and call.version == (5, 7) and call.lcid == 0x400


def test_request_with_orpc_extensions_is_read_by_the_declaration():
    this = orpcthis(bytes(range(16)))
    this.extensions = ORPC_EXTENT_ARRAY(1, 0, [ORPC_EXTENT(uuid.uuid4(), 3, b"abc\0\0\0\0\0"),
                                               None])
    params = wire.DISPPARAMS([Variant(VT.I4, 7)], None, 1, 0)
    stub = wire.InvokeRequest(this, 42, IID_NULL, 0, 1, params, 0, [], []).encode()
    call = codec.decode_request(stub)
    assert call.dispid == 42 and call.args == [Variant(VT.I4, 7)] and call.cid == bytes(range(16))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), variants), st.lists(variants, max_size=4),
       st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
       st.one_of(st.none(), st.builds(DispatchError, st.text(max_size=10), st.text(max_size=10),
                                      st.integers(1, 2**32 - 1))))
def test_response_bytes_match_the_declaration(result, varref, arg_error, hr, error):
    ours = codec.encode_response(result, error, arg_error, varref, hr)
    info = wire.EXCEPINFO(0, 0, None, None, None, 0, 0, 0, 0) if error is None else \
        wire.EXCEPINFO(0, 0, error.source or None, error.description or None, None, 0, 0, 0,
                       error.scode)
    declared = wire.InvokeResponse(ORPCTHAT(), result, info, arg_error, list(varref), hr)
    assert ours == declared.encode()
    answer = codec.decode_response(ours)
    assert (answer.result, answer.arg_error, answer.varref, answer.hr) == (
        result, arg_error, list(varref), hr)
    assert answer.excepinfo[1:3] == (info.bstrSource, info.bstrDescription)
    assert answer.excepinfo[5] == info.scode


@pytest.mark.parametrize("cut", range(1, 120, 7))
def test_truncated_requests_are_ndr_errors(cut):
    stub = codec.encode_request(bytes(16), 1, 1, [Variant(VT.BSTR, "abc"), Variant(VT.I4, 1)],
                                [], [0], [Variant(VT.BYREF | VT.I4, 5)])
    if cut >= len(stub):
        return
    with pytest.raises(NdrError):
        codec.decode_request(stub[:cut])


def test_absurd_counts_fail_before_allocating():
    stub = bytearray(codec.encode_request(bytes(16), 1, 1, [Variant(VT.I4, 1)], [], [], []))
    stub[68:72] = (0x7FFFFFFF).to_bytes(4, "little")  # cArgs
    stub[76:80] = (0x7FFFFFFF).to_bytes(4, "little")  # max_count
    with pytest.raises(NdrError):
        codec.decode_request(bytes(stub))


plain = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), st.booleans())


@settings(max_examples=300, deadline=None)
@given(cids, st.integers(-2**31, 2**31 - 1), st.lists(plain, max_size=8),
       st.one_of(st.none(), plain), st.integers(0, 2**32 - 1))
def test_plain_values_take_the_fixed_forms(cid, dispid, args, result, hr):
    """Numbers and booleans travel without Variants, in the same bytes as the declaration."""
    vts = [codec.plain_vt(v) for v in args]
    stub = codec.encode_fixed_request(cid, dispid, 3, vts, args)
    assert stub == declared_request(cid, dispid, 3, [Variant(vt, v) for vt, v in zip(vts, args)],
                                    [], [], []).encode()
    assert codec.decode_fixed_request(stub)[-2:] == (vts, args)
    for _ in range(2):  # worked out, then from the blank kept for these types
        assert codec.encode_plain_request(cid, dispid, 3, args[::-1]) == stub
    vt = VT.EMPTY if result is None else codec.plain_vt(result)
    data = codec.encode_fixed_response(vt, result, hr)
    info = wire.EXCEPINFO(0, 0, None, None, None, 0, 0, 0, 0)
    assert data == wire.InvokeResponse(ORPCTHAT(), Variant(vt, result), info, 0, [], hr).encode()
    assert codec.decode_fixed_response(data) == (hr, vt, result, 0)


def test_a_fixed_response_with_other_referent_ids_is_read_alike():
    """Another server's referent ids and a pArgErr: not pydcom's own bytes, read field by
    field to the same answer."""
    data = bytearray(codec.encode_fixed_response(VT.I4, 7, 0x80020005))
    struct.pack_into("<I", data, 8, 0x00020000)  # the result's referent id
    struct.pack_into("<I", data, len(data) - 8, 2)  # pArgErr
    assert codec.decode_fixed_response(bytes(data)) == (0x80020005, VT.I4, 7, 2)


def test_forms_the_fixed_decoders_leave_to_the_general_ones():
    """A BSTR argument, a named argument, an exception: None, and the general decoder reads
    them."""
    stub = codec.encode_request(bytes(16), 1, 1, [Variant(VT.BSTR, "x")], [], [], [])
    assert codec.decode_fixed_request(stub) is None
    assert codec.decode_request(stub).args == [Variant(VT.BSTR, "x")]
    stub = codec.encode_request(bytes(16), 1, 1, [Variant(VT.I4, 1)], [0], [], [])
    assert codec.decode_fixed_request(stub) is None
    assert codec.decode_request(stub).named == [0]
    data = codec.encode_response(Variant(VT.EMPTY), DispatchError("no", "src", 0x80004005), 0,
                                 [], 0x80020009)
    assert codec.decode_fixed_response(data) is None
    assert codec.decode_response(data).excepinfo[1:3] == ("src", "no")


@pytest.mark.parametrize("size", [65536, 65536 + 5, 1 << 20])
def test_a_large_byte_array_is_held_not_copied_and_the_bytes_are_the_declared_ones(size):
    """A SAFEARRAY of VT_UI1 of 64 KiB or more stays where it is: the stub is the encoder's
    buffer cut around it (Gathered), and its bytes are the declaration's, clSize included."""
    data = bytes(range(251)) * (size // 251) + bytes(size % 251)
    array = Variant(VT.ARRAY | VT.UI1, SafeArray(VT.UI1, ((0, size),), data))
    args = [Variant(VT.I4, 1), array, Variant(VT.BSTR, "after")]
    ours = codec.encode_request(bytes(16), 7, 1, args, [], [], [])
    assert isinstance(ours, Gathered)
    assert any(isinstance(part, memoryview) and part.obj is data for part in ours.parts)
    assert bytes(ours) == declared_request(bytes(16), 7, 1, args, [], [], []).encode()
    assert codec.decode_request(bytearray(bytes(ours))).args == args
    result = codec.encode_response(array, None, 0, [Variant(VT.I2, 3)], 0)
    declared = wire.InvokeResponse(ORPCTHAT(), array, wire.EXCEPINFO(0, 0, None, None, None, 0,
                                                                     0, 0, 0),
                                   0, [Variant(VT.I2, 3)], 0)
    assert isinstance(result, Gathered) and bytes(result) == declared.encode()
    answer = codec.decode_response(bytearray(bytes(result)))
    assert answer.result == array and type(answer.result.value.values) is bytes


def test_a_small_byte_array_is_copied_into_the_buffer():
    array = Variant(VT.ARRAY | VT.UI1, SafeArray(VT.UI1, ((0, 100),), bytes(100)))
    assert not isinstance(codec.encode_request(bytes(16), 7, 1, [array], [], [], []), Gathered)


def test_a_request_of_a_known_length_is_read_by_its_shape_only_when_it_has_that_shape():
    """decode_fixed_request tries the layout it read last at a stub's length first: another
    layout of the same length, or a damaged one, is read (or refused) as without it."""
    first = bytes(codec.encode_fixed_request(bytes(16), 1, 1, [VT.I4, VT.R4], [7, 0.5]))
    other = bytes(codec.encode_fixed_request(bytes(16), 2, 1, [VT.R4, VT.I4], [0.25, 9]))
    assert len(first) == len(other)
    assert codec.decode_fixed_request(first)[7:] == ([VT.I4, VT.R4], [7, 0.5])
    assert codec.decode_fixed_request(first)[7:] == ([VT.I4, VT.R4], [7, 0.5])  # by its shape
    assert codec.decode_fixed_request(other)[3:4] + codec.decode_fixed_request(other)[7:] == (
        2, [VT.R4, VT.I4], [0.25, 9])
    for at in range(len(first)):
        damaged = bytearray(first)
        damaged[at] ^= 0xFF
        codec._shapes.clear()
        fresh = codec.decode_fixed_request(bytes(damaged))
        codec.decode_fixed_request(first)
        assert codec.decode_fixed_request(bytes(damaged)) == fresh
