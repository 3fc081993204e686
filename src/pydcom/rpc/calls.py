"""What a server hands an operation: one whole call and the connection it came on (C706 12.6.4.9).

A module of its own, below both ``interface`` (whose operations take a call) and
``server_connection`` (which builds calls), so that neither has to import the other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydcom.rpc.security import UNAUTHENTICATED, CallSecurity
from pydcom.rpc.verification import VerificationTrailer

if TYPE_CHECKING:
    from pydcom.rpc.interface import Interface


@dataclass(frozen=True)
class ConnectionInfo:
    """Where a call came from and in on; the DCOM service names the local address back."""

    peer: tuple
    local: tuple


class CallReceived:
    """A whole request, ready to dispatch (C706 12.6.4.9)."""

    __slots__ = ("call_id", "context_id", "interface", "opnum", "object", "stub", "security",
                 "verification", "connection")

    def __init__(self, call_id: int, context_id: int, interface: Interface, opnum: int,
                 object: uuid.UUID | None, stub: bytes, connection: ConnectionInfo | None,
                 security: CallSecurity = UNAUTHENTICATED,
                 verification: VerificationTrailer | None = None) -> None:
        self.call_id = call_id
        self.context_id = context_id
        self.interface = interface
        self.opnum = opnum
        self.object = object
        self.stub = stub
        self.connection = connection
        self.security = security  # who called, at which level (MS-RPCE 3.3.3.4.3)
        self.verification = verification

    def __repr__(self) -> str:
        return (f"CallReceived(call_id={self.call_id}, context={self.context_id}, "
                f"{self.interface.syntax}, opnum={self.opnum}, object={self.object}, "
                f"stub={len(self.stub)} bytes)")
