"""RpcServer and RpcClient on real loopback sockets."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pydcom import hresult
from pydcom.rpc import (
    BindRejected,
    CallFailed,
    RpcClient,
    RpcError,
    RpcFault,
    ServerUnavailable,
    SyntaxId,
)
from pydcom.rpc import pdu as P
from pydcom.rpc.constants import NCA_S_FAULT_UNSPEC, NCA_S_OP_RNG_ERROR, NDR_SYNTAX

from ..support import wait_until
from ..unanswered import unanswered_port
from .support import (
    OP_CRASH,
    OP_ECHO,
    OP_FAULT,
    OP_REVERSE,
    OP_SLOW,
    OTHER_IF,
    SLOW_CALLS,
    TEST_IF,
    start_server,
)


def answer_waiting(client: RpcClient) -> bool:
    """Whether the server's answer to what the client sent is in the client's socket."""
    return bool(select.select([client._sock], [], [], 0)[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_calls_faults_and_the_connection_survives(server):
    with RpcClient(*server.address) as client:
        assert client.call(TEST_IF, OP_ECHO, b"hello") == b"hello"
        with pytest.raises(RpcFault) as info:
            client.call(TEST_IF, OP_CRASH)
        assert info.value.status == NCA_S_FAULT_UNSPEC
        assert info.value.hresult == 0x800706BE  # RPC_S_CALL_FAILED (MS-RPCE 3.1.1.5.5)
        with pytest.raises(RpcFault) as info:
            client.call(TEST_IF, 99)
        assert info.value.status == NCA_S_OP_RNG_ERROR and info.value.did_not_execute
        assert info.value.hresult == 0x800706D1  # RPC_S_PROCNUM_OUT_OF_RANGE
        with pytest.raises(RpcFault) as info:
            client.call(TEST_IF, OP_FAULT, (0x80010108).to_bytes(4, "little"))
        assert info.value.hresult == hresult.RPC_E_DISCONNECTED  # an HRESULT status passes through
        assert client.call(OTHER_IF, 0, b"x") == b"other:x"  # alter_context on the same connection
        assert client.call(TEST_IF, OP_ECHO, b"still here") == b"still here"


def test_unknown_interface_is_rejected_at_bind(server):
    unknown = SyntaxId(TEST_IF.uuid, 2, 0)  # same UUID, other major version
    with RpcClient(*server.address) as client:
        with pytest.raises(BindRejected) as info:
            client.call(unknown, 0)
        assert info.value.hresult == 0x800706B5  # RPC_S_UNKNOWN_IF
        assert client.call(TEST_IF, OP_ECHO, b"ok") == b"ok"


@pytest.mark.parametrize("frag", [1024, 5840])
def test_multi_megabyte_calls_in_small_fragments(frag):
    srv = start_server(max_request_size=16 << 20, max_recv_frag=frag, max_xmit_frag=frag)
    try:
        with RpcClient(*srv.address, max_frag=frag) as client:
            stub = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a bit
            assert client.call(TEST_IF, OP_REVERSE, stub) == stub[::-1]
    finally:
        srv.close()


def test_request_over_the_limit_faults_with_status_5_and_connection_goes_on():
    srv = start_server(max_request_size=1 << 20)
    try:
        with RpcClient(*srv.address) as client:
            with pytest.raises(RpcFault) as info:
                client.call(TEST_IF, OP_ECHO, bytes(2 << 20))
            assert info.value.status == 5 and info.value.hresult == hresult.E_ACCESSDENIED
            assert client.call(TEST_IF, OP_ECHO, b"next") == b"next"
    finally:
        srv.close()


def test_one_client_shared_by_many_threads(server):
    with RpcClient(*server.address) as client:
        def work(i: int) -> bool:
            for j in range(50):
                payload = f"{i}:{j}".encode() * (j % 7 + 1)
                assert client.call(TEST_IF, OP_ECHO, payload) == payload
            return True

        with ThreadPoolExecutor(16) as pool:
            assert all(pool.map(work, range(16), timeout=60))


def test_many_connections_at_once(server):
    def work(i: int) -> int:
        with RpcClient(*server.address) as client:
            for _ in range(20):
                assert client.call(TEST_IF, OP_ECHO, b"%d" % i) == b"%d" % i
        return i

    with ThreadPoolExecutor(32) as pool:
        assert sorted(pool.map(work, range(64), timeout=60)) == list(range(64))


def test_connection_refused_is_server_unavailable_within_the_timeout():
    port = free_port()
    start = time.monotonic()
    with pytest.raises(ServerUnavailable) as info:
        RpcClient("127.0.0.1", port, connect_timeout=10)
    assert info.value.hresult == 0x800706BA
    assert time.monotonic() - start < 5  # at once, not at the timeout


def test_connect_nobody_answers_is_server_unavailable_at_the_timeout():
    with unanswered_port("127.0.0.1") as port:
        start = time.monotonic()
        with pytest.raises(ServerUnavailable) as info:
            RpcClient("127.0.0.1", port, connect_timeout=0.5)
        assert info.value.hresult == 0x800706BA
        assert 0.4 < time.monotonic() - start < 5  # the timeout, not the kernel's minutes


def test_server_dying_mid_call_is_call_failed():
    srv = start_server()
    try:
        client = RpcClient(*srv.address)
        client.call(TEST_IF, OP_ECHO)
        result = {}

        def slow_call():
            try:
                client.call(TEST_IF, OP_SLOW, b"60")  # ended by the test, well before
            except Exception as exc:  # noqa: BLE001
                result["error"] = exc

        started = SLOW_CALLS.started
        thread = threading.Thread(target=slow_call)
        thread.start()
        wait_until(lambda: SLOW_CALLS.started > started, 10, "the server is inside the call")
        for sock in list(srv._connections):  # the transport breaks under the call
            sock.shutdown(socket.SHUT_RDWR)
        thread.join(10)
        assert isinstance(result.get("error"), CallFailed)
        assert result["error"].hresult == 0x800706BE
        assert not client.usable()
        with pytest.raises(ServerUnavailable):
            client.call(TEST_IF, OP_ECHO)
    finally:
        SLOW_CALLS.finish_all()
        srv.close()


def test_idle_connections_are_closed():
    srv = start_server(idle_timeout=0.3)
    try:
        client = RpcClient(*srv.address)
        client.call(TEST_IF, OP_ECHO)
        wait_until(lambda: not client.usable(), 5, "the idle connection closed by the server")
        wait_until(lambda: srv.connection_count == 0, 5, "the server counts no connection")
    finally:
        srv.close()


def test_connection_limit():
    srv = start_server(max_connections=2)
    try:
        _full_then_freed(srv)
    finally:
        srv.close()


def _full_then_freed(srv, while_full=lambda: None) -> None:
    """Two clients fill ``srv``'s limit; a third is accepted by the kernel, then closed by the
    server; ``while_full()`` runs; when the first leaves, there is room again. Every client
    is closed, whatever fails."""
    with contextlib.ExitStack() as clients:
        a = clients.enter_context(RpcClient(*srv.address))
        b = clients.enter_context(RpcClient(*srv.address))
        a.call(TEST_IF, OP_ECHO)
        b.call(TEST_IF, OP_ECHO)
        crowded = clients.enter_context(RpcClient(*srv.address))
        with pytest.raises(ServerUnavailable):
            crowded.call(TEST_IF, OP_ECHO)
        while_full()
        a.close()
        wait_until(lambda: srv.connection_count <= 1, 5, "the server saw the first client leave")
        with RpcClient(*srv.address) as again:
            assert again.call(TEST_IF, OP_ECHO, b"room") == b"room"


def test_graceful_shutdown_finishes_the_call_in_flight():
    srv = start_server()
    try:
        with RpcClient(*srv.address) as client:
            client.call(TEST_IF, OP_ECHO)
            result = {}
            started = SLOW_CALLS.started
            thread = threading.Thread(
                target=lambda: result.update(r=client.call(TEST_IF, OP_SLOW, b"0.5")))
            thread.start()
            wait_until(lambda: SLOW_CALLS.started > started, 10, "the server is inside the call")
            start = time.monotonic()
            srv.close(timeout=5)
            thread.join(5)
            assert result.get("r") == b"done"
            assert time.monotonic() - start < 4
            with pytest.raises(ServerUnavailable):
                RpcClient(*srv.address, connect_timeout=1)
    finally:
        srv.close()


def test_second_connection_joins_the_association_group(server):
    with RpcClient(*server.address) as first:
        first.call(TEST_IF, OP_ECHO)
        with RpcClient(*server.address) as second:
            outcome = second.bind(TEST_IF, assoc_group_id=first.assoc_group_id)
            assert TEST_IF in outcome.accepted
            assert second.assoc_group_id == first.assoc_group_id
        with RpcClient(*server.address) as third:
            with pytest.raises(BindRejected):
                third.bind(TEST_IF, assoc_group_id=0x7FFFFFF0)


def test_garbage_gets_a_fault_and_a_close(server):
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),)).encode())
        sock.recv(65536)
        sock.sendall(bytes([5, 0, 0, 3, 0x10, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0]))  # frag_length 8
        data = sock.recv(65536)
        fault = P.decode_pdu(data)
        assert isinstance(fault, P.Fault) and fault.status == 0x1C01000B
        assert sock.recv(65536) == b""  # then the server closes
    with RpcClient(*server.address) as client:
        assert client.call(TEST_IF, OP_ECHO, b"fine") == b"fine"


def test_a_handler_refusing_its_stub_faults_with_bad_stub_data():
    from pydcom import ndr
    from pydcom.rpc import Interface, RpcServer

    class Pair(ndr.Params):
        a = ndr.u32
        b = ndr.u32

    def add(call):
        pair = Pair.decode(call.stub)
        return ndr.encode(ndr.u32, pair.a + pair.b)

    srv = RpcServer(interfaces=[Interface(TEST_IF, {0: add})]).start()
    try:
        with RpcClient(*srv.address) as client:
            assert client.call(TEST_IF, 0, Pair(2, 3).encode()) == b"\x05\x00\x00\x00"
            with pytest.raises(RpcFault) as info:
                client.call(TEST_IF, 0, b"\x01")
            assert info.value.status == 0x6F7 and info.value.hresult == 0x800706F7
    finally:
        srv.close()


class PduRecorder:
    """A loopback relay in front of a server that notes the type of each PDU a client sends."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.sent: list[int] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = self._listener.getsockname()[:2]
        self._target = target
        threading.Thread(target=self._relay, daemon=True).start()

    def _relay(self) -> None:
        inside, _ = self._listener.accept()
        outside = socket.create_connection(self._target)
        threading.Thread(target=self._pump, args=(outside, inside, False), daemon=True).start()
        self._pump(inside, outside, True)

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        pending = b""
        while data := source.recv(65536):
            sink.sendall(data)
            pending += data
            while record and len(pending) >= 10 and len(pending) >= P.peek_header(pending).frag_length:
                header = P.peek_header(pending)
                self.sent.append(header.ptype)
                pending = pending[header.frag_length:]
        sink.close()

    def close(self) -> None:
        self._listener.close()


