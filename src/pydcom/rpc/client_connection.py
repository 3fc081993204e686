"""The client side of one DCE/RPC connection as a state machine with no I/O (C706 12; MS-RPCE 3.3.2).

``bind`` and ``request`` return the bytes to send; ``receive_data`` and ``next_event`` turn the
server's bytes into typed events: the outcome of a bind, a reassembled response, a fault.
"""

from __future__ import annotations

import struct
import uuid
from typing import Iterable

from pydcom.guid import guid_to_bytes
from pydcom.memo import Memo
from pydcom.ntlm.errors import NtlmError
from pydcom.rpc.constants import (
    DEFAULT_MAX_FRAG,
    NDR_SYNTAX,
    PFC_DID_NOT_EXECUTE,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PFC_OBJECT_UUID,
    PFC_SINGLE,
    PFC_SUPPORT_HEADER_SIGN,
    PTYPE,
    BindFeature,
    ContextResult as Result,
    SyntaxId,
    bind_time_feature_syntax,
)
from pydcom.rpc.errors import ProtocolError
from pydcom.rpc.framing import SPARE_MAX, FrameBuffer, Gathered, cut, stub_buffer
from pydcom.rpc.pdu import (
    REQUEST_LEADING,
    RESPONSE_LEADING,
    SEC_TRAILER,
    SINGLE_OBJECT_REQUEST,
    SINGLE_REQUEST,
    SINGLE_RESPONSE,
    AlterContext,
    AlterContextResp,
    Auth3,
    AuthVerifier,
    Bind,
    BindAck,
    BindNak,
    ContextElement,
    ContextResult,
    Fault,
    PduError,
    Response,
    decode_pdu,
    pack_request_head,
    unpack_response_head,
)
from pydcom.rpc.security import (
    AUTHN_WINNT,
    TOKEN_SIZE,
    ClientAuth,
    SecurityContext,
    SecurityError,
    granted,
)

_FEATURES_OFFERED = int(  # an int: IntFlag operators are slow
    BindFeature.SECURITY_CONTEXT_MULTIPLEXING | BindFeature.KEEP_CONNECTION_ON_ORPHAN)
_FEATURE_SYNTAX = bind_time_feature_syntax(_FEATURES_OFFERED)
_U32 = struct.Struct("<I")
_MIDDLE_RESPONSE = RESPONSE_LEADING[0]
_LAST_RESPONSE = RESPONSE_LEADING[PFC_LAST_FRAG]
_offers = Memo(256)  # what a bind offers -> (the offered contexts, the PDU with call_id 0)


class BindOutcome:
    """The answer to a bind or alter_context: per offered syntax, its context id or its rejection.

    ``nak_reason`` is set when a bind_nak answered (C706 12.6.4.5); ``fault`` is the status of a
    fault PDU that answered an alter_context, as a server does when it cannot take the
    alter_context at all, e.g. for an unknown security provider (MS-RPCE 3.3.1.5.2.1, 3.3.3.5.3).
    """

    __slots__ = ("call_id", "accepted", "rejected", "nak_reason", "fault")

    def __init__(self, call_id: int, accepted: dict[SyntaxId, int],
                 rejected: dict[SyntaxId, ContextResult], nak_reason: int | None = None,
                 fault: int | None = None) -> None:
        self.call_id = call_id
        self.accepted = accepted
        self.rejected = rejected
        self.nak_reason = nak_reason
        self.fault = fault

    def __repr__(self) -> str:
        return (f"BindOutcome(accepted={ {str(k): v for k, v in self.accepted.items()} }, "
                f"rejected={ {str(k): v for k, v in self.rejected.items()} }, "
                f"nak={self.nak_reason}, fault={self.fault})")


class ResponseReceived:
    __slots__ = ("call_id", "stub")

    def __init__(self, call_id: int, stub: bytes) -> None:
        self.call_id = call_id
        self.stub = stub


class FaultReceived:
    __slots__ = ("call_id", "status", "did_not_execute")

    def __init__(self, call_id: int, status: int, did_not_execute: bool) -> None:
        self.call_id = call_id
        self.status = status
        self.did_not_execute = did_not_execute


class ShutdownReceived:
    """The server asked the client to close the connection (C706 12.6.4.11)."""

    __slots__ = ()


