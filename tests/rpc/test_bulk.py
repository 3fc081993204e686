"""Long messages coming in: read into the connection's own buffer, the stubs of a run of
fragments taken straight into the call's buffer, and that buffer used again."""

from __future__ import annotations

import gc
import struct
import sys
import uuid

import pytest

from pydcom.rpc import pdu as P
from pydcom.rpc.client_connection import ClientConnection, ResponseReceived
from pydcom.rpc.constants import (
    NCA_S_FAULT_ACCESS_DENIED,
    NCA_S_PROTO_ERROR,
    PFC_DID_NOT_EXECUTE,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
)
from pydcom.rpc.framing import FrameBuffer, stub_buffer

from .test_server_connection import bound_server, split_pdus

EXACT_REFCOUNTS = sys.implementation.name == "cpython" and sys.version_info < (3, 14)


def request_fragments(call_id, ctx, stub, size, obj=None, alloc_hint=None, flags_extra=0):
    chunks = [stub[i:i + size] for i in range(0, len(stub), size)] or [b""]
    for i, chunk in enumerate(chunks):
        flags = (PFC_FIRST_FRAG if i == 0 else 0) | (PFC_LAST_FRAG if i == len(chunks) - 1 else 0)
        hint = len(stub) - i * size if alloc_hint is None else alloc_hint
        yield P.Request(call_id, ctx, 0, chunk, obj, flags | (flags_extra if i else 0),
                        alloc_hint=hint).encode()


def read_in(server, data: bytes, step: int = 4096) -> list:
    """Feed ``data`` the way the serve loop does: through receive_data until a long call is
    under way, then through receive_buffer and received, ``step`` bytes a read at most."""
    calls, at = [], 0
    while at < len(data):
        space = server.receive_buffer()
        if space is None:
            server.receive_data(data[at:at + step])
            at += step
        else:
            count = min(step, len(space), len(data) - at)
            space[:count] = data[at:at + count]
            del space
            server.received(count)
            at += count
        while (call := server.next_event()) is not None:
            calls.append(call)
    return calls


# -- the server reassembling a long call --------------------------------------------------------

@pytest.mark.parametrize("step", [1000, 4096, 70000])
@pytest.mark.parametrize("obj", [None, uuid.UUID("00000400-1111-2222-3333-444455556666")])
def test_a_long_call_read_into_the_connection_buffer_is_whole(step, obj):
    server, ctx = bound_server(max_recv_frag=2048)
    stub = bytes(range(256)) * 200 + b"tail"
    data = b"".join(request_fragments(2, ctx, stub, 1000, obj))
    data += P.Request(3, ctx, 0, b"next").encode()
    calls = read_in(server, data, step)
    assert [(c.call_id, bytes(c.stub), c.object) for c in calls] == [
        (2, stub, obj), (3, b"next", None)]


@pytest.mark.parametrize("hint", [0, 10, 10 ** 6])
def test_alloc_hint_that_is_wrong_still_gives_the_stub(hint):
    """alloc_hint is a hint (C706 12.6.4.9): too small, the buffer grows; too large, it is cut
    to what came."""
    server, ctx = bound_server(max_request_size=1 << 20)
    stub = bytes(range(256)) * 30
    calls = read_in(server, b"".join(request_fragments(2, ctx, stub, 1000, alloc_hint=hint)))
    assert [bytes(c.stub) for c in calls] == [stub]


def test_a_fragment_of_another_form_is_read_by_the_general_path():
    """A middle fragment with a flag the plain form does not have stops the fast path; the
    general path reassembles the rest alike."""
    server, ctx = bound_server()
    stub = bytes(range(256)) * 20
    frags = list(request_fragments(2, ctx, stub, 1000))
    odd = bytearray(frags[2])
    odd[3] |= PFC_DID_NOT_EXECUTE  # a flag a client has no reason to set, harmless here
    frags[2] = bytes(odd)
    calls = read_in(server, b"".join(frags), 3000)
    assert [bytes(c.stub) for c in calls] == [stub]


