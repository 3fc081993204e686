"""The server state machine without sockets: negotiation, calls, fragments, limits, errors."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, settings, strategies as st

from pydcom.hresult import RPC_S_UNKNOWN_AUTHN_TYPE
from pydcom.rpc import pdu as P
from pydcom.rpc.calls import ConnectionInfo
from pydcom.rpc.client_connection import (
    BindOutcome,
    ClientConnection,
    FaultReceived,
    ResponseReceived,
)
from pydcom.rpc.constants import (
    NCA_S_FAULT_ACCESS_DENIED,
    NCA_S_PROTO_ERROR,
    NCA_S_UNK_IF,
    NDR64_SYNTAX,
    NDR_SYNTAX,
    PFC_DID_NOT_EXECUTE,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PFC_OBJECT_UUID,
    PFC_SINGLE,
    BindNakReason,
    ProviderReason,
    SyntaxId,
    bind_time_feature_syntax,
)
from pydcom.rpc.errors import ProtocolError
from pydcom.rpc.interface import InterfaceTable
from pydcom.rpc.server_connection import (
    AssociationGroups,
    ServerConnection,
    ServerLimits,
    ServerState,
)
from pydcom.rpc.verification import (
    COMMAND_BITMASK_1,
    COMMAND_MUST_PROCESS,
    VerificationCommand,
    encode_verification_trailer,
)

from .support import OTHER_IF, TEST_IF, TEST_INTERFACES

UNKNOWN_IF = SyntaxId(uuid.UUID("9e0d6f4a-7b1c-4e2d-8f30-1a2b3c4d5e6f"), 1, 0)
PEER = ConnectionInfo(("127.0.0.9", 50000), ("127.0.0.1", 135))


def make_server(**limits) -> ServerConnection:
    table = InterfaceTable(TEST_INTERFACES)
    return ServerConnection(table.lookup, limits=ServerLimits(**limits), connection=PEER,
                            port_spec="135", interface_count=lambda: len(table))


BOUND, CLOSING = ServerState.BOUND, ServerState.CLOSING


def exchange(server: ServerConnection, data: bytes) -> list[P.Pdu]:
    """Feed bytes; return the PDUs the server answers with, in order (calls are echoed)."""
    server.receive_data(data)
    while (call := server.next_event()) is not None:
        server.respond(call, call.stub)
    return split_pdus(server.data_to_send())


def split_pdus(out: bytes) -> list[P.Pdu]:
    frames, offset = [], 0
    while offset < len(out):
        length = struct.unpack_from("<H", out, offset + 8)[0]
        frames.append(P.decode_pdu(out[offset:offset + length]))
        offset += length
    return frames


def bound_server(**limits) -> tuple[ServerConnection, int]:
    server = make_server(**limits)
    [ack] = exchange(server, P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),)).encode())
    assert isinstance(ack, P.BindAck) and ack.results[0].result == 0
    return server, 0


def test_bind_negotiates_each_context_in_order():
    server = make_server()
    bind = P.Bind(1, (
        P.ContextElement(0, TEST_IF, (NDR64_SYNTAX,)),  # NDR64 alone: politely rejected
        P.ContextElement(1, TEST_IF, (NDR_SYNTAX,)),  # NDR: accepted
        P.ContextElement(2, UNKNOWN_IF, (NDR_SYNTAX,)),  # unknown interface
        P.ContextElement(3, OTHER_IF, (NDR64_SYNTAX, NDR_SYNTAX)),  # both in one element
        P.ContextElement(4, TEST_IF, (bind_time_feature_syntax(3),)),  # feature negotiation
    ), max_xmit_frag=4280, max_recv_frag=4280)
    [ack] = exchange(server, bind.encode())
    assert isinstance(ack, P.BindAck)
    assert [(r.result, r.reason) for r in ack.results] == [(2, 2), (0, 0), (2, 1), (0, 0), (3, 2)]
    assert ack.results[1].transfer_syntax == NDR_SYNTAX
    assert ack.results[3].transfer_syntax == NDR_SYNTAX
    assert ack.results[4].transfer_syntax.uuid.int == 0  # negotiate_ack carries a zero syntax
    assert (ack.max_xmit_frag, ack.max_recv_frag) == (4280, 4280)
    assert ack.sec_addr == b"135" and ack.assoc_group_id != 0
    assert server.features == 2  # keep connection on orphan; no security context multiplexing


def test_alter_context_adds_contexts_and_several_binds_are_tolerated():
    server, ctx = bound_server()
    [resp] = exchange(server, P.AlterContext(2, (P.ContextElement(5, OTHER_IF, (NDR_SYNTAX,)),)).encode())
    assert isinstance(resp, P.AlterContextResp) and resp.results[0].result == 0
    assert resp.sec_addr == b""
    [ack] = exchange(server, P.Bind(3, (P.ContextElement(6, OTHER_IF, (NDR_SYNTAX,)),)).encode())
    assert isinstance(ack, P.BindAck) and ack.results[0].result == 0
    [r1] = exchange(server, P.Request(4, 5, 0, b"x").encode())
    [r2] = exchange(server, P.Request(5, 6, 0, b"y").encode())
    assert (r1.stub, r2.stub) == (b"x", b"y")


def test_request_before_bind_is_a_protocol_error():
    server = make_server()
    [fault] = exchange(server, P.Request(1, 0, 0, b"").encode())
    assert isinstance(fault, P.Fault) and fault.status == NCA_S_PROTO_ERROR
    assert fault.flags & PFC_DID_NOT_EXECUTE and server.state is CLOSING


def test_unknown_context_faults_and_connection_goes_on():
    server, ctx = bound_server()
    [fault] = exchange(server, P.Request(2, 42, 0, b"").encode())
    assert fault.status == NCA_S_UNK_IF and server.state is BOUND
    [resp] = exchange(server, P.Request(3, ctx, 0, b"ok").encode())
    assert resp.stub == b"ok"


def test_call_ids_may_repeat_as_windows_tolerates_but_not_pass_0x7fffffff():
    server, ctx = bound_server()
    [a] = exchange(server, P.Request(10, ctx, 0, b"a").encode())
    [b] = exchange(server, P.Request(10, ctx, 0, b"b").encode())
    [c] = exchange(server, P.Request(4, ctx, 0, b"c").encode())
    assert (a.stub, b.stub, c.stub) == (b"a", b"b", b"c") and server.state is BOUND
    [fault] = exchange(server, P.Request(0x80000000, ctx, 0, b"").encode())
    assert fault.status == NCA_S_PROTO_ERROR and server.state is CLOSING


def fragments(call_id, ctx, stub, size):
    chunks = [stub[i:i + size] for i in range(0, len(stub), size)] or [b""]
    for i, chunk in enumerate(chunks):
        flags = (PFC_FIRST_FRAG if i == 0 else 0) | (PFC_LAST_FRAG if i == len(chunks) - 1 else 0)
        yield P.Request(call_id, ctx, 0, chunk, flags=flags).encode()


def test_fragmented_request_is_reassembled_and_response_fragmented():
    server, ctx = bound_server(max_xmit_frag=1024)
    stub = bytes(range(256)) * 40
    answers = []
    for frag in fragments(2, ctx, stub, 1000):
        answers += exchange(server, frag)
    assert all(len(a.encode()) <= 1024 for a in answers)
    assert answers[0].flags & PFC_FIRST_FRAG and answers[-1].flags & PFC_LAST_FRAG
    assert answers[0].alloc_hint == len(stub)
    assert b"".join(a.stub for a in answers) == stub


def test_bytes_arriving_one_at_a_time():
    server, ctx = bound_server()
    raw = P.Request(2, ctx, 0, b"drip").encode()
    answers = []
    for i in range(len(raw)):
        answers += exchange(server, raw[i:i + 1])
    assert [a.stub for a in answers] == [b"drip"]


def test_oversized_request_faults_early_and_the_next_call_works():
    server, ctx = bound_server(max_request_size=4000)
    frags = list(fragments(2, ctx, bytes(10000), 1000))
    answers = []
    for frag in frags[:5]:
        answers += exchange(server, frag)
    assert [a.status for a in answers] == [NCA_S_FAULT_ACCESS_DENIED]  # at once, MS-RPCE 3.3.3.5.8
    for frag in frags[5:]:
        assert exchange(server, frag) == []  # the rest of that call is read and dropped
    [resp] = exchange(server, P.Request(3, ctx, 0, b"next").encode())
    assert resp.stub == b"next"


def test_fragment_larger_than_negotiated_is_a_protocol_error():
    server, ctx = bound_server(max_recv_frag=1024)
    [fault] = exchange(server, P.Request(2, ctx, 0, bytes(2000)).encode())
    assert fault.status == NCA_S_PROTO_ERROR and server.state is CLOSING


def test_orphaned_discards_the_partial_call():
    server, ctx = bound_server()
    first = next(fragments(2, ctx, bytes(3000), 1000))
    exchange(server, first)
    assert exchange(server, P.Orphaned(3, 2).encode()) == []
    [resp] = exchange(server, P.Request(3, ctx, 0, b"after").encode())
    assert resp.stub == b"after"


def test_straggler_fragment_of_an_old_call_is_ignored():
    server, ctx = bound_server()
    exchange(server, P.Request(20, ctx, 0, b"").encode())
    assert exchange(server, P.Request(19, ctx, 0, b"", flags=PFC_LAST_FRAG).encode()) == []
    assert server.state is BOUND
    [fault] = exchange(server, P.Request(2000, ctx, 0, b"", flags=PFC_LAST_FRAG).encode())
    assert fault.status == NCA_S_PROTO_ERROR


def test_verification_trailer_is_stripped():
    server, ctx = bound_server()
    stub = b"12345"
    trailer = encode_verification_trailer(
        [VerificationCommand(COMMAND_BITMASK_1, 0, struct.pack("<I", 1))], len(stub))
    server.receive_data(P.Request(2, ctx, 0, stub + trailer).encode())
    call = server.next_event()
    # The trailer's alignment padding stays: only the stub's decoder knows where the stub ends.
    assert call.stub == stub + b"\0\0\0"
    assert call.verification.commands[0].command == COMMAND_BITMASK_1


def test_verification_trailer_right_after_the_stub_is_found_too():
    """scapy puts the trailer right after the stub, not on a 4-byte boundary; MS-RPCE 2.2.2.13
    has servers search for the signature (a ResolveOxid2 stub is 18 bytes)."""
    server, ctx = bound_server()
    stub = bytes(range(18))
    trailer = encode_verification_trailer(
        [VerificationCommand(COMMAND_BITMASK_1, 0, struct.pack("<I", 1))], 0)  # no padding
    server.receive_data(P.Request(2, ctx, 0, stub + trailer).encode())
    call = server.next_event()
    assert call.stub == stub
    assert call.verification.commands[0].command == COMMAND_BITMASK_1


def test_unknown_must_process_command_is_rejected_with_status_5():
    server, ctx = bound_server()
    trailer = encode_verification_trailer([VerificationCommand(0x77, COMMAND_MUST_PROCESS, b"")], 0)
    [fault] = exchange(server, P.Request(2, ctx, 0, trailer).encode())
    assert fault.status == NCA_S_FAULT_ACCESS_DENIED


def test_unknown_auth_type_gets_bind_nak_8():
    server = make_server()
    bind = P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),),
                  auth=P.AuthVerifier(0x0A, 2, 0, b"NTLMSSP\x00"))
    [nak] = exchange(server, bind.encode())
    assert isinstance(nak, P.BindNak)
    assert nak.reason == BindNakReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED
    assert server.state is CLOSING


def test_too_many_presentation_contexts_gets_bind_nak_2():
    server = make_server(max_contexts=3)
    bind = P.Bind(1, tuple(P.ContextElement(i, TEST_IF, (NDR_SYNTAX,)) for i in range(4)))
    [nak] = exchange(server, bind.encode())
    assert isinstance(nak, P.BindNak) and nak.reason == BindNakReason.LOCAL_LIMIT_EXCEEDED


def test_malformed_bind_gets_bind_nak():
    raw = bytearray(P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),)).encode())
    raw[28 + 2] = 200  # claims 200 transfer syntaxes
    [nak] = exchange(make_server(), bytes(raw))
    assert isinstance(nak, P.BindNak)


def test_tiny_client_receive_size_is_refused():
    [nak] = exchange(make_server(), P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),),
                                           max_recv_frag=20).encode())
    assert isinstance(nak, P.BindNak) and nak.reason == BindNakReason.LOCAL_LIMIT_EXCEEDED


def test_association_groups_join_only_from_the_same_host():
    groups = AssociationGroups()
    table = InterfaceTable(TEST_INTERFACES)
    first = ServerConnection(table.lookup, groups=groups, connection=PEER)
    [ack] = exchange(first, P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),)).encode())
    group = ack.assoc_group_id
    same = ServerConnection(table.lookup, groups=groups, connection=PEER)
    [ack2] = exchange(same, P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),),
                                   assoc_group_id=group).encode())
    assert isinstance(ack2, P.BindAck) and ack2.assoc_group_id == group
    other = ServerConnection(table.lookup, groups=groups,
                             connection=ConnectionInfo(("127.0.0.8", 1), ("127.0.0.1", 135)))
    [nak] = exchange(other, P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),),
                                   assoc_group_id=group).encode())
    assert isinstance(nak, P.BindNak)
    first.close()
    same.close()
    assert len(groups) == 0  # the group ends with its last connection


@pytest.mark.parametrize("ptype", [P.Response(1), P.BindAck(1), P.Shutdown(0, 1)])
def test_server_side_pdus_from_a_client_are_protocol_errors(ptype):
    server, ctx = bound_server()
    [fault] = exchange(server, ptype.encode())
    assert fault.status == NCA_S_PROTO_ERROR and server.state is CLOSING


def test_client_and_server_machines_talk_without_sockets():
    server = make_server(max_xmit_frag=1024, max_recv_frag=1024)
    client = ClientConnection(max_xmit_frag=1024, max_recv_frag=1024)

    def roundtrip(data_list):
        for data in data_list:
            server.receive_data(data)
            while (call := server.next_event()) is not None:
                server.respond(call, call.stub[::-1])
        client.receive_data(server.data_to_send())
        events = []
        while (event := client.next_event()) is not None:
            events.append(event)
        return events

    [outcome] = roundtrip([client.bind([TEST_IF, UNKNOWN_IF])])
    assert isinstance(outcome, BindOutcome) and TEST_IF in outcome.accepted
    assert outcome.rejected[UNKNOWN_IF].reason == 1 and client.features == 2
    [outcome] = roundtrip([client.bind([OTHER_IF])])  # now an alter_context
    assert OTHER_IF in outcome.accepted
    stub = bytes(range(256)) * 100
    call_id, frags = client.request(client.contexts[TEST_IF], 0, stub)
    assert len(frags) > 20 and all(len(f) <= 1024 for f in frags)
    [response] = roundtrip(frags)
    assert isinstance(response, ResponseReceived) and response.call_id == call_id
    assert response.stub == stub[::-1]
    call_id, frags = client.request(77, 0, b"")
    [fault] = roundtrip(frags)
    assert isinstance(fault, FaultReceived) and fault.status == NCA_S_UNK_IF


def test_request_with_object_uuid_takes_the_single_request_path_both_ways():
    """Every ORPC call carries the IPID as its object UUID: the one-fragment form the client
    writes is the request PDU of C706 12.6.4.9, and the server reads the object and the stub."""
    server, ctx = bound_server()
    client = ClientConnection()
    ipid = uuid.UUID("00000400-1111-2222-3333-444455556666")
    stub = bytes(range(40))
    call_id, data = client.single_request(ctx, 3, stub, ipid)
    assert data == P.Request(call_id, ctx, 3, stub, alloc_hint=len(stub), object=ipid).encode()
    server.receive_data(data)
    call = server.next_event()
    assert (call.call_id, call.opnum, call.object, call.stub) == (call_id, 3, ipid, stub)
    assert server.next_event() is None and server.data_to_send() == b""
    # A stub too large for one fragment is left to the fragmenting path.
    assert client.single_request(ctx, 3, bytes(client.max_xmit_frag - 40 + 1), ipid) is None


def test_object_flag_on_a_request_too_short_for_the_uuid_is_a_protocol_error():
    server, ctx = bound_server()
    data = bytearray(P.Request(5, ctx, 0, b"").encode())
    data[3] |= PFC_OBJECT_UUID  # claims an object UUID the 24 bytes cannot hold
    [fault] = exchange(server, bytes(data))
    assert isinstance(fault, P.Fault) and fault.status == NCA_S_PROTO_ERROR
    assert server.state is CLOSING


# -- one ordered stream out ----------------------------------------------------------------------

def bind_pdu(call_id=1, *syntaxes, **kwargs) -> bytes:
    syntaxes = syntaxes or (TEST_IF,)
    return P.Bind(call_id, tuple(P.ContextElement(i, s, (NDR_SYNTAX,))
                                 for i, s in enumerate(syntaxes)), **kwargs).encode()


def test_a_bind_and_a_request_in_one_read_are_answered_in_their_order():
    server = make_server()
    assert server.state is ServerState.AWAITING_BIND
    answers = exchange(server, bind_pdu(1) + P.Request(2, 0, 0, b"first").encode())
    assert [type(a) for a in answers] == [P.BindAck, P.Response]
    assert answers[1].stub == b"first" and server.state is BOUND


def test_a_fault_for_an_unknown_context_leaves_before_the_next_calls_response():
    server, ctx = bound_server()
    answers = exchange(server, P.Request(2, 42, 0).encode() + P.Request(3, ctx, 0, b"ok").encode())
    assert [(type(a), a.call_id) for a in answers] == [(P.Fault, 2), (P.Response, 3)]
    assert answers[0].status == NCA_S_UNK_IF and answers[1].stub == b"ok"


def test_answers_to_calls_and_to_the_protocol_interleave_in_arrival_order():
    server = make_server(max_request_size=10)
    stream = (bind_pdu(1)
              + P.Request(2, 0, 0, b"a").encode()
              + P.AlterContext(3, (P.ContextElement(1, OTHER_IF, (NDR_SYNTAX,)),)).encode()
              + b"".join(fragments(4, 0, bytes(12), 11))  # over max_request_size: fault 5
              + P.Request(5, 1, 0, b"b").encode()
              + P.Response(6).encode())  # a server's PDU from a client: protocol error
    answers = exchange(server, stream)
    assert [(type(a), a.call_id) for a in answers] == [
        (P.BindAck, 1), (P.Response, 2), (P.AlterContextResp, 3), (P.Fault, 4), (P.Response, 5),
        (P.Fault, 6)]
    assert answers[3].status == NCA_S_FAULT_ACCESS_DENIED
    assert answers[5].status == NCA_S_PROTO_ERROR and server.state is CLOSING


def test_calls_answered_one_at_a_time_leave_in_order_with_what_the_protocol_queued():
    """The socket code's way: take a call, answer it, send; protocol answers queued before the
    call go out with it, never after."""
    server = make_server()
    server.receive_data(bind_pdu(1) + P.Request(2, 0, 0, b"x").encode()
                        + P.Request(3, 7, 0, b"").encode())
    call = server.next_event()
    server.respond(call, b"y")
    first = split_pdus(server.data_to_send())
    assert [type(a) for a in first] == [P.BindAck, P.Response]
    assert server.next_event() is None
    [fault] = split_pdus(server.data_to_send())
    assert fault.call_id == 3 and fault.status == NCA_S_UNK_IF
    assert server.data_to_send() == b""


def test_a_fragmented_response_is_queued_whole_and_in_order():
    server, ctx = bound_server(max_xmit_frag=1024)
    stub = bytes(range(256)) * 10
    answers = exchange(server, P.Request(2, ctx, 0, stub).encode() + P.Request(3, 99, 0).encode())
    assert [a.call_id for a in answers] == [2] * (len(answers) - 1) + [3]
    assert b"".join(a.stub for a in answers[:-1]) == stub and isinstance(answers[-1], P.Fault)


def test_states_from_bind_to_close_and_nothing_is_served_after_a_fatal_error():
    server = make_server()
    assert server.state is ServerState.AWAITING_BIND
    exchange(server, bind_pdu(1))
    assert server.state is BOUND
    [fault] = exchange(server, P.Shutdown(0, 2).encode())  # a server's PDU: fatal
    assert fault.status == NCA_S_PROTO_ERROR and server.state is CLOSING
    # Whatever follows is not read, not even a request the hot path could take.
    assert exchange(server, P.Request(3, 0, 0, b"late").encode()) == []
    server.close()
    assert server.state is ServerState.CLOSED


def test_a_refused_first_bind_leaves_the_connection_unbound():
    server = make_server(max_contexts=1)
    [nak] = exchange(server, bind_pdu(1, TEST_IF, OTHER_IF))
    assert isinstance(nak, P.BindNak) and nak.reason == BindNakReason.LOCAL_LIMIT_EXCEEDED
    assert server.state is ServerState.AWAITING_BIND and server.assoc_group_id == 0
    [ack] = exchange(server, bind_pdu(2, TEST_IF))
    assert isinstance(ack, P.BindAck) and server.state is BOUND


# -- big-endian requests ---------------------------------------------------------------------------

def big_endian(pdu: bytes) -> bytes:
    """The same request with a big-endian drep and its header fields written big-endian."""
    raw = bytearray(pdu)
    raw[4] = 0x00
    for offset, fmt in ((8, "H"), (10, "H"), (12, "I"), (16, "I"), (20, "H"), (22, "H")):
        value = struct.unpack_from("<" + fmt, raw, offset)[0]
        struct.pack_into(">" + fmt, raw, offset, value)
    return bytes(raw)


@pytest.mark.parametrize("before", [b"", P.Request(1, 0, 0, b"le").encode()],
                         ids=["alone in its read", "after another request"])
def test_a_big_endian_request_is_refused_as_decode_pdu_refuses_it(before):
    """C706 14.1 lets a sender use its own byte order; pydcom decodes little-endian bodies only
    (every DCOM peer), and the hot path must not read past that: the request is a protocol error
    whichever path it takes."""
    request = big_endian(P.Request(7, 0, 0, b"stub").encode())
    with pytest.raises(P.PduError, match="big-endian"):
        P.decode_pdu(request)
    server, ctx = bound_server()
    answers = exchange(server, before + request)
    fault = answers[-1]
    assert isinstance(fault, P.Fault) and fault.status == NCA_S_PROTO_ERROR
    assert fault.call_id == 7 and server.state is CLOSING  # the call_id read in its byte order
    assert len(answers) == (2 if before else 1)


# -- the hot paths take only what decode_pdu decodes alike --------------------------------------

def mutated(raw: bytes, data) -> bytes:
    """``raw`` with a few of its header bytes (version, type, flags, drep, lengths) changed, or
    cut or extended by a few bytes."""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(0, 2))):
        at = data.draw(st.integers(0, 15) | st.integers(0, min(len(out), 40) - 1))  # header first
        out[at] = data.draw(st.sampled_from([0, 1, 2, 3, 5, 0x10, 0x83, 0xFF, out[at] ^ 1]))
    cut = data.draw(st.sampled_from([0, 0, 0, -1, 1, -3, 3]))
    return bytes(out[:len(out) + cut] if cut < 0 else out + bytes(cut))


stubs = st.binary(max_size=40)
# Mostly the form the hot paths take, so that the mutations land on it.
flags = st.sampled_from([PFC_SINGLE] * 4 + [PFC_FIRST_FRAG, PFC_LAST_FRAG, 7, 0x13])
auths = st.one_of(st.none(), st.none(), st.none(), st.builds(
    P.AuthVerifier, st.integers(1, 255), st.integers(0, 6), st.integers(0, 9),
    st.binary(min_size=1, max_size=16)))


@given(st.builds(P.Request, st.integers(0, 0x7FFFFFFF), st.just(0), st.integers(0, 4), stubs,
                 st.none() | st.uuids(), flags, st.none(), auths),
       st.data())
@settings(max_examples=400, deadline=None)
def test_a_call_comes_out_only_of_what_decode_pdu_decodes_alike(request, data):
    """Whichever path a request takes, the server hands out a call only for a whole,
    unfragmented request that decode_pdu decodes, with decode_pdu's fields: a big-endian
    request, a bad version, length or flag is never read past (C706 12.6.3.1, 14.1)."""
    raw = mutated(request.encode(), data)
    server, ctx = bound_server()
    server.receive_data(raw)
    call = server.next_event()
    if call is None:
        return
    first = raw[:P.peek_header(raw).frag_length]
    decoded = P.decode_pdu(first)
    assert isinstance(decoded, P.Request) and decoded.flags & PFC_SINGLE == PFC_SINGLE
    assert (call.call_id, call.context_id, call.opnum, call.object) == (
        decoded.call_id, decoded.context_id, decoded.opnum, decoded.object)
    assert decoded.auth is None  # a server without a security provider takes no verifier
    if call.verification is None:
        assert call.stub == decoded.stub


@given(st.builds(P.Response, st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF), stubs,
                 flags, st.none(), st.integers(0, 2), auths),
       st.data())
@settings(max_examples=600, deadline=None)
def test_the_clients_hot_path_takes_only_what_decode_pdu_decodes_alike(response, data):
    raw = mutated(response.encode(), data)
    stub = ClientConnection().single_response(response.call_id, raw)
    if stub is None:
        return
    decoded = P.decode_pdu(raw)
    assert isinstance(decoded, P.Response) and decoded.flags == PFC_SINGLE
    assert decoded.auth is None and decoded.call_id == response.call_id and decoded.stub == stub


@pytest.mark.parametrize("position", range(8))
def test_every_value_of_each_leading_byte_is_taken_only_as_decode_pdu_takes_it(position):
    """rpc_vers, rpc_vers_minor, PTYPE, pfc_flags and the drep (C706 12.6.3.1), each set to every
    value in a request and a response that the hot paths would otherwise take."""
    request = P.Request(5, 0, 1, b"abc").encode()
    response = P.Response(5, 0, b"abc").encode()
    for value in range(256):
        raw = request[:position] + bytes([value]) + request[position + 1:]
        server, ctx = bound_server()
        server.receive_data(raw)
        call = server.next_event()
        if call is not None:
            decoded = P.decode_pdu(raw)
            assert isinstance(decoded, P.Request) and decoded.flags & PFC_SINGLE == PFC_SINGLE
            assert (call.call_id, call.opnum, call.stub) == (5, 1, b"abc")
        raw = response[:position] + bytes([value]) + response[position + 1:]
        stub = ClientConnection().single_response(5, raw)
        if stub is not None:
            decoded = P.decode_pdu(raw)
            assert isinstance(decoded, P.Response) and decoded.flags == PFC_SINGLE
            assert (decoded.call_id, decoded.stub) == (5, stub)


# -- alter_context that cannot be honoured -----------------------------------------------------

def test_an_alter_context_past_the_context_limit_says_so_per_context():
    """C706 12.6.4.5 defines bind_nak for binds; an alter_context is answered by an
    alter_context_resp (12.6.4.2) whose results refuse, with provider reason
    local_limit_exceeded, each context past the limit, and accept those that fit."""
    server = make_server(max_contexts=2)
    exchange(server, bind_pdu(1, TEST_IF))
    alter = P.AlterContext(2, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),  # already bound
                               P.ContextElement(1, OTHER_IF, (NDR_SYNTAX,)),  # fits
                               P.ContextElement(2, OTHER_IF, (NDR_SYNTAX,))))  # one too many
    [resp] = exchange(server, alter.encode())
    assert isinstance(resp, P.AlterContextResp)
    assert [(r.result, r.reason) for r in resp.results] == [
        (0, 0), (0, 0), (2, ProviderReason.LOCAL_LIMIT_EXCEEDED)]
    assert server.state is BOUND
    [ok, fault] = exchange(server, P.Request(3, 1, 0, b"in").encode()
                                   + P.Request(4, 2, 0).encode())
    assert ok.stub == b"in"  # exchange() echoes
    assert isinstance(fault, P.Fault) and fault.status == NCA_S_UNK_IF


def test_an_alter_context_with_an_unknown_security_provider_is_a_fault_the_connection_stays():
    """MS-RPCE 3.3.3.5.3: authentication_type_not_recognized, in a fault for an alter_context;
    the contexts bound before it still serve."""
    server, ctx = bound_server()
    alter = P.AlterContext(2, (P.ContextElement(1, OTHER_IF, (NDR_SYNTAX,)),),
                           auth=P.AuthVerifier(0x0A, 2, 0, b"NTLMSSP\x00"))
    [fault] = exchange(server, alter.encode())
    assert isinstance(fault, P.Fault) and fault.call_id == 2
    assert fault.status == RPC_S_UNKNOWN_AUTHN_TYPE and server.state is BOUND
    [resp] = exchange(server, P.Request(3, ctx, 0, b"still").encode())
    assert resp.stub == b"still"
    [fault] = exchange(server, P.Request(4, 1, 0).encode())  # the refused context is not bound
    assert fault.status == NCA_S_UNK_IF


def test_the_client_machine_reports_a_fault_answering_its_alter_context():
    server = make_server()
    client = ClientConnection()
    server.receive_data(client.bind([TEST_IF]))
    assert server.next_event() is None
    client.receive_data(server.data_to_send())
    assert TEST_IF in client.next_event().accepted
    alter = client.bind([OTHER_IF])
    call_id = struct.unpack_from("<I", alter, 12)[0]
    client.receive_data(P.encode_fault(call_id, 0, RPC_S_UNKNOWN_AUTHN_TYPE))
    outcome = client.next_event()
    assert isinstance(outcome, BindOutcome) and outcome.fault == RPC_S_UNKNOWN_AUTHN_TYPE
    assert outcome.accepted == {} and client.contexts == {TEST_IF: 0}


def test_a_fault_answering_a_first_bind_is_a_protocol_error():
    client = ClientConnection()
    data = client.bind([TEST_IF])
    client.receive_data(P.encode_fault(struct.unpack_from("<I", data, 12)[0], 0, 5))
    with pytest.raises(ProtocolError, match="answering a bind"):
        client.next_event()
