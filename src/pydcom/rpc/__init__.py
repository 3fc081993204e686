"""Connection-oriented DCE/RPC over TCP (C706 chapter 12, MS-RPCE).

- ``pdu``: every PDU type, encode and decode; ``framing``: bytes to fragments and back (a
  stub in parts, the buffers long messages are read into); ``transport``: gathering writes.
- ``server_connection`` / ``client_connection``: the two sides as state machines without I/O;
  ``calls``: the call a server hands an operation, and its connection.
- ``server`` / ``client``: the socket code around them.
"""

from pydcom.rpc.calls import CallReceived
from pydcom.rpc.client import RpcClient
from pydcom.rpc.constants import NDR64_SYNTAX, NDR_SYNTAX, PFC, PTYPE, SyntaxId
from pydcom.rpc.errors import (
    BindRejected,
    CallFailed,
    ProtocolError,
    RpcError,
    RpcFault,
    ServerUnavailable,
)
from pydcom.rpc.interface import Interface, InterfaceTable
from pydcom.rpc.server import RpcServer
from pydcom.rpc.server_connection import ServerConnection, ServerLimits

__all__ = [
    "BindRejected", "CallFailed", "CallReceived", "Interface", "InterfaceTable", "NDR64_SYNTAX",
    "NDR_SYNTAX", "PFC", "PTYPE", "ProtocolError", "RpcClient", "RpcError", "RpcFault",
    "RpcServer", "ServerConnection", "ServerLimits", "ServerUnavailable", "SyntaxId",
]