def test_a_long_call_over_the_limit_faults_once_and_the_next_call_is_served():
    server, ctx = bound_server(max_request_size=5000)
    data = b"".join(request_fragments(2, ctx, bytes(12000), 1000))
    data += P.Request(3, ctx, 0, b"next").encode()
    server.receive_data(data[:1500])  # the first fragment: a call under way
    assert server.next_event() is None
    calls = read_in(server, data[1500:], 5000)
    assert [bytes(c.stub) for c in calls] == [b"next"]
    [fault] = split_pdus(server.data_to_send())
    assert fault.call_id == 2 and fault.status == NCA_S_FAULT_ACCESS_DENIED


def test_a_fragment_larger_than_negotiated_amid_a_long_call_is_a_protocol_error():
    server, ctx = bound_server(max_recv_frag=1024)
    frags = list(request_fragments(2, ctx, bytes(5000), 900))
    frags[1] = P.Request(2, ctx, 0, bytes(1500), flags=0).encode()
    assert read_in(server, b"".join(frags), 2000) == []
    [fault] = split_pdus(server.data_to_send())
    assert fault.status == NCA_S_PROTO_ERROR


def test_orphaned_amid_a_long_call_drops_it():
    server, ctx = bound_server()
    frags = list(request_fragments(2, ctx, bytes(5000), 1000))
    data = b"".join(frags[:3]) + P.Orphaned(3, 2).encode() + P.Request(3, ctx, 0, b"x").encode()
    assert [bytes(c.stub) for c in read_in(server, data, 1500)] == [b"x"]


@pytest.mark.skipif(not EXACT_REFCOUNTS, reason="reuse needs exact reference counts")
def test_the_buffer_of_a_long_call_is_used_again_once_let_go():
    server, ctx = bound_server()
    stub = bytes(range(256)) * 40
    [first] = read_in(server, b"".join(request_fragments(2, ctx, stub, 1000)))
    held = first.stub
    del first
    [second] = read_in(server, b"".join(request_fragments(3, ctx, stub[::-1], 1000)))
    assert second.stub is not held and bytes(held) == stub  # held: not written over
    buffer_id = id(second.stub)
    del second, held
    gc.collect()
    [third] = read_in(server, b"".join(request_fragments(4, ctx, stub, 1000)))
    assert id(third.stub) == buffer_id and bytes(third.stub) == stub


def test_stub_buffer_reuses_only_what_nobody_holds():
    class Owner:
        spare = None

    # (Each result is compared outside its assert: pytest's assertion rewriting holds on to the
    # values an assert looks at.)
    owner = Owner()
    owner.spare = stub_buffer(owner.spare, 10)
    first = owner.spare
    again = stub_buffer(owner.spare, 10) is first
    assert len(first) == 10 and not again  # `first` holds it
    view = memoryview(owner.spare)
    del first
    again = stub_buffer(owner.spare, 10) is owner.spare
    assert not again  # a view holds it
    del view
    again = stub_buffer(owner.spare, 10) is owner.spare
    assert again or not EXACT_REFCOUNTS


# -- the client reassembling a long response ----------------------------------------------------

def test_a_long_response_read_into_the_connection_buffer_is_whole():
    server, ctx = bound_server(max_xmit_frag=1024)
    client = ClientConnection(max_recv_frag=1024)
    stub = bytes(range(256)) * 50
    server.receive_data(P.Request(7, ctx, 0, stub).encode())
    call = server.next_event()
    server.respond(call, stub)
    exchange_out = server.data_to_send()
    client.receive_data(exchange_out[:1500])
    event = client.next_event()
    at = 1500
    while event is None:
        space = client.receive_buffer()
        assert space is not None  # a long response is under way
        count = min(len(space), 3000, len(exchange_out) - at)
        space[:count] = exchange_out[at:at + count]
        del space
        client.received(count)
        at += count
        event = client.next_event()
    assert isinstance(event, ResponseReceived) and event.call_id == 7
    assert bytes(event.stub) == stub and at == len(exchange_out)
    assert client.receive_buffer() is None