def test_an_offered_bind_is_answered_before_the_first_call_and_not_repeated(server):
    recorder = PduRecorder(server.address)
    try:
        with RpcClient(*recorder.address) as client:
            client.offer([TEST_IF, OTHER_IF])
            client.offer([TEST_IF])  # one offer at a time, and nothing for what is offered
            assert client.call(TEST_IF, OP_ECHO, b"a") == b"a"
            assert client.call(OTHER_IF, 0, b"b") == b"other:b"
            client.offer([TEST_IF, OTHER_IF])  # all bound: nothing to send
            assert client.call(TEST_IF, OP_ECHO, b"c") == b"c"
        wait_until(lambda: len(recorder.sent) >= 4, 5, "four PDUs relayed")
        assert recorder.sent == [P.PTYPE.BIND, P.PTYPE.REQUEST, P.PTYPE.REQUEST, P.PTYPE.REQUEST]
    finally:
        recorder.close()


def test_an_offered_bind_that_fails_fails_the_first_call_as_a_bind_would(server):
    unknown = SyntaxId(TEST_IF.uuid, 2, 0)
    with RpcClient(*server.address) as client:
        client.offer([unknown])
        with pytest.raises(BindRejected) as info:
            client.call(unknown, 0)
        assert info.value.hresult == 0x800706B5  # RPC_S_UNKNOWN_IF
        assert client.call(TEST_IF, OP_ECHO, b"ok") == b"ok"
    gone = start_server()
    try:
        client = RpcClient(*gone.address)
    finally:
        gone.close()
    with client:
        client.offer([TEST_IF])  # the server is gone: the offer says nothing, the call does
        with pytest.raises(ServerUnavailable):
            client.call(TEST_IF, OP_ECHO, b"x")