class ClientConnection:
    """One connection's client-side protocol state. Not thread-safe: its owner serializes."""

    def __init__(self, *, max_xmit_frag: int = DEFAULT_MAX_FRAG,
                 max_recv_frag: int = DEFAULT_MAX_FRAG, max_response_size: int = 64 << 20,
                 feature_negotiation: bool = True, auth: ClientAuth | None = None) -> None:
        self._frames = FrameBuffer()
        self._call_id = 0
        self._next_context_id = 0
        self._offer: tuple[int, list[tuple[int, SyntaxId, bool]]] | None = None
        self._partial: list | None = None  # [call_id, stub buffer, bytes filled]
        self._spare: bytearray | None = None  # the buffer of the last long response
        self._feature_negotiation = feature_negotiation
        self._max_response_size = max_response_size
        self.contexts: dict[SyntaxId, int] = {}
        self.bound = False
        self.assoc_group_id = 0
        self.features = 0
        self.max_xmit_frag = max_xmit_frag
        self.max_recv_frag = max_recv_frag
        self._auth = auth
        # The security context the first bind starts (auth_context_id 0); established by the
        # auth3 that answers its bind_ack's CHALLENGE (MS-RPCE 3.3.1.5.2.1).
        self.security: SecurityContext | None = None
        self._protected = False  # every request and response is signed or sealed
        self._output: list[bytes] = []  # what the protocol sends by itself: the auth3

    def data_to_send(self) -> bytes:
        """What the connection must send now on its own (the rpc_auth_3 after a bind_ack)."""
        out = b"".join(self._output)
        self._output.clear()
        return out

    def next_call_id(self) -> int:
        self._call_id = (self._call_id + 1) & 0xFFFFFFFF
        return self._call_id

    # -- outgoing ----------------------------------------------------------------------------
    def bind(self, syntaxes: Iterable[SyntaxId], assoc_group_id: int = 0) -> bytes:
        """A bind (first time) or alter_context (later) offering each syntax over NDR 2.0.

        The first bind also offers bind time feature negotiation (MS-RPCE 3.3.1.5.3), as Windows
        clients since Server 2003 do.
        """
        syntaxes = tuple(syntaxes)
        if self._auth is not None and not self.bound:
            return self._authenticated_bind(syntaxes, assoc_group_id)
        # The same offers are made on every new connection: each is built once, and only the
        # call_id differs between its copies.
        key = (syntaxes, self.bound, self._feature_negotiation, self._next_context_id,
               self.max_xmit_frag, self.max_recv_frag, assoc_group_id or self.assoc_group_id)
        found = _offers.get(key)
        if found is None:
            found = _offers.keep(key, self._build_offer(syntaxes, assoc_group_id))
        offered, data = found
        self._next_context_id = (self._next_context_id + len(offered)) & 0xFFFF
        call_id = self.next_call_id()
        self._offer = (call_id, offered)
        return b"".join((data[:12], _U32.pack(call_id), data[16:]))

    def _build_offer(self, syntaxes: tuple[SyntaxId, ...], assoc_group_id: int
                     ) -> tuple[tuple[tuple[int, SyntaxId, bool], ...], bytes]:
        """(context id, syntax, is feature negotiation) per offered context, and the PDU."""
        offered: list[tuple[int, SyntaxId, bool]] = []
        elements = []
        context_id = self._next_context_id
        for syntax in syntaxes:
            offered.append((context_id, syntax, False))
            elements.append(ContextElement(context_id, syntax, (NDR_SYNTAX,)))
            context_id = (context_id + 1) & 0xFFFF
        if not self.bound and self._feature_negotiation and syntaxes:
            offered.append((context_id, syntaxes[-1], True))
            elements.append(ContextElement(context_id, syntaxes[-1], (_FEATURE_SYNTAX,)))
        cls = AlterContext if self.bound else Bind
        return tuple(offered), cls(0, tuple(elements), self.max_xmit_frag, self.max_recv_frag,
                                   assoc_group_id or self.assoc_group_id).encode()

    def _authenticated_bind(self, syntaxes: tuple[SyntaxId, ...], assoc_group_id: int) -> bytes:
        """The first bind with the NTLM NEGOTIATE in its verifier, offering header signing as
        Windows clients do (MS-RPCE 3.3.1.5.2.1-2)."""
        assert self._auth is not None
        offered, data = self._build_offer(syntaxes, assoc_group_id)
        pdu = decode_pdu(data)
        initiator = self._auth.initiator()
        self.security = SecurityContext(AUTHN_WINNT, self._auth.level, 0, initiator)
        pdu.flags |= PFC_SUPPORT_HEADER_SIGN
        pdu.auth = AuthVerifier(AUTHN_WINNT, self.security.level, 0, initiator.negotiate())
        self._next_context_id = (self._next_context_id + len(offered)) & 0xFFFF
        pdu.call_id = self.next_call_id()
        self._offer = (pdu.call_id, list(offered))
        return pdu.encode()

    def _finish_handshake(self, pdu: BindAck) -> None:
        """The CHALLENGE in the bind_ack: queue the AUTHENTICATE in an rpc_auth_3."""
        context = self.security
        assert context is not None
        if pdu.auth is None or pdu.auth.context_id != context.context_id:
            raise SecurityError("the server answered the bind without its NTLM CHALLENGE: it "
                                "does not authenticate")
        try:
            authenticate = context.handshake.authenticate(pdu.auth.token)
        except NtlmError as exc:
            raise SecurityError(f"the server's CHALLENGE cannot be answered: {exc}") from None
        session = context.handshake.session
        if not granted(context, session):
            raise SecurityError(f"the server's CHALLENGE does not grant the signing or sealing "
                                f"that level {context.level} needs")
        context.session = session
        self._protected = context.protects
        self._output.append(Auth3(PFC_SINGLE | PFC_SUPPORT_HEADER_SIGN, pdu.call_id, AuthVerifier(
            AUTHN_WINNT, context.level, context.context_id, authenticate)).encode())

    def single_request(self, context_id: int, opnum: int, stub: bytes,
                       object: uuid.UUID | None = None) -> tuple[int, bytes] | None:
        """The hot path: one unfragmented request (C706 12.6.4.9), with the object UUID every
        ORPC call carries (MS-DCOM 2.1) or without, or None if ``stub`` needs fragments or
        a signature."""
        if self._protected:
            return None
        total = len(stub)
        header = 24 if object is None else 40
        if total > self.max_xmit_frag - header:
            return None
        self._call_id = call_id = (self._call_id + 1) & 0xFFFFFFFF
        if object is None:
            return call_id, pack_request_head(SINGLE_REQUEST, header + total, 0, call_id, total,
                                              context_id, opnum) + stub
        return call_id, b"".join((pack_request_head(SINGLE_OBJECT_REQUEST, header + total, 0,
                                                    call_id, total, context_id, opnum),
                                  guid_to_bytes(object), stub))

    def request(self, context_id: int, opnum: int, stub: bytes | Gathered,
                object: uuid.UUID | None = None) -> tuple[int, list[bytes]]:
        """The fragments of one request (C706 12.6.4.9), each within the server's limit."""
        single = self.single_request(context_id, opnum, stub, object)
        if single is not None:
            return single[0], [single[1]]
        call_id, fragments = self.fragments(context_id, opnum, stub, object)
        return call_id, [b"".join(parts) for parts in fragments]

    def fragments(self, context_id: int, opnum: int, stub: bytes | Gathered,
                  object: uuid.UUID | None = None) -> tuple[int, list[tuple]]:
        """``request``'s fragments unjoined, for a gathering write: per fragment its head, the
        object UUID (b"" without), then views of its piece of the stub: nothing is copied."""
        self._call_id = call_id = (self._call_id + 1) & 0xFFFFFFFF
        total = len(stub)
        object_bytes = guid_to_bytes(object) if object is not None else b""
        header = 24 + len(object_bytes)
        if self._protected:
            assert self.security is not None
            object_flag = PFC_OBJECT_UUID if object_bytes else 0

            def head(flags: int, frag_length: int, alloc_hint: int) -> bytes:
                return pack_request_head(REQUEST_LEADING[flags | object_flag], frag_length,
                                         TOKEN_SIZE, call_id, alloc_hint, context_id,
                                         opnum) + object_bytes

            return call_id, [(fragment,) for fragment in self.security.fragments(
                head, header, bytes(stub), self.max_xmit_frag)]
        room = (self.max_xmit_frag - header) & ~7
        fragments = []
        for start, size, pieces in cut(stub, room):
            flags = (PFC_FIRST_FRAG if start == 0 else 0) | (
                PFC_LAST_FRAG if start + room >= total else 0) | (
                PFC_OBJECT_UUID if object_bytes else 0)
            fragments.append((pack_request_head(
                REQUEST_LEADING[flags], header + size, 0, call_id, total - start,
                context_id, opnum), object_bytes, *pieces))
        return call_id, fragments

    # -- incoming ----------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        self._frames.feed(data)

    def receive_buffer(self) -> memoryview | None:
        """Room for the next read itself (a socket's recv_into), then ``received``, while a long
        response arrives in fragments; None when ``receive_data`` takes the bytes. The view must
        be let go before the next ``receive_data``."""
        return None if self._partial is None else self._frames.space()

    def received(self, count: int) -> None:
        """``count`` bytes were read into ``receive_buffer``."""
        self._frames.filled(count)

    def single_response(self, call_id: int, data: bytes) -> bytes | None:
        """The hot path: if ``data`` is exactly the one-fragment response to ``call_id`` in the
        form ``SINGLE_RESPONSE``, without auth, within the negotiated size, and nothing else is
        buffered, its stub. Otherwise None, and ``data`` waits for ``next_event``, where
        ``decode_pdu`` decodes or refuses it: what this path takes, it decodes alike."""
        if len(data) >= 24 and not self._frames.pending:
            leading, frag_length, auth_length, rid, _, _, _ = unpack_response_head(data)
            if (leading == SINGLE_RESPONSE and rid == call_id and frag_length == len(data)
                    and not auth_length and frag_length <= self.max_recv_frag):
                return data[24:]
        self._frames.feed(data)
        return None

    def signed_response(self, call_id: int, data: bytes) -> bytes | None:
        """The hot path of a signed or sealed call: if ``data`` is exactly the one-fragment
        response to ``call_id``, with its verifier, and nothing else is buffered, its stub,
        checked and unsealed as ``next_event`` would. Otherwise None, and ``data`` waits for
        ``next_event``. SecurityError if its signature fails."""
        context = self.security
        if len(data) >= 48 and not self._frames.pending and context is not None:
            leading, frag_length, auth_length, rid, _, _, _ = unpack_response_head(data)
            trailer_at = frag_length - TOKEN_SIZE - SEC_TRAILER.size
            if (leading == SINGLE_RESPONSE and rid == call_id and frag_length == len(data)
                    and auth_length == TOKEN_SIZE and frag_length <= self.max_recv_frag):
                _, level, pad, _, auth_context = SEC_TRAILER.unpack_from(data, trailer_at)
                if auth_context == context.context_id and trailer_at - pad >= 24:
                    return context.unprotect(data, 24, level, pad,
                                             data[trailer_at + SEC_TRAILER.size:])
        self._frames.feed(data)
        return None

    def next_event(self) -> BindOutcome | ResponseReceived | FaultReceived | ShutdownReceived | None:
        """The next event, or None when more bytes are needed. ProtocolError if the server
        sent something that cannot be right."""
        while True:
            partial = self._partial
            if partial is not None and not self._protected:
                # Amid a long response: the stubs of its following fragments straight into its
                # buffer while they take the plain form; any other PDU is read below (every
                # fragment of a signed response is checked there).
                partial[2], last = self._frames.take_stubs(
                    partial[1], partial[2], _MIDDLE_RESPONSE, _LAST_RESPONSE, partial[0], 24,
                    self._max_response_size - partial[2], self.max_recv_frag)
                if last:
                    return self._finish()
            try:
                item = self._frames.next_frame()
                if item is None:
                    return None
                header, frame = item
                if header.frag_length > self.max_recv_frag:
                    raise ProtocolError(f"fragment of {header.frag_length} bytes exceeds "
                                        f"{self.max_recv_frag}")
                # A fragment of a longer answer keeps its stub in the frame (a view), so that
                # reassembly copies each byte once.
                pdu = decode_pdu(frame, header, view=header.flags & PFC_SINGLE != PFC_SINGLE)
            except PduError as exc:
                raise ProtocolError(f"malformed PDU from server: {exc}") from None
            if isinstance(pdu, Response):
                stub = pdu.stub
                if self._protected:
                    stub = self._unprotect(pdu, frame)
                event = self._on_response(pdu.call_id, pdu.flags, stub, pdu.alloc_hint)
                if event is not None:
                    return event
            elif isinstance(pdu, Fault):
                if self._offer is not None and self._offer[0] == pdu.call_id:
                    return self._on_bind_fault(pdu)
                self._partial = None
                return FaultReceived(pdu.call_id, pdu.status, bool(pdu.flags & PFC_DID_NOT_EXECUTE))
            elif isinstance(pdu, (BindAck, BindNak)):
                return self._on_bind_answer(pdu)
            elif pdu.ptype == PTYPE.SHUTDOWN:
                return ShutdownReceived()
            else:
                raise ProtocolError(f"unexpected {type(pdu).__name__} PDU from server")

    def _unprotect(self, pdu: Response, frame: bytes) -> bytes:
        """A response fragment's stub, its signature checked (and its body unsealed) with the
        connection's security context (MS-RPCE 3.3.1.5.2.2)."""
        auth, context = pdu.auth, self.security
        assert context is not None
        if auth is None or auth.context_id != context.context_id:
            raise SecurityError("a response without the signature its security context needs")
        return context.unprotect(frame, 24, auth.auth_level, auth.pad_length, auth.token)

    def _on_response(self, call_id: int, flags: int, stub: bytes | memoryview, hint: int = 0
                     ) -> ResponseReceived | None:
        if flags & PFC_FIRST_FRAG:
            if flags & PFC_LAST_FRAG:
                self._partial = None
                return ResponseReceived(call_id, stub)
            # The stub is written into one buffer, of the size the alloc_hint announces (within
            # the limit) or this connection's last one again (stub_buffer), so that each byte
            # is copied once.
            self._spare = stub_buffer(self._spare, min(hint, self._max_response_size))
            self._partial = [call_id, self._spare, 0]
        elif self._partial is None or self._partial[0] != call_id:
            raise ProtocolError(f"response fragment for call {call_id} out of sequence")
        partial = self._partial
        size = partial[2] + len(stub)
        if size > self._max_response_size:
            raise ProtocolError(f"response larger than {self._max_response_size} bytes")
        partial[1][partial[2]:size] = stub  # grows the buffer past a short alloc_hint
        partial[2] = size
        if flags & PFC_LAST_FRAG:
            return self._finish()
        return None

    def _finish(self) -> ResponseReceived:
        """The response whose last fragment was read."""
        call_id, stub, size = self._partial
        self._partial = None
        if len(stub) > size:  # the alloc_hint promised more than came
            del stub[size:]
        if len(stub) > SPARE_MAX:
            self._spare = None
        return ResponseReceived(call_id, stub)

    def _on_bind_fault(self, pdu: Fault) -> BindOutcome:
        """A fault where an alter_context_resp was due: the server took none of the offer
        (MS-RPCE 3.3.1.5.2.1). A bind is answered by bind_ack or bind_nak only (C706 12.6.4.3)."""
        call_id, _ = self._offer
        self._offer = None
        if not self.bound:
            raise ProtocolError(f"fault 0x{pdu.status:08x} answering a bind")
        return BindOutcome(call_id, {}, {}, fault=pdu.status)

    def _on_bind_answer(self, pdu: BindAck | BindNak) -> BindOutcome:
        if self._offer is None or self._offer[0] != pdu.call_id:
            raise ProtocolError(f"{type(pdu).__name__} for call {pdu.call_id} that was not a bind")
        call_id, offered = self._offer
        self._offer = None
        if isinstance(pdu, BindNak):
            return BindOutcome(call_id, {}, {}, pdu.reason)
        if isinstance(pdu, AlterContextResp) != self.bound:
            raise ProtocolError(f"{type(pdu).__name__} answers the wrong PDU")
        if len(pdu.results) != len(offered):
            raise ProtocolError(f"{len(pdu.results)} results for {len(offered)} contexts")
        if not self.bound:
            if self.security is not None:
                self._finish_handshake(pdu)
            self.bound = True
            self.assoc_group_id = pdu.assoc_group_id
            self.max_xmit_frag = min(self.max_xmit_frag, pdu.max_recv_frag)
            if self.max_xmit_frag < 64:
                raise ProtocolError(f"server receives fragments of only {pdu.max_recv_frag} bytes")
        accepted: dict[SyntaxId, int] = {}
        rejected: dict[SyntaxId, ContextResult] = {}
        for (context_id, syntax, is_feature), result in zip(offered, pdu.results):
            if is_feature:
                if result.result == Result.NEGOTIATE_ACK:
                    self.features = result.reason & _FEATURES_OFFERED
                continue
            if result.result == Result.ACCEPTANCE:
                if result.transfer_syntax != NDR_SYNTAX:
                    raise ProtocolError(f"server accepted {result.transfer_syntax}, not offered")
                accepted[syntax] = context_id
                self.contexts[syntax] = context_id
            else:
                rejected[syntax] = result
        return BindOutcome(call_id, accepted, rejected)