def test_a_fault_amid_a_long_response_ends_it():
    client = ClientConnection(max_recv_frag=1024)
    first = P.Response(5, 0, bytes(900), PFC_FIRST_FRAG, alloc_hint=3000).encode()
    client.receive_data(first + P.Fault(5, 0x1C010003, flags=PFC_LAST_FRAG | PFC_FIRST_FRAG).encode())
    event = client.next_event()
    assert event.status == 0x1C010003 and client.receive_buffer() is None


# -- FrameBuffer.take_stubs -----------------------------------------------------------------------

MIDDLE, LAST = P.REQUEST_LEADING[0], P.REQUEST_LEADING[PFC_LAST_FRAG]


def frame_buffer(*pdus: bytes) -> FrameBuffer:
    frames = FrameBuffer()
    data = b"".join(pdus)
    space = frames.space()
    space[:len(data)] = data
    del space
    frames.filled(len(data))
    return frames


def test_take_stubs_takes_a_run_and_stops_after_the_last():
    frames = frame_buffer(P.Request(2, 0, 0, b"ab", flags=0).encode(),
                          P.Request(2, 0, 0, b"cd", flags=PFC_LAST_FRAG).encode(),
                          P.Request(3, 0, 0, b"ef").encode())
    into = bytearray(b"xx")
    assert frames.take_stubs(into, 2, MIDDLE, LAST, 2, 24, 100, 5840) == (6, True)
    assert into == b"xxabcd" and frames.next_frame()[0].call_id == 3


@pytest.mark.parametrize("other", [
    P.Request(9, 0, 0, b"cd", flags=0).encode(),  # another call
    P.Request(2, 0, 0, b"cd", flags=PFC_FIRST_FRAG).encode(),  # another form
    P.Request(2, 0, 0, b"cd", flags=0, auth=P.AuthVerifier(10, 2, 0, b"sig!")).encode(),
    P.Request(2, 0, 0, bytes(200), flags=0).encode(),  # past max_frag
    P.Request(2, 0, 0, bytes(80), flags=0).encode(),  # past room
    P.Orphaned(0, 2).encode(),
])
def test_take_stubs_leaves_anything_else_to_next_frame(other):
    frames = frame_buffer(P.Request(2, 0, 0, b"ab", flags=0).encode(), other)
    into = bytearray()
    assert frames.take_stubs(into, 0, MIDDLE, LAST, 2, 24, 60, 160) == (2, False)
    assert into == b"ab" and frames.next_frame()[1] == other


def test_take_stubs_waits_for_a_whole_fragment():
    pdu = P.Request(2, 0, 0, b"abcdef", flags=PFC_LAST_FRAG).encode()
    frames = frame_buffer(pdu[:20])
    into = bytearray()
    assert frames.take_stubs(into, 0, MIDDLE, LAST, 2, 24, 100, 5840) == (0, False)
    frames.feed(pdu[20:])
    assert frames.take_stubs(into, 0, MIDDLE, LAST, 2, 24, 100, 5840) == (6, True)
    assert into == b"abcdef" and frames.pending == 0


def test_a_stub_is_read_straight_into_its_buffer_once_its_header_has_come():
    first = P.Request(2, 0, 0, bytes(range(100)), flags=0).encode()
    last = P.Request(2, 0, 0, b"z" * 50, flags=PFC_LAST_FRAG).encode()
    after = P.Request(3, 0, 0, b"next").encode()
    frames = frame_buffer(first[:34])  # its header and 10 stub bytes
    into = bytearray(b"xx")
    assert frames.take_stubs(into, 2, MIDDLE, LAST, 2, 24, 200, 5840) == (12, False)
    space = frames.space()
    space[:] = first[34:] + last[:24]  # the rest of the stub, then the next header: no more
    assert len(space) == 90 + 24 and into[12:102] == first[34:]  # a view of ``into`` itself
    del space
    frames.filled(90 + 24)
    assert frames.take_stubs(into, 12, MIDDLE, LAST, 2, 24, 190, 5840) == (102, False)
    space = frames.space()
    assert len(space) == 50  # the last fragment's stub: nothing past the message is read
    space[:] = last[24:]
    del space
    frames.filled(50)
    assert frames.take_stubs(into, 102, MIDDLE, LAST, 2, 24, 100, 5840) == (152, True)
    assert into == b"xx" + bytes(range(100)) + b"z" * 50 and frames.pending == 0
    frames.feed(after)
    assert frames.next_frame()[1] == after


