"""An independent DCE/RPC client, impacket, against pydcom's server."""

from __future__ import annotations

import uuid

import pytest
from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin

from pydcom.rpc import SyntaxId

from .support import OP_CRASH, OP_ECHO, OP_REVERSE, OTHER_IF, TEST_IF, start_server


def connect(server):
    host, port = server.address
    rpc_transport = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{host}[{port}]")
    dce = rpc_transport.get_dce_rpc()
    dce.connect()
    return dce


def binding(syntax):
    return uuidtup_to_bin((str(syntax.uuid), f"{syntax.major}.{syntax.minor}"))


def test_impacket_binds_and_calls(server):
    dce = connect(server)
    try:
        dce.bind(binding(TEST_IF))
        dce.call(OP_ECHO, b"from impacket")
        assert dce.recv() == b"from impacket"
        dce.call(OP_REVERSE, b"abc")
        assert dce.recv() == b"cba"
    finally:
        dce.disconnect()


def test_impacket_sees_faults_and_keeps_calling(server):
    dce = connect(server)
    try:
        dce.bind(binding(TEST_IF))
        dce.call(42, b"")
        with pytest.raises(DCERPCException, match="nca_s_op_rng_error"):
            dce.recv()
        dce.call(OP_CRASH, b"")
        with pytest.raises(DCERPCException):
            dce.recv()
        dce.call(OP_ECHO, b"again")
        assert dce.recv() == b"again"
    finally:
        dce.disconnect()


def test_impacket_request_and_response_span_many_fragments():
    server = start_server(max_request_size=16 << 20)
    dce = connect(server)
    try:
        dce.bind(binding(TEST_IF))  # impacket offers 4280-byte fragments; responses honour it
        dce.set_max_fragment_size(1024)  # and its requests go out in 1 KiB fragments
        stub = bytes(range(256)) * 8192  # 2 MiB
        dce.call(OP_REVERSE, stub)
        assert dce.recv() == stub[::-1]
    finally:
        dce.disconnect()
        server.close()


def test_impacket_alter_context_on_the_same_connection(server):
    dce = connect(server)
    try:
        dce.bind(binding(TEST_IF))
        other = dce.alter_ctx(binding(OTHER_IF))
        other.call(0, b"x")
        assert other.recv() == b"other:x"
        dce.call(OP_ECHO, b"first context")  # call_ids now repeat, as impacket's DCOM does
        assert dce.recv() == b"first context"
    finally:
        dce.disconnect()


def test_impacket_bind_to_unknown_interface_is_rejected(server):
    dce = connect(server)
    try:
        with pytest.raises(DCERPCException, match="abstract_syntax_not_supported"):
            dce.bind(binding(SyntaxId(uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), 1, 0)))
    finally:
        dce.disconnect()
