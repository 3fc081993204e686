"""Long messages on their way out: a stub in parts (Gathered) cut into fragments as its bytes
would be, and every fragment's head and pieces written in one gathering write (send_buffers)."""

from __future__ import annotations

import pytest

from pydcom.rpc import pdu as P
from pydcom.rpc.client_connection import ClientConnection
from pydcom.rpc.framing import Gathered, cut
from pydcom.rpc.transport import send_buffers

from .test_server_connection import bound_server


def test_cut_gives_the_same_pieces_for_bytes_and_gathered():
    data = bytes(range(256)) * 40
    gathered = Gathered([data[:100], memoryview(data)[100:9000], b"", data[9000:]])
    assert len(gathered) == len(data) and bytes(gathered) == data and gathered == data
    for room in (8, 1000, 4096, 20000):
        plain = [(start, size, b"".join(pieces)) for start, size, pieces in cut(data, room)]
        gath = [(start, size, b"".join(pieces)) for start, size, pieces in cut(gathered, room)]
        assert plain == gath and b"".join(p for _, _, p in plain) == data
        assert all(size <= room for _, size, _ in plain)
    assert [(s, n, b"".join(p)) for s, n, p in cut(b"", 8)] == [(0, 0, b"")]
    assert b"head" + gathered == b"head" + data


def test_a_gathered_response_is_fragmented_as_its_bytes_would_be():
    stub = bytes(range(256)) * 300
    server, ctx = bound_server(max_xmit_frag=1024)
    server.receive_data(P.Request(2, ctx, 0, b"x").encode())
    call = server.next_event()
    server.respond(call, stub)
    plain = server.data_to_send()
    server.receive_data(P.Request(2, ctx, 0, b"x").encode())
    call = server.next_event()
    server.respond(call, Gathered([stub[:5], stub[5:70000], stub[70000:]]))
    assert b"".join(server.buffers_to_send()) == plain


def test_client_fragments_join_to_request():
    client = ClientConnection(max_xmit_frag=1024)
    stub = bytes(range(256)) * 30
    _, joined = client.request(1, 2, stub)
    client._call_id = 0
    _, parts = client.fragments(1, 2, Gathered([stub[:3000], stub[3000:]]))
    assert [b"".join(p) for p in parts] == joined


class PartialSocket:
    """sendmsg that takes at most ``limit`` bytes a time, as a send timeout or a signal may."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.out = bytearray()
        self.calls = 0

    def sendmsg(self, buffers):
        self.calls += 1
        assert len(buffers) <= 512
        taken = 0
        for buffer in buffers:
            chunk = bytes(buffer)[:self.limit - taken]
            self.out += chunk
            taken += len(chunk)
            if taken == self.limit:
                break
        return taken

    def sendall(self, data):
        self.out += bytes(data)


@pytest.mark.parametrize("limit", [1, 7, 100, 10 ** 9])
def test_send_buffers_sends_every_byte_in_order_through_partial_writes(limit):
    buffers = [bytes([i % 251]) * (i % 13) for i in range(1500)]  # over 512 buffers, some empty
    sock = PartialSocket(limit)
    send_buffers(sock, buffers)
    assert sock.out == b"".join(buffers)


def test_send_buffers_raises_what_sendmsg_raises():
    class Broken:
        def sendmsg(self, buffers):
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        send_buffers(Broken(), [b"a", b"b"])