@pytest.mark.parametrize("seed", range(8))
def test_a_long_message_read_in_any_pieces_comes_whole(seed):
    """Reads of any size, through space or feed, amid fragments or across their headers: the
    stub comes whole and the PDU after the message is left as it came."""
    import random

    rng = random.Random(seed)
    stub = rng.randbytes(20000)
    pdus = list(request_fragments(2, 0, stub, rng.choice([64, 333, 1000, 4096])))
    after = P.Request(3, 0, 0, b"after").encode()
    data = b"".join(pdus[1:]) + after  # the first fragment is the connection's to read
    frames, into, at, done, sent = FrameBuffer(), bytearray(), 0, False, 0
    while not done:
        if sent < len(data):
            step = rng.choice([1, 7, 24, 25, 100, 5000, 100000])
            if rng.random() < 0.3:
                frames.feed(data[sent:sent + step])
                sent += len(data[sent:sent + step])
            else:
                space = frames.space()
                count = min(len(space), step, len(data) - sent)
                space[:count] = data[sent:sent + count]
                del space
                frames.filled(count)
                sent += count
        at, done = frames.take_stubs(into, at, MIDDLE, LAST, 2, 24, 30000, 5840)
        assert sent < len(data) or done
    assert into[:at] == stub[len(pdus[0]) - 24:]
    rest = data[sent:]
    frames.feed(rest) if rest else None
    assert frames.next_frame()[1] == after


def test_feed_after_reading_into_space_keeps_the_order():
    frames = FrameBuffer()
    pdus = [P.Request(i, 0, 0, bytes([i]) * 700).encode() for i in range(1, 200)]
    data = b"".join(pdus)
    at, got = 0, []
    while at < len(data):
        if at % 3:
            frames.feed(data[at:at + 5000])
            at += 5000
        else:
            space = frames.space()
            count = min(len(space), 90000, len(data) - at)
            space[:count] = data[at:at + count]
            del space
            frames.filled(count)
            at += count
        while (item := frames.next_frame()) is not None:
            got.append(item[1])
    assert got == pdus


def test_struct_of_a_fragment_head_is_the_common_header():
    """take_stubs reads the common header as one struct: its fields are where C706 puts them."""
    pdu = P.Request(0x01020304, 5, 6, b"abc", flags=PFC_LAST_FRAG).encode()
    leading, frag_length, auth_length, call_id = struct.unpack_from("<8sHHI", pdu)
    assert (leading, frag_length, auth_length, call_id) == (LAST, 27, 0, 0x01020304)


def test_a_buffer_past_spare_max_is_not_kept(monkeypatch):
    from pydcom.rpc import client_connection, server_connection

    monkeypatch.setattr(server_connection, "SPARE_MAX", 1000)
    monkeypatch.setattr(client_connection, "SPARE_MAX", 1000)
    server, ctx = bound_server()
    [call] = read_in(server, b"".join(request_fragments(2, ctx, bytes(3000), 1000)))
    assert bytes(call.stub) == bytes(3000) and server._spare is None
    client = ClientConnection()
    client.receive_data(P.Response(5, 0, bytes(900), PFC_FIRST_FRAG, alloc_hint=1800).encode()
                        + P.Response(5, 0, bytes(900), PFC_LAST_FRAG, alloc_hint=900).encode())
    assert bytes(client.next_event().stub) == bytes(1800) and client._spare is None