def test_an_offer_on_a_connection_in_use_is_answered_before_its_next_call(server):
    with RpcClient(*server.address) as client:
        assert client.call(TEST_IF, OP_ECHO, b"a") == b"a"
        client.offer([TEST_IF, OTHER_IF])  # an alter_context for OTHER_IF
        assert client.call(TEST_IF, OP_ECHO, b"b") == b"b"  # the same interface as last time
        assert client.call(OTHER_IF, 0, b"c") == b"other:c"


def test_a_connection_whose_server_left_after_answering_an_offer_is_not_usable():
    """An idle pooled connection may hold an offered bind's answer: the end behind it must
    still show, so the next call takes a new connection and never meets a broken one."""
    server = start_server()
    try:
        with RpcClient(*server.address) as client:
            client.offer([TEST_IF])
            wait_until(lambda: answer_waiting(client), 5, "the bind_ack arrived")
            assert client.usable()  # the answer is read; the server is still there
            assert client.context_for(TEST_IF) is not None
            client.offer([OTHER_IF])
            wait_until(lambda: answer_waiting(client), 5, "the alter_context_resp arrived")
            server.close()  # after answering the alter_context
            wait_until(lambda: not client.usable(), 5, "the client saw the server leave")
    finally:
        server.close()


def test_a_peer_that_accepts_and_never_answers_is_server_unavailable_at_the_connect_timeout():
    """The first bind completes the connection: a silent peer costs one connect timeout, not
    the call timeout, and says 0x800706BA."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        client = RpcClient(*listener.getsockname(), connect_timeout=0.5, timeout=30)
        try:
            start = time.monotonic()
            with pytest.raises(ServerUnavailable) as info:
                client.call(TEST_IF, OP_ECHO)
            assert info.value.hresult == 0x800706BA
            assert "did not answer its bind in 0.5s" in str(info.value)
            assert 0.4 < time.monotonic() - start < 5  # the connect timeout, not the call's 30 s
        finally:
            client.close()


def test_after_the_first_bind_the_call_timeout_bounds_each_answer():
    srv = start_server()
    try:
        client = RpcClient(*srv.address, connect_timeout=0.2, timeout=5)
        try:
            client.call(TEST_IF, OP_ECHO)
            client.call(TEST_IF, OP_SLOW, b"0.5")  # longer than the connect timeout: answered
        finally:
            client.close()
    finally:
        srv.close()


def test_a_peer_that_answers_something_else_is_a_protocol_error():
    """Documented as 0x800706C0 (RPC_S_PROTOCOL_ERROR): the peer is there, but is not DCE/RPC."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)

        def answer_http():
            peer, _ = listener.accept()
            with peer:
                peer.recv(4096)
                peer.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 2)
                peer.recv(1)  # until the client hangs up

        answering = threading.Thread(target=answer_http, daemon=True)
        answering.start()
        client = RpcClient(*listener.getsockname(), connect_timeout=2, timeout=5)
        try:
            with pytest.raises(RpcError) as info:
                client.call(TEST_IF, OP_ECHO)
            assert info.value.hresult == 0x800706C0, info.value
        finally:
            client.close()
        answering.join(5)


