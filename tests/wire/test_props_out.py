"""PropsOutInfo's common form is written and read directly (pydcom.wire.activation_properties); the general
NDR code must agree with it byte for byte and value for value, and anything else must still go
through the general code."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings, strategies as st

from pydcom import ndr
from pydcom.wire import activation_properties
from pydcom.wire.activation_properties import PropsOutInfo, decode_props_out, props_out_stream
from pydcom.wire.errors import WireError
from pydcom.wire.orpc import MInterfacePointer

pointers = st.one_of(st.none(), st.binary(max_size=80).map(lambda b: MInterfacePointer(len(b), b)))
replies = st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(st.uuids(), min_size=n, max_size=n),
    st.lists(st.integers(0, 0xFFFFFFFF), min_size=n, max_size=n),
    st.lists(pointers, min_size=n, max_size=n)))


def general_stream(iids, results, interfaces) -> bytes:
    return ndr.ts1.serialize(PropsOutInfo(len(iids), iids, results, interfaces))


def general_value(stream: bytes) -> PropsOutInfo:
    (value,) = ndr.ts1.deserialize(stream, PropsOutInfo)
    return value


@settings(max_examples=200, deadline=None)
@given(replies)
def test_the_direct_form_is_the_general_encoding(reply):
    iids, results, interfaces = reply
    stream = props_out_stream(iids, results, interfaces)
    assert stream == general_stream(iids, results, interfaces)
    assert activation_properties._props_out_read(stream) == general_value(stream)
    assert decode_props_out(stream) == (tuple(iids), tuple(results), tuple(interfaces))


@settings(max_examples=300, deadline=None)
@given(replies, st.data())
def test_a_damaged_stream_reads_as_the_general_decoder_reads_it(reply, data):
    stream = bytearray(props_out_stream(*reply))
    for _ in range(data.draw(st.integers(1, 4))):
        stream[data.draw(st.integers(0, len(stream) - 1))] = data.draw(st.integers(0, 255))
    stream = bytes(stream[:data.draw(st.integers(0, len(stream)))])
    direct = activation_properties._props_out_read(stream)
    if direct is not None:  # taken directly only where the general decoder agrees
        assert direct == general_value(stream)


def test_other_forms_take_the_general_path():
    iid = uuid.uuid4()
    # A bad HRESULT and an inconsistent count are the general encoder's errors to name.
    with pytest.raises(ndr.NdrError):
        props_out_stream([iid], [-1], [None])
    with pytest.raises(ndr.NdrError):
        props_out_stream([iid], [0], [MInterfacePointer(3, b"ab")])
    # NULL arrays are not the common form, but are still read.
    empty = ndr.ts1.serialize(PropsOutInfo(0, None, None, None))
    assert activation_properties._props_out_read(empty) is None
    with pytest.raises(WireError):
        decode_props_out(empty[:20])
