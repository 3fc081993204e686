"""Errors of the RPC layer. Each is a ComError carrying the HRESULT a Windows client reports."""

from __future__ import annotations

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.rpc.constants import BindNakReason, fault_status_to_hresult


class RpcError(ComError):
    """Base of every RPC-layer failure."""


class ServerUnavailable(RpcError):
    """No connection could be made or kept: RPC_S_SERVER_UNAVAILABLE (0x800706BA)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(hresult.HRESULT_RPC_S_SERVER_UNAVAILABLE, detail)


class CallFailed(RpcError):
    """The connection broke after the request went out, so the call may have run:
    RPC_S_CALL_FAILED (0x800706BE), as Windows reports it."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(hresult.HRESULT_RPC_S_CALL_FAILED, detail)


class CallTimedOut(CallFailed):
    """No answer within the call timeout; the connection is abandoned and the call may have
    run: RPC_E_TIMEOUT (0x8001011F)."""

    def __init__(self, detail: str = "") -> None:
        RpcError.__init__(self, hresult.RPC_E_TIMEOUT, detail)


class ProtocolError(RpcError):
    """The peer broke the protocol: RPC_S_PROTOCOL_ERROR (0x800706C0)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(hresult.HRESULT_RPC_S_PROTOCOL_ERROR, detail)


class RpcFault(RpcError):
    """A fault PDU (C706 12.6.4.7). ``status`` is the raw fault status; ``hresult`` what a client
    reports for it (MS-RPCE 3.1.1.5.5). Raised by a server handler, it becomes that fault."""

    def __init__(self, status: int, detail: str = "", did_not_execute: bool = False) -> None:
        self.status = status & 0xFFFFFFFF
        self.did_not_execute = did_not_execute
        super().__init__(fault_status_to_hresult(self.status),
                         detail or f"fault status 0x{self.status:08X}")

    def __reduce__(self):
        return (type(self), (self.status, self.detail, self.did_not_execute))


class BindRejected(RpcError):
    """bind_nak, or a bind_ack that accepted none of the offered contexts.

    ``reason`` is the bind_nak reason, or None when the contexts were rejected one by one;
    a context refused for the server's context limit (provider reason local_limit_exceeded)
    carries bind_nak reason local_limit_exceeded, which says the same of a whole bind
    (MS-RPCE 3.3.3.5.5).
    """

    def __init__(self, detail: str, reason: int | None = None) -> None:
        self.reason = reason
        code = (hresult.hresult_from_win32(hresult.RPC_S_UNKNOWN_AUTHN_TYPE)
                if reason == BindNakReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED
                else hresult.hresult_from_win32(hresult.RPC_S_SERVER_TOO_BUSY)
                if reason in (BindNakReason.TEMPORARY_CONGESTION, BindNakReason.LOCAL_LIMIT_EXCEEDED)
                else hresult.hresult_from_win32(hresult.RPC_S_UNKNOWN_IF)
                if reason is None
                else hresult.hresult_from_win32(hresult.RPC_S_CALL_FAILED_DNE))
        super().__init__(code, detail)

    def __reduce__(self):
        return (type(self), (self.detail, self.reason))