def read_pdus(sock: socket.socket, count: int) -> list[P.Pdu]:
    """``count`` whole PDUs from ``sock``, in the order they came."""
    pending, pdus = b"", []
    while len(pdus) < count:
        data = sock.recv(65536)
        if not data:
            raise EOFError(f"connection closed after {len(pdus)} PDUs")
        pending += data
        while len(pending) >= 16 and len(pending) >= P.peek_header(pending).frag_length:
            length = P.peek_header(pending).frag_length
            pdus.append(P.decode_pdu(pending[:length]))
            pending = pending[length:]
    return pdus


def test_a_bind_and_requests_sent_in_one_write_are_answered_in_order(server):
    """One ordered stream out of the connection: the bind_ack leaves before the response to the
    request that followed the bind, and a fault for an unknown context before the response to
    the call after it."""
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(P.Bind(1, (P.ContextElement(0, TEST_IF, (NDR_SYNTAX,)),)).encode()
                     + P.Request(2, 0, OP_ECHO, b"one").encode()
                     + P.Request(3, 9, OP_ECHO, b"").encode()
                     + P.Request(4, 0, OP_ECHO, b"two").encode())
        answers = read_pdus(sock, 4)
    assert [(type(a), a.call_id) for a in answers] == [
        (P.BindAck, 1), (P.Response, 2), (P.Fault, 3), (P.Response, 4)]
    assert (answers[1].stub, answers[3].stub) == (b"one", b"two")


