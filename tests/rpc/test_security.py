"""Authenticated DCE/RPC over real sockets (MS-RPCE 3.3.1.5.2): NTLM in bind, bind_ack and
auth3; signed and sealed calls both ways; the server's minimum level; tampered, replayed and
wrong-key PDUs; impacket as an independent client."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from impacket.dcerpc.v5 import rpcrt, transport
from impacket.uuid import uuidtup_to_bin

from pydcom import ntlm
from pydcom.hresult import E_ACCESSDENIED
from pydcom.rpc import Interface, RpcServer, SyntaxId
from pydcom.rpc import pdu as P
from pydcom.rpc.client import RpcClient
from pydcom.rpc.client_connection import (
    ClientConnection,
    FaultReceived,
    ResponseReceived,
)
from pydcom.rpc.constants import NCA_S_FAULT_ACCESS_DENIED, PFC_SUPPORT_HEADER_SIGN
from pydcom.rpc.errors import RpcError
from pydcom.rpc.security import AuthLevel, ClientAuth, SecurityError, ServerAuth
from tests.support import wait_until

SECURE_IF = SyntaxId(uuid.UUID("5b1f0e3a-8c44-4f0b-9a6e-2c7d19e4b501"), 1, 0)
OTHER_SECURE_IF = SyntaxId(uuid.UUID("5b1f0e3a-8c44-4f0b-9a6e-2c7d19e4b502"), 1, 0)
OP_ECHO, OP_WHO, OP_OPEN = 0, 1, 2
ACCOUNTS = {"alice": ntlm.nt_hash("correct horse"), "bob": ntlm.nt_hash("battery staple")}
ALICE = ClientAuth("alice", "correct horse")


def _who(call) -> bytes:
    security = call.security
    return f"{security.principal}|{security.level}".encode()


INTERFACES = (
    Interface(SECURE_IF, {OP_ECHO: lambda call: call.stub, OP_WHO: _who,
                          OP_OPEN: lambda call: b"open to all"},
              "secure", open_opnums=frozenset({OP_OPEN})),
    Interface(OTHER_SECURE_IF, {OP_ECHO: lambda call: b"other:" + call.stub}, "other"),
)


def lookup(user: str, domain: str) -> bytes | None:
    return ACCOUNTS.get(user.lower())


@pytest.fixture
def secure_server():
    server = RpcServer("127.0.0.1", 0, interfaces=INTERFACES, name="secure",
                       auth=ServerAuth(lookup, min_level=AuthLevel.PKT_INTEGRITY)).start()
    try:
        yield server
    finally:
        server.close()


def client(server, auth=ALICE, **kwargs) -> RpcClient:
    return RpcClient(*server.address, auth=auth, timeout=5.0, **kwargs)


@pytest.mark.parametrize("level", [AuthLevel.PKT_INTEGRITY, AuthLevel.PKT_PRIVACY])
def test_signed_and_sealed_calls_carry_every_size_both_ways(secure_server, level):
    with client(secure_server, ALICE.at_level(level), max_frag=4280) as rpc:
        assert rpc.call(SECURE_IF, OP_WHO) == f"alice|{int(level)}".encode()
        for size in (0, 1, 15, 16, 17, 4000, 4280, 100_003):  # one fragment and many
            stub = bytes(i % 251 for i in range(size))
            assert rpc.call(SECURE_IF, OP_ECHO, stub) == stub
        # a second interface by alter_context, on the same security context
        assert rpc.call(OTHER_SECURE_IF, OP_ECHO, b"x") == b"other:x"


def test_sealed_stub_does_not_travel_in_clear(secure_server):
    """At PKT_PRIVACY the body is sealed; at PKT_INTEGRITY it is only signed."""
    secret = b"the stub is a secret " * 4
    for level, visible in ((AuthLevel.PKT_INTEGRITY, True), (AuthLevel.PKT_PRIVACY, False)):
        conn = ClientConnection(auth=ALICE.at_level(level))
        with socket.create_connection(secure_server.address, timeout=5) as sock:
            ctx = _raw_bind(sock, conn)
            _, [request] = conn.request(ctx, OP_ECHO, secret)
            assert (secret in request) is visible
            sock.sendall(request)
            answer = sock.recv(65536)
            assert (secret in answer) is visible
            conn.receive_data(answer)
            event = conn.next_event()
            assert isinstance(event, ResponseReceived) and event.stub == secret


def test_connect_level_authenticates_but_is_below_the_minimum(secure_server):
    with client(secure_server, ALICE.at_level(AuthLevel.CONNECT)) as rpc:
        assert rpc.call(SECURE_IF, OP_OPEN) == b"open to all"
        with pytest.raises(RpcError) as info:
            rpc.call(SECURE_IF, OP_ECHO, b"x")
        assert info.value.hresult == E_ACCESSDENIED


def test_connect_level_server_knows_the_caller():
    server = RpcServer("127.0.0.1", 0, interfaces=INTERFACES,
                       auth=ServerAuth(lookup, min_level=AuthLevel.CONNECT)).start()
    try:
        with client(server, ClientAuth("BOB", "battery staple", level=AuthLevel.CONNECT)) as rpc:
            assert rpc.call(SECURE_IF, OP_WHO) == b"BOB|2"
        with client(server, None) as rpc:  # no authentication at all
            with pytest.raises(RpcError) as info:
                rpc.call(SECURE_IF, OP_WHO)
            assert info.value.hresult == E_ACCESSDENIED
    finally:
        server.close()


def test_unauthenticated_calls_are_refused_except_open_operations(secure_server):
    with client(secure_server, None) as rpc:
        assert rpc.call(SECURE_IF, OP_OPEN) == b"open to all"
        with pytest.raises(RpcError) as info:
            rpc.call(SECURE_IF, OP_ECHO, b"x")
        assert info.value.hresult == E_ACCESSDENIED
        assert rpc.call(SECURE_IF, OP_OPEN) == b"open to all"  # the connection stays


@pytest.mark.parametrize("auth", [ClientAuth("alice", "wrong"), ClientAuth("mallory", "x"),
                                  ClientAuth("alice", None, nt_hash=bytes(16))])
def test_wrong_credentials_get_access_denied(secure_server, auth):
    with client(secure_server, auth) as rpc:
        with pytest.raises(RpcError) as info:
            rpc.call(SECURE_IF, OP_ECHO, b"x")
        assert info.value.hresult == E_ACCESSDENIED
        wait_until(lambda: not rpc.usable(), 5)  # the server closes the connection


def test_a_server_without_authentication_is_not_trusted_by_an_authenticating_client(server):
    """A client that asked for a signature does not accept answers without one."""
    from .support import TEST_IF
    with RpcClient(*server.address, auth=ALICE, timeout=5.0) as rpc:
        with pytest.raises(RpcError) as info:
            rpc.call(TEST_IF, 0, b"x")
        assert info.value.hresult != 0


# -- tampering, replay, wrong keys: a raw connection whose PDUs the test alters ------------------

def _raw_bind(sock: socket.socket, conn: ClientConnection) -> int:
    sock.sendall(conn.bind([SECURE_IF]))
    conn.receive_data(sock.recv(65536))
    outcome = conn.next_event()
    assert SECURE_IF in outcome.accepted
    sock.sendall(conn.data_to_send())  # the auth3
    return outcome.accepted[SECURE_IF]


def _answer(sock: socket.socket, conn: ClientConnection):
    data = sock.recv(65536)
    if not data:
        return None
    conn.receive_data(data)
    return conn.next_event()


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize("level", [AuthLevel.PKT_INTEGRITY, AuthLevel.PKT_PRIVACY])
@pytest.mark.parametrize("where", ["stub", "header", "trailer", "signature"])
def test_a_tampered_pdu_is_refused_and_the_connection_closed(secure_server, level, where):
    conn = ClientConnection(auth=ALICE.at_level(level))
    with socket.create_connection(secure_server.address, timeout=5) as sock:
        ctx = _raw_bind(sock, conn)
        _, [request] = conn.request(ctx, OP_ECHO, b"pay 10 to bob" + bytes(19))
        at = {"stub": 26, "header": 20, "trailer": len(request) - 16 - 4,
              "signature": len(request) - 5}[where]
        tampered = bytearray(request)
        tampered[at] ^= 0x01
        sock.sendall(bytes(tampered))
        event = _answer(sock, conn)
        assert isinstance(event, FaultReceived)
        assert event.status == NCA_S_FAULT_ACCESS_DENIED
        assert _closed(sock)


def test_a_replayed_pdu_is_refused(secure_server):
    conn = ClientConnection(auth=ALICE)
    with socket.create_connection(secure_server.address, timeout=5) as sock:
        ctx = _raw_bind(sock, conn)
        _, [request] = conn.request(ctx, OP_ECHO, b"once")
        sock.sendall(request)
        event = _answer(sock, conn)
        assert isinstance(event, ResponseReceived) and event.stub == b"once"
        sock.sendall(request)  # the same bytes again
        event = _answer(sock, conn)
        assert isinstance(event, FaultReceived) and event.status == NCA_S_FAULT_ACCESS_DENIED
        assert _closed(sock)


def test_a_pdu_signed_with_another_connections_key_is_refused(secure_server):
    mine, other = ClientConnection(auth=ALICE), ClientConnection(auth=ALICE)
    with socket.create_connection(secure_server.address, timeout=5) as sock, \
            socket.create_connection(secure_server.address, timeout=5) as other_sock:
        ctx = _raw_bind(sock, mine)
        _raw_bind(other_sock, other)
        _, [forged] = other.request(ctx, OP_ECHO, b"forged")
        sock.sendall(forged)
        event = _answer(sock, mine)
        assert isinstance(event, FaultReceived) and event.status == NCA_S_FAULT_ACCESS_DENIED


def test_a_request_without_its_signature_on_a_signed_context_is_unauthenticated(secure_server):
    conn = ClientConnection(auth=ALICE)
    with socket.create_connection(secure_server.address, timeout=5) as sock:
        ctx = _raw_bind(sock, conn)
        sock.sendall(P.Request(conn.next_call_id(), ctx, OP_ECHO, b"unsigned").encode())
        event = _answer(sock, conn)
        assert isinstance(event, FaultReceived) and event.status == NCA_S_FAULT_ACCESS_DENIED


@pytest.mark.parametrize("hot_path", [False, True])
def test_a_tampered_response_is_refused_by_the_client(secure_server, hot_path):
    """pydcom's client checks every signature it receives (impacket's does not), on its hot
    path for one-fragment answers as on the general one."""
    conn = ClientConnection(auth=ALICE)
    with socket.create_connection(secure_server.address, timeout=5) as sock:
        ctx = _raw_bind(sock, conn)
        call_id, [request] = conn.request(ctx, OP_ECHO, b"answer me")
        sock.sendall(request)
        answer = bytearray(sock.recv(65536))
        answer[25] ^= 0x01
        with pytest.raises(SecurityError):
            if hot_path:
                conn.signed_response(call_id, bytes(answer))
            else:
                conn.receive_data(bytes(answer))
                conn.next_event()


def test_bind_ack_agrees_header_signing_and_carries_the_challenge(secure_server):
    conn = ClientConnection(auth=ALICE)
    with socket.create_connection(secure_server.address, timeout=5) as sock:
        sock.sendall(conn.bind([SECURE_IF]))
        ack = P.decode_pdu(sock.recv(65536))
        assert isinstance(ack, P.BindAck) and ack.flags & PFC_SUPPORT_HEADER_SIGN
        assert ack.auth.token.startswith(b"NTLMSSP\x00\x02\x00\x00\x00")
        assert ack.auth.pad_length == 0  # the sec_trailer right after the results (impacket)


def test_a_handshake_never_finished_leaves_calls_refused(secure_server):
    conn = ClientConnection(auth=ALICE)
    with socket.create_connection(secure_server.address, timeout=5) as sock:
        sock.sendall(conn.bind([SECURE_IF]))
        conn.receive_data(sock.recv(65536))
        outcome = conn.next_event()
        conn.data_to_send()  # the auth3 is never sent
        ctx = outcome.accepted[SECURE_IF]
        _, [request] = conn.request(ctx, OP_ECHO, b"x")
        sock.sendall(request)
        event = _answer(sock, conn)
        assert isinstance(event, FaultReceived) and event.status == NCA_S_FAULT_ACCESS_DENIED


def test_many_authenticated_clients_at_once(secure_server):
    """Each thread its own connection and context; every call succeeds, in bounded time."""
    failures: list[BaseException] = []
    done = []

    def work(n: int) -> None:
        try:
            level = (AuthLevel.PKT_INTEGRITY, AuthLevel.PKT_PRIVACY)[n % 2]
            with client(secure_server, ALICE.at_level(level)) as rpc:
                for i in range(30):
                    stub = f"{n}:{i}".encode() * (1 + i)
                    assert rpc.call(SECURE_IF, OP_ECHO, stub) == stub
            done.append(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]
    assert sorted(done) == list(range(16))
    assert time.monotonic() - started < 60


# -- impacket, an independent client --------------------------------------------------------------

@pytest.mark.parametrize("level_name", ["PKT_INTEGRITY", "PKT_PRIVACY"])
def test_impacket_authenticates_rebinds_and_alters_context(secure_server, level_name):
    """impacket signs the whole PDU without asking for header signing, pads to 4, moves to
    another interface with a new bind carrying a new NEGOTIATE, and with alter_ctx opens a new
    security context on a new auth_context_id (its rpcrt.py)."""
    host, port = secure_server.address
    trans = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{host}[{port}]")
    trans.set_credentials("alice", "correct horse", "")
    dce = trans.get_dce_rpc()
    dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
    dce.set_auth_level(getattr(rpcrt, f"RPC_C_AUTHN_LEVEL_{level_name}"))
    dce.connect()
    try:
        dce.bind(uuidtup_to_bin((str(SECURE_IF.uuid), "1.0")))
        stub = b"hello" * 2000  # several fragments
        dce.call(OP_ECHO, stub)
        assert dce.recv().startswith(stub)
        dce.call(OP_WHO, b"")
        assert dce.recv().startswith(b"alice|")
        dce.bind(uuidtup_to_bin((str(OTHER_SECURE_IF.uuid), "1.0")))
        dce.call(OP_ECHO, b"y")
        assert dce.recv().startswith(b"other:y")
        altered = dce.alter_ctx(uuidtup_to_bin((str(SECURE_IF.uuid), "1.0")))
        altered.call(OP_ECHO, b"z" * 8)
        assert altered.recv().startswith(b"z" * 8)
    finally:
        dce.disconnect()


def test_impacket_with_a_wrong_password_gets_access_denied(secure_server):
    host, port = secure_server.address
    trans = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{host}[{port}]")
    trans.set_credentials("alice", "not the password", "")
    dce = trans.get_dce_rpc()
    dce.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    try:
        dce.bind(uuidtup_to_bin((str(SECURE_IF.uuid), "1.0")))
        dce.call(OP_ECHO, b"x")
        with pytest.raises(rpcrt.DCERPCException, match="access_denied"):
            dce.recv()
    finally:
        dce.disconnect()


def test_an_unsigned_fragment_amid_a_signed_call_is_refused(secure_server):
    """Every fragment of a signed call carries its own signature: a plain fragment slipped
    between signed ones is never taken into the call."""
    conn = ClientConnection(auth=ALICE, max_xmit_frag=1024, max_recv_frag=1024)
    with socket.create_connection(secure_server.address, timeout=5) as sock:
        ctx = _raw_bind(sock, conn)
        call_id, fragments = conn.request(ctx, OP_ECHO, bytes(range(256)) * 12)
        assert len(fragments) >= 3
        forged = P.Request(call_id, ctx, OP_ECHO, b"\xee" * 64, flags=0).encode()  # a middle one
        sock.sendall(fragments[0] + forged + b"".join(fragments[1:]))
        event = _answer(sock, conn)
        assert isinstance(event, FaultReceived)
        assert _closed(sock)


def test_a_challenge_that_does_not_grant_sealing_is_refused_at_privacy():
    """A client at PKT_PRIVACY does not go on with a session that cannot seal (a CHALLENGE
    altered on its way, or a server that will not): SecurityError at the handshake."""
    from pydcom.ntlm.messages import NegotiateFlags
    from pydcom.rpc.calls import ConnectionInfo
    from pydcom.rpc.interface import InterfaceTable
    from pydcom.rpc.server_connection import ServerConnection

    server = ServerConnection(InterfaceTable(INTERFACES).lookup,
                              connection=ConnectionInfo(("127.0.0.1", 1), ("127.0.0.1", 2)),
                              auth=ServerAuth(lookup))
    client = ClientConnection(auth=ALICE.at_level(AuthLevel.PKT_PRIVACY))
    server.receive_data(client.bind([SECURE_IF]))
    assert server.next_event() is None
    ack = P.decode_pdu(server.data_to_send())
    token = bytearray(ack.auth.token)
    flags = int.from_bytes(token[20:24], "little") & ~int(NegotiateFlags.NEGOTIATE_SEAL)
    token[20:24] = flags.to_bytes(4, "little")
    ack.auth.token = bytes(token)
    client.receive_data(ack.encode())
    with pytest.raises(SecurityError, match="sealing"):
        client.next_event()