def test_an_alter_context_past_the_server_limit_is_refused_and_the_connection_serves_on():
    srv = start_server(max_contexts=1)
    try:
        with RpcClient(*srv.address) as client:
            assert client.call(TEST_IF, OP_ECHO, b"a") == b"a"
            with pytest.raises(BindRejected) as info:
                client.call(OTHER_IF, 0, b"b")  # the alter_context_resp refuses it
            assert info.value.reason == 2  # as bind_nak local_limit_exceeded would say
            assert info.value.hresult == 0x800706BB  # RPC_S_SERVER_TOO_BUSY
            assert client.call(TEST_IF, OP_ECHO, b"c") == b"c"
    finally:
        srv.close()


def test_a_fault_answering_an_alter_context_is_an_rpc_fault():
    """A server may refuse a whole alter_context with a fault (MS-RPCE 3.3.1.5.2.1), as Windows
    does for an unknown security provider (3.3.3.5.3): the client reports that fault, not a
    protocol error, and the connection serves on."""
    listener = socket.create_server(("127.0.0.1", 0))

    def peer():
        sock, _ = listener.accept()
        with sock:
            while True:
                try:
                    [pdu] = read_pdus(sock, 1)
                except EOFError:
                    return  # the client hung up
                if isinstance(pdu, P.AlterContext):
                    answer = P.encode_fault(pdu.call_id, 0, 0x6CD)  # RPC_S_UNKNOWN_AUTHN_TYPE
                elif isinstance(pdu, P.Bind):
                    answer = P.BindAck(pdu.call_id, tuple(
                        P.ContextResult(0, 0, NDR_SYNTAX) for _ in pdu.contexts)).encode()
                else:
                    answer = P.Response(pdu.call_id, pdu.context_id, pdu.stub).encode()
                sock.sendall(answer)

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    try:
        with RpcClient(*listener.getsockname()[:2], feature_negotiation=False, timeout=5) as client:
            assert client.call(TEST_IF, OP_ECHO, b"a") == b"a"
            with pytest.raises(RpcFault) as info:
                client.call(OTHER_IF, 0)
            assert info.value.status == 0x6CD and info.value.hresult == 0x800706CD
            assert client.usable() and client.call(TEST_IF, OP_ECHO, b"b") == b"b"
        thread.join(5)
    finally:
        listener.close()


def test_connections_per_address_are_limited_and_other_addresses_keep_their_room():
    srv = start_server(max_connections_per_address=2)

    def another_address_has_room() -> None:
        with RpcClient(*srv.address, source="127.0.0.9") as other:
            assert other.call(TEST_IF, OP_ECHO, b"room") == b"room"

    try:
        _full_then_freed(srv, another_address_has_room)
    finally:
        srv.close()


def test_a_connection_that_never_binds_is_closed_after_the_bind_timeout():
    srv = start_server(bind_timeout=0.3)
    try:
        with socket.create_connection(srv.address, timeout=5) as silent:
            started = time.monotonic()
            silent.sendall(b"\x05")  # a byte, and never a whole bind
            assert silent.recv(1) == b""  # closed by the server
            assert time.monotonic() - started < 4
        with RpcClient(*srv.address) as client:  # a bound connection is not hurried
            client.call(TEST_IF, OP_ECHO)
            time.sleep(0.5)
            assert client.call(TEST_IF, OP_ECHO, b"later") == b"later"
        wait_until(lambda: srv.connection_count == 0, 5, "the server counts no connection")
    finally:
        srv.close()
