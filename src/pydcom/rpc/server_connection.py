"""The server side of one DCE/RPC connection as a state machine with no I/O (C706 12; MS-RPCE 3.3.3).

Feed it bytes with ``receive_data``; take calls with ``next_event``; answer each with ``respond``
or ``fault``. Everything the connection sends goes into one queue, in the order it was decided:
the answers to calls and what the protocol answers by itself (bind_ack, alter_context_resp,
bind_nak, the faults of requests that never reach an operation). ``data_to_send`` takes the
queue, so a bind_ack leaves before the response to a request that followed the bind, and the
fault for one request before the response to the next. ``state`` says where the connection
stands; in ``ServerState.CLOSING``, send what is queued, then close.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Callable

from pydcom.guid import guid_from_bytes
from pydcom.hresult import RPC_S_UNKNOWN_AUTHN_TYPE
from pydcom.ntlm.errors import NtlmError
from pydcom.ntlm.messages import (
    AUTHENTICATE_MESSAGE_TYPE,
    NEGOTIATE_MESSAGE_TYPE,
    message_type,
)
from pydcom.rpc.calls import CallReceived, ConnectionInfo
from pydcom.rpc.constants import (
    DEFAULT_MAX_FRAG,
    MIN_MAX_RECV_FRAG,
    NCA_S_FAULT_ACCESS_DENIED,
    NCA_S_PROTO_ERROR,
    NCA_S_UNK_IF,
    NDR_SYNTAX,
    NULL_SYNTAX,
    PFC_DID_NOT_EXECUTE,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PFC_OBJECT_UUID,
    PFC_SINGLE,
    PFC_SUPPORT_HEADER_SIGN,
    PTYPE,
    BindFeature,
    BindNakReason,
    ContextResult as Result,
    ProviderReason,
    SyntaxId,
    bind_time_features,
)
from pydcom.rpc.framing import SPARE_MAX, FrameBuffer, Gathered, cut, stub_buffer
from pydcom.rpc.interface import Interface
from pydcom.rpc.pdu import (
    REQUEST_LEADING,
    RESPONSE_LEADING,
    SINGLE_OBJECT_REQUEST,
    SINGLE_REQUEST,
    SINGLE_RESPONSE,
    AlterContextResp,
    Auth3,
    AuthVerifier,
    Bind,
    BindAck,
    BindNak,
    ContextElement,
    ContextResult,
    Header,
    PduError,
    Request,
    decode_pdu,
    encode_fault,
    pack_response_head,
    unpack_request_head,
)
from pydcom.rpc.security import (
    SEC_TRAILER,
    TOKEN_SIZE,
    UNAUTHENTICATED,
    AuthLevel,
    CallSecurity,
    SecurityContext,
    SecurityError,
    ServerAuth,
    effective_level,
    granted,
)
from pydcom.rpc.verification import split_verification_trailer

log = logging.getLogger("pydcom.rpc")

# Features this server agrees to in bind time feature negotiation (MS-RPCE 3.3.1.5.3): it keeps
# the connection open after an orphaned PDU; it has no security context multiplexing.
# An int, not the IntFlag: IntFlag operators build enum members in Python on every bind.
SUPPORTED_FEATURES = int(BindFeature.KEEP_CONNECTION_ON_ORPHAN)
_OLD_CALL_WINDOW = 150  # MS-RPCE 3.3.3.5.6
# MS-RPCE 3.3.3.5.2 asks call_ids to increase. Windows only refuses values above 0x7FFFFFFF
# (<123>), and clients built against it (impacket's DCOM, which shares one connection between
# interface objects with call counters of their own) repeat call_ids: they are tolerated.
_MAX_CALL_ID = 0x7FFFFFFF


class ServerState(enum.Enum):
    """Where one server connection stands (C706 12.4; MS-RPCE 3.3.3, figure 20)."""

    AWAITING_BIND = "awaiting bind"  # connected: only a bind is acceptable (ESTABLISHED)
    BOUND = "bound"  # a bind was acknowledged: requests, alter_contexts (CONTEXT_NEGOTIATED)
    CLOSING = "closing"  # a protocol error or fatal bind_nak is queued: send it, then close
    CLOSED = "closed"  # close() released the association group


_AWAITING_BIND, _BOUND, _CLOSING, _CLOSED = ServerState  # plain names: no class attribute lookup
_OPEN = (_AWAITING_BIND, _BOUND)
_GENERAL = object()  # a hot path's word for "not mine: the general path reads it"


class _Refused(Exception):
    """A bind's or alter_context's security part cannot be taken; the text says why."""


@dataclass(frozen=True)
class ServerLimits:
    """Bounds on what one peer may make a server hold (MS-RPCE 3.3.3.5.4, 3.3.3.5.5)."""

    max_recv_frag: int = DEFAULT_MAX_FRAG  # largest fragment accepted after bind
    max_xmit_frag: int = DEFAULT_MAX_FRAG  # largest fragment sent
    max_request_size: int = 4 << 20  # reassembled stub; beyond it: fault status 5
    max_contexts: int = 4000  # per connection, further capped at 4000 x interfaces
    idle_timeout: float = 600.0  # seconds without a byte before the connection is closed
    bind_timeout: float = 30.0  # seconds from connecting to the first bind's answer
    max_connections: int = 1024
    max_connections_per_address: int = 512  # from one client address: the others keep room


class AssociationGroups:
    """Association groups of one server (C706 12.6.4.3; MS-RPCE 3.3.1.5.7): one lock, one owner.

    A connection may join a group only from the client IP address that created it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[int, list] = {}  # id -> [client host, connection count]
        self._ids = itertools.count(0x1000)

    def create(self, host: str) -> int:
        with self._lock:
            group_id = next(self._ids) & 0xFFFFFFFF or next(self._ids)
            self._groups[group_id] = [host, 1]
            return group_id

    def join(self, group_id: int, host: str) -> bool:
        with self._lock:
            group = self._groups.get(group_id)
            if group is None or group[0] != host:
                return False
            group[1] += 1
            return True

    def leave(self, group_id: int) -> None:
        with self._lock:
            group = self._groups.get(group_id)
            if group is not None:
                group[1] -= 1
                if group[1] <= 0:
                    del self._groups[group_id]

    def __len__(self) -> int:
        with self._lock:
            return len(self._groups)


class _PartialCall:
    """A fragmented request being reassembled; ``rejected`` calls are read and dropped.

    The stub is written into ``data`` (of the size the first fragment's alloc_hint announces,
    within the request size limit, or the connection's buffer of its last long call again:
    ``stub_buffer``), so that each byte is copied once; ``size`` is how much of it is filled."""

    __slots__ = ("call_id", "context_id", "interface", "opnum", "object", "data", "size",
                 "rejected", "security")

    def __init__(self, call_id: int, context_id: int, interface: Interface | None, opnum: int,
                 obj: uuid.UUID | None, security: CallSecurity, data: bytearray) -> None:
        self.call_id = call_id
        self.context_id = context_id
        self.interface = interface
        self.opnum = opnum
        self.object = obj
        self.rejected = interface is None
        self.data = data
        self.size = 0
        self.security = security


class ServerConnection:
    """One connection's protocol state. Owned by one thread; not shared."""

    def __init__(self, lookup: Callable[[SyntaxId], Interface | None], *,
                 limits: ServerLimits = ServerLimits(), groups: AssociationGroups | None = None,
                 connection: ConnectionInfo | None = None, port_spec: str = "",
                 interface_count: Callable[[], int] = lambda: 1,
                 auth: ServerAuth | None = None) -> None:
        self._lookup = lookup
        self._limits = limits
        self._groups = groups if groups is not None else AssociationGroups()
        self._frames = FrameBuffer()
        self._outgoing: list[bytes | memoryview] = []  # every PDU to send, in order
        self._contexts: dict[int, Interface] = {}  # empty in every state but BOUND
        self._partial: _PartialCall | None = None
        self._spare: bytearray | None = None  # the buffer of the last long call, for the next
        self._last_call_id: int | None = None
        self._interface_count = interface_count
        self._auth = auth
        self._auth_types = auth.auth_types if auth is not None else frozenset()
        self._min_level = auth.min_level if auth is not None else AuthLevel.NONE
        self._authorize = auth.authorize if auth is not None else None
        self._security: dict[int, SecurityContext] = {}  # by auth_context_id
        # Whether a call is checked (level, then access) before it is handed out.
        self._checked = self._min_level > AuthLevel.NONE or self._authorize is not None
        # Requests without a verifier may take the hot path while no security context exists
        # and the server checks nothing.
        self._plain = not self._checked
        self.connection = connection
        self.port_spec = port_spec.encode("ascii")
        self.state = _AWAITING_BIND
        self.assoc_group_id = 0
        self.features = 0
        self.max_xmit_frag = limits.max_xmit_frag
        self.max_recv_frag = limits.max_recv_frag
        self._stub_room = (self.max_xmit_frag - 24) & ~7
        self._unframed: bytes | None = None

    # -- the I/O side ------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        if self._unframed is None and not self._frames.pending:
            self._unframed = data  # framed lazily: most reads are exactly one request
            return
        if self._unframed is not None:
            self._frames.feed(self._unframed)
            self._unframed = None
        self._frames.feed(data)

    def receive_buffer(self) -> memoryview | None:
        """Room for the next read itself (a socket's recv_into), then ``received``, while a long
        call arrives in fragments; None when ``receive_data`` takes the bytes. The view must be
        let go before the next ``receive_data``."""
        partial = self._partial
        if partial is None or partial.rejected or self._unframed is not None:
            return None
        return self._frames.space()

    def received(self, count: int) -> None:
        """``count`` bytes were read into ``receive_buffer``."""
        self._frames.filled(count)

    def data_to_send(self) -> bytes:
        """Every PDU queued since the last time, in the order queued; b"" when there is none."""
        out = self._outgoing
        if len(out) == 1:  # one whole PDU (a fragmented response queues two parts or more)
            return out.pop()
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        return data

    def buffers_to_send(self) -> list[bytes | memoryview]:
        """What ``data_to_send`` would join, unjoined: every PDU queued, a fragmented response as
        its headers and the stub's pieces, for one gathering write; [] when there is none."""
        out = self._outgoing
        self._outgoing = []
        return out

    def close(self) -> None:
        """Release what the connection holds beyond itself: its association group membership."""
        if self.assoc_group_id:
            self._groups.leave(self.assoc_group_id)
            self.assoc_group_id = 0
        self._leave(_CLOSED)

    def _leave(self, state: ServerState) -> None:
        """Stop serving: no context is left, so the hot path, which needs one, takes nothing."""
        self.state = state
        self._contexts = {}
        self._partial = None
        self._security = {}

    # -- events ------------------------------------------------------------------------------
    def next_event(self) -> CallReceived | None:
        """The next whole call, or None when more bytes are needed (or the connection is done)."""
        data = self._unframed
        if data is not None:
            self._unframed = None
            # The hot path: a read that is exactly one request in the form SINGLE_REQUEST or
            # SINGLE_OBJECT_REQUEST (every ORPC call has an object UUID), without auth, on a
            # known context. decode_pdu would read it alike; anything else, a big-endian
            # request included, is framed for the general path, where decode_pdu decodes or
            # refuses it.
            if len(data) >= 24 and self._partial is None:
                leading, frag_length, auth_length, call_id, _, context_id, opnum = (
                    unpack_request_head(data))
                plain = leading == SINGLE_REQUEST
                interface = self._contexts.get(context_id)  # none unless BOUND
                if ((plain or leading == SINGLE_OBJECT_REQUEST and frag_length >= 40)
                        and frag_length == len(data) and not auth_length and interface is not None
                        and self._plain
                        and call_id <= _MAX_CALL_ID and frag_length <= self.max_recv_frag):
                    if plain:
                        obj, stub = None, data[24:]
                    else:
                        obj, stub = guid_from_bytes(data[24:40]), data[40:]
                    self._last_call_id = call_id
                    if len(stub) >= 12:
                        return self._complete(call_id, context_id, interface, opnum, obj, stub,
                                              UNAUTHENTICATED)
                    return CallReceived(call_id, context_id, interface, opnum, obj, stub,
                                        self.connection)
                if (auth_length == TOKEN_SIZE and interface is not None
                        and (plain or leading == SINGLE_OBJECT_REQUEST and frag_length >= 64)
                        and frag_length == len(data) and call_id <= _MAX_CALL_ID
                        and frag_length <= self.max_recv_frag):
                    event = self._signed_call(data, plain, call_id, context_id, interface, opnum)
                    if event is not _GENERAL:
                        return event
            self._frames.feed(data)
        elif not self._frames.pending:
            return None
        while self.state in _OPEN:
            partial = self._partial
            if partial is not None and not partial.rejected and (
                    partial.security.level < AuthLevel.PKT_INTEGRITY):
                # Amid a long call: the stubs of its following fragments straight into its
                # buffer while they take the plain form; any other PDU is read below (every
                # fragment of a signed call is checked there).
                flags = PFC_OBJECT_UUID if partial.object is not None else 0
                partial.size, last = self._frames.take_stubs(
                    partial.data, partial.size, REQUEST_LEADING[flags],
                    REQUEST_LEADING[flags | PFC_LAST_FRAG], partial.call_id,
                    40 if flags else 24, self._limits.max_request_size - partial.size,
                    self.max_recv_frag)
                if last:
                    event = self._finish(partial)
                    if event is not None:
                        return event
                    continue
            try:
                item = self._frames.next_frame()
            except PduError as exc:
                self._fatal(exc.call_id, f"bad PDU header: {exc}")
                return None
            if item is None:
                return None
            header, frame = item
            if header.ptype == PTYPE.REQUEST:
                event = self._on_request(header, frame)
                if event is not None:
                    return event
            elif header.ptype in (PTYPE.BIND, PTYPE.ALTER_CONTEXT):
                self._on_bind(header, frame)
            elif header.ptype == PTYPE.AUTH3:
                self._on_auth3(header, frame)
            elif header.ptype == PTYPE.CO_CANCEL:
                # Calls run one at a time to completion, so a cancel has nothing to cancel.
                log.debug("ignoring %s for call %d", PTYPE(header.ptype).name, header.call_id)
            elif header.ptype == PTYPE.ORPHANED:
                if self._partial is not None and self._partial.call_id == header.call_id:
                    self._partial = None
            else:
                self._fatal(header.call_id, f"unexpected PDU type {header.ptype} from a client")
        return None

    # -- answers -----------------------------------------------------------------------------
    def respond(self, call: CallReceived, stub: bytes | Gathered) -> None:
        """Queue the response, in fragments of at most the negotiated size (C706 12.6.4.10),
        signed or sealed as the call was (MS-RPCE 3.3.1.5.2.2)."""
        if call.security.level >= AuthLevel.PKT_INTEGRITY:
            self._respond_protected(call, bytes(stub))
            return
        room = self._stub_room
        total = len(stub)
        if total <= room:
            self._outgoing.append(pack_response_head(SINGLE_RESPONSE, 24 + total, 0, call.call_id,
                                                     total, call.context_id, 0) + stub)
            return
        out = self._outgoing  # headers and views of the stub: its bytes are not copied
        for start, size, pieces in cut(stub, room):
            flags = (PFC_FIRST_FRAG if start == 0 else 0) | (
                PFC_LAST_FRAG if start + room >= total else 0)
            out.append(pack_response_head(RESPONSE_LEADING[flags], 24 + size, 0,
                                          call.call_id, total - start, call.context_id, 0))
            out += pieces

    def _respond_protected(self, call: CallReceived, stub: bytes) -> None:
        context = self._security.get(call.security.context_id)
        if context is None or not context.complete:
            # Replaced by a new handshake on the same auth_context_id while the call ran.
            self._queue_fault(call.call_id, call.context_id, NCA_S_FAULT_ACCESS_DENIED)
            return
        call_id, context_id = call.call_id, call.context_id

        def head(flags: int, frag_length: int, alloc_hint: int) -> bytes:
            return pack_response_head(RESPONSE_LEADING[flags], frag_length, TOKEN_SIZE, call_id,
                                      alloc_hint, context_id, 0)

        try:
            self._outgoing.extend(context.fragments(head, 24, stub, self.max_xmit_frag))
        except NtlmError as exc:  # the context cannot sign any more (sequence exhausted)
            self._fatal(call_id, f"cannot protect the response: {exc}")

    def fault(self, call: CallReceived, status: int, did_not_execute: bool = False) -> None:
        """Queue the fault PDU answering a call (C706 12.6.4.7)."""
        flags = PFC_SINGLE | (PFC_DID_NOT_EXECUTE if did_not_execute else 0)
        self._outgoing.append(encode_fault(call.call_id, call.context_id, status, flags))

    def _queue_fault(self, call_id: int, context_id: int, status: int) -> None:
        """A fault the protocol sends by itself; no operation ran."""
        self._outgoing.append(encode_fault(call_id, context_id, status,
                                           PFC_SINGLE | PFC_DID_NOT_EXECUTE))

    def _fatal(self, call_id: int, why: str) -> None:
        """A protocol error: fault nca_s_proto_error (MS-RPCE 3.3.3.5.7), then close."""
        log.info("protocol error from %s: %s", self.connection and self.connection.peer, why)
        self._queue_fault(call_id, 0, NCA_S_PROTO_ERROR)
        self._leave(_CLOSING)

    # -- requests ----------------------------------------------------------------------------
    def _on_request(self, header: Header, frame: bytes) -> CallReceived | None:
        if self.state is not _BOUND:
            self._fatal(header.call_id, "request before bind")
            return None
        if header.frag_length > self.max_recv_frag:
            self._fatal(header.call_id, f"fragment of {header.frag_length} bytes exceeds "
                                        f"the negotiated {self.max_recv_frag}")
            return None
        flags = header.flags
        call_id = header.call_id
        try:
            # A fragment of a longer call keeps its stub in the frame (a view), so that
            # reassembly copies each byte once.
            pdu = decode_pdu(frame, header, view=flags & PFC_SINGLE != PFC_SINGLE)
        except PduError as exc:
            self._fatal(call_id, str(exc))
            return None
        assert isinstance(pdu, Request)
        context_id, opnum, stub, obj, auth = (pdu.context_id, pdu.opnum, pdu.stub, pdu.object,
                                              pdu.auth)
        if auth is None:
            security = self._implicit_security()
        else:
            try:
                stub, security = self._unprotect(
                    frame, 40 if flags & PFC_OBJECT_UUID else 24, auth.auth_type,
                    auth.auth_level, auth.pad_length, auth.context_id, auth.token)
            except SecurityError as exc:
                self._refuse_request(call_id, context_id, exc)
                return None

        if flags & PFC_FIRST_FRAG:
            if self._partial is not None:
                self._fatal(call_id, f"call {call_id} began before call "
                                     f"{self._partial.call_id} was complete")
                return None
            if call_id > _MAX_CALL_ID:
                self._fatal(call_id, f"call_id 0x{call_id:x} above 0x7FFFFFFF (MS-RPCE <123>)")
                return None
            self._last_call_id = call_id
            interface = self._contexts.get(context_id)
            if interface is None:
                self._queue_fault(call_id, context_id, NCA_S_UNK_IF)
            if flags & PFC_LAST_FRAG:
                if interface is None:
                    return None
                return self._complete(call_id, context_id, interface, opnum, obj, stub, security)
            data = bytearray()
            if interface is not None:
                data = self._spare = stub_buffer(
                    self._spare, min(pdu.alloc_hint, self._limits.max_request_size))
            self._partial = _PartialCall(call_id, context_id, interface, opnum, obj, security, data)
            return self._add_fragment(self._partial, stub, last=False)

        partial = self._partial
        if partial is None or partial.call_id != call_id:
            last = self._last_call_id
            if partial is None and last is not None and 0 <= last - call_id < _OLD_CALL_WINDOW:
                return None  # a straggler of a call already answered (MS-RPCE 3.3.3.5.6)
            self._fatal(call_id, f"fragment of call {call_id} with no call in progress")
            return None
        if security != partial.security:
            self._fatal(call_id, f"fragments of call {call_id} under different security")
            return None
        return self._add_fragment(partial, stub, last=bool(flags & PFC_LAST_FRAG))

    def _add_fragment(self, partial: _PartialCall, stub: bytes, last: bool) -> CallReceived | None:
        if not partial.rejected:
            size = partial.size + len(stub)
            if size > self._limits.max_request_size:
                # MS-RPCE 3.3.3.5.4 and 3.3.3.5.8: fault at once, drop the rest of the call.
                self._queue_fault(partial.call_id, partial.context_id, NCA_S_FAULT_ACCESS_DENIED)
                partial.rejected = True
                partial.data = bytearray()
            else:
                partial.data[partial.size:size] = stub  # grows data past a short alloc_hint
                partial.size = size
        if not last:
            return None
        return self._finish(partial)

    def _finish(self, partial: _PartialCall) -> CallReceived | None:
        """The call whose last fragment was read."""
        self._partial = None
        if partial.rejected:
            return None
        assert partial.interface is not None
        stub = partial.data
        if len(stub) > partial.size:  # the alloc_hint promised more than came
            del stub[partial.size:]
        if len(stub) > SPARE_MAX:
            self._spare = None
        return self._complete(partial.call_id, partial.context_id, partial.interface,
                              partial.opnum, partial.object, stub, partial.security)

    def _complete(self, call_id: int, context_id: int, interface: Interface, opnum: int,
                  obj: uuid.UUID | None, stub: bytes, security: CallSecurity
                  ) -> CallReceived | None:
        if self._checked and opnum not in interface.open_opnums:
            if security.level < self._min_level:
                why = f"authentication level {security.level}, the server requires " \
                      f"{self._min_level}"
            elif self._authorize is not None and not self._authorize(security):
                why = f"{security.principal or 'an anonymous caller'} has no access"
            else:
                why = None
            if why is not None:
                log.info("call to %s opnum %d from %s refused: %s",
                         interface.name or interface.syntax, opnum,
                         self.connection and self.connection.peer, why)
                self._queue_fault(call_id, context_id, NCA_S_FAULT_ACCESS_DENIED)
                return None
        trailer = None
        if len(stub) >= 12:
            stub, trailer = split_verification_trailer(stub)
            if trailer is not None and trailer.has_unknown_must_process:
                # MS-RPCE 2.2.2.13
                self._queue_fault(call_id, context_id, NCA_S_FAULT_ACCESS_DENIED)
                return None
        return CallReceived(call_id, context_id, interface, opnum, obj, stub, self.connection,
                            security, trailer)

    def _signed_call(self, data: bytes, plain: bool, call_id: int, context_id: int,
                     interface: Interface, opnum: int) -> CallReceived | None | object:
        """The hot path of a signed or sealed call: one whole request of one fragment, read
        as the general path reads it (``decode_pdu``, then ``_unprotect``). _GENERAL when its
        auth padding runs past its body: the general path then says what is wrong."""
        body_start = 24 if plain else 40
        trailer_at = len(data) - TOKEN_SIZE - SEC_TRAILER.size
        auth_type, level, pad, _, auth_context = SEC_TRAILER.unpack_from(data, trailer_at)
        if trailer_at - pad < body_start:
            return _GENERAL
        try:
            stub, security = self._unprotect(data, body_start, auth_type, level, pad,
                                             auth_context, data[trailer_at + SEC_TRAILER.size:])
        except SecurityError as exc:
            self._refuse_request(call_id, context_id, exc)
            return None
        self._last_call_id = call_id
        obj = None if plain else guid_from_bytes(data[24:40])
        return self._complete(call_id, context_id, interface, opnum, obj, stub, security)

    def _refuse_request(self, call_id: int, context_id: int, exc: SecurityError) -> None:
        """A request that failed its security check: access denied, and the connection closed,
        since the context's key stream is out of step with the peer's for good."""
        log.info("request from %s refused: %s", self.connection and self.connection.peer, exc)
        self._queue_fault(call_id, context_id, NCA_S_FAULT_ACCESS_DENIED)
        self._leave(_CLOSING)

    def _implicit_security(self) -> CallSecurity:
        """A request without a verifier: at CONNECT level the connection's one context speaks
        for it (MS-RPCE 3.3.1.5.4); otherwise it is unauthenticated."""
        if len(self._security) == 1:
            (context,) = self._security.values()
            if context.complete and context.level == AuthLevel.CONNECT:
                return context.call_security()
        return UNAUTHENTICATED

    def _unprotect(self, frame: bytes, body_start: int, auth_type: int, auth_level: int,
                   pad: int, auth_context: int, token: bytes) -> tuple[bytes, CallSecurity]:
        """The stub of a request fragment that carries a verifier (its sec_trailer's fields
        and token), checked and unsealed as its security context requires (MS-RPCE
        3.3.1.5.2.2), and who sent it. SecurityError if it does not pass."""
        context = self._security.get(auth_context)
        if context is None or auth_type != context.auth_type:
            raise SecurityError(f"no security context {auth_context} of auth type "
                                f"{auth_type} on this connection")
        if context.failed or not context.complete:
            raise SecurityError(f"security context {auth_context} is not established")
        if context.protects:
            stub = context.unprotect(frame, body_start, auth_level, pad, token)
        elif effective_level(auth_level) != context.level:
            raise SecurityError(f"a PDU at level {auth_level} on a context at {context.level}")
        else:  # CONNECT: the verifier names the context and protects nothing
            stub = bytes(frame[body_start:len(frame) - len(token) - SEC_TRAILER.size - pad])
        return stub, context.call_security()

    # -- security handshakes (MS-RPCE 3.3.1.5.2.1) -------------------------------------------
    def _handshake(self, verifier: AuthVerifier, is_bind: bool) -> AuthVerifier | None:
        """Take the security part of a bind or alter_context: a NEGOTIATE starts a context on
        its auth_context_id (replacing one there, as impacket's bind to a new interface on an
        open connection expects), answered by the CHALLENGE; an AUTHENTICATE in an
        alter_context finishes one; a verifier naming an established context reuses it.
        Returns the verifier of the answer, or None. _Refused when it cannot be taken."""
        assert self._auth is not None
        token = verifier.token
        try:
            kind = message_type(token)
        except NtlmError:  # not NTLM: neither leg, below
            kind = None
        existing = self._security.get(verifier.context_id)
        if kind == NEGOTIATE_MESSAGE_TYPE:
            level = effective_level(verifier.auth_level)
            if level < AuthLevel.CONNECT:
                raise _Refused(f"authentication level {verifier.auth_level} with a verifier")
            if existing is None and len(self._security) >= self._auth.max_contexts:
                raise _Refused(f"more than {self._auth.max_contexts} security contexts")
            acceptor = self._auth.acceptor()
            try:
                challenge = acceptor.accept_negotiate(token)
            except NtlmError as exc:
                raise _Refused(f"NEGOTIATE refused: {exc}") from None
            self._security[verifier.context_id] = SecurityContext(
                verifier.auth_type, level, verifier.context_id, acceptor)
            self._plain = False
            return AuthVerifier(verifier.auth_type, level, verifier.context_id, challenge)
        if existing is not None and existing.complete:
            return None  # an alter_context on an established context (node-dcom's)
        if kind == AUTHENTICATE_MESSAGE_TYPE and existing is not None and not is_bind:
            self._authenticate(existing, token)
            if existing.failed:
                raise _Refused("authentication failed")
            return None
        raise _Refused(f"no security context {verifier.context_id} to continue")

    def _authenticate(self, context: SecurityContext, token: bytes) -> None:
        """The AUTHENTICATE, the third leg: the context is established or failed."""
        try:
            session = context.handshake.accept_authenticate(token)
            if not granted(context, session):
                raise NtlmError(f"the AUTHENTICATE does not agree to the signing or sealing "
                                f"that level {context.level} needs")
        except NtlmError as exc:
            context.failed = True
            log.warning("authentication from %s failed: %s",
                        self.connection and self.connection.peer, exc)
            return
        context.session = session
        identity = context.session.identity
        log.info("%s authenticated as %s\\%s at level %d",
                 self.connection and self.connection.peer, identity.domain if identity else "",
                 identity.user if identity else "", context.level)

    def _on_auth3(self, header: Header, frame: bytes) -> None:
        """rpc_auth_3 (MS-RPCE 2.2.2.10) carries the last leg and is never answered: a failure
        shows when a request on the context is refused."""
        try:
            pdu = decode_pdu(frame, header)
        except PduError as exc:
            self._fatal(header.call_id, f"malformed auth3: {exc}")
            return
        assert isinstance(pdu, Auth3)
        auth = pdu.auth
        context = self._security.get(auth.context_id) if auth is not None else None
        if context is None or context.complete or context.failed:
            log.info("auth3 from %s for no security context in progress",
                     self.connection and self.connection.peer)
            return
        self._authenticate(context, auth.token)

    # -- bind and alter_context --------------------------------------------------------------
    def _refuse_security(self, pdu: Bind, is_bind: bool, first: bool, reason: int,
                         status: int, why: str) -> None:
        """A bind's or alter_context's security refused: a bind_nak for ``reason`` (closing a
        connection whose first bind it was), or for an alter_context a fault ``status``, the
        contexts negotiated before staying (MS-RPCE 3.3.3.5.3, 3.3.1.5.2.1)."""
        if is_bind:
            self._nak(pdu.call_id, reason, why, fatal=first)
            return
        log.info("alter_context from %s refused: %s", self.connection and self.connection.peer,
                 why)
        self._queue_fault(pdu.call_id, 0, status)

    def _on_bind(self, header: Header, frame: bytes) -> None:
        """Answer a bind with bind_ack or bind_nak (C706 12.6.4.3-5) and an alter_context with
        alter_context_resp or, when it cannot be taken at all, a fault (C706 12.6.4.1-2;
        MS-RPCE 3.3.1.5.2.1): bind_nak answers binds only."""
        is_bind = header.ptype == PTYPE.BIND
        try:
            pdu = decode_pdu(frame, header)
        except PduError as exc:
            if is_bind:
                self._nak(header.call_id, BindNakReason.NOT_SPECIFIED, f"malformed bind: {exc}")
            else:
                self._fatal(header.call_id, f"malformed alter_context: {exc}")
            return
        assert isinstance(pdu, Bind)
        first = self.state is _AWAITING_BIND
        if first and not is_bind:
            self._fatal(pdu.call_id, "alter_context before bind")
            return
        if pdu.auth is not None and pdu.auth.auth_type not in self._auth_types:
            # MS-RPCE 3.3.3.5.3: an unknown security provider is refused in a bind_nak or, for
            # an alter_context, in a fault; the contexts negotiated before it stay.
            self._refuse_security(pdu, is_bind, first,
                                  BindNakReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED,
                                  RPC_S_UNKNOWN_AUTHN_TYPE,
                                  f"auth type {pdu.auth.auth_type} not offered")
            return
        if first and pdu.max_recv_frag < MIN_MAX_RECV_FRAG:
            self._nak(pdu.call_id, BindNakReason.LOCAL_LIMIT_EXCEEDED,
                      f"client receives fragments of only {pdu.max_recv_frag} bytes")
            return
        reply_auth = None
        if pdu.auth is not None:
            try:
                reply_auth = self._handshake(pdu.auth, is_bind)
            except _Refused as exc:
                self._refuse_security(pdu, is_bind, first,
                                      BindNakReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED if first
                                      else BindNakReason.NOT_SPECIFIED,
                                      NCA_S_FAULT_ACCESS_DENIED, str(exc))
                return
        # A bind on a bound connection (impacket's way to another interface) may give a context
        # id a new interface; an alter_context may not (C706 12.6.4.1).
        results, accepted, features = self._negotiate(pdu.contexts, rebind=is_bind)
        if is_bind and any(r.reason == ProviderReason.LOCAL_LIMIT_EXCEEDED
                           and r.result == Result.PROVIDER_REJECTION for r in results):
            # MS-RPCE 3.3.3.5.5 names bind_nak for this; an alter_context keeps the contexts
            # that fit and says of each other one why in its result (C706 12.6.4.2).
            self._nak(pdu.call_id, BindNakReason.LOCAL_LIMIT_EXCEEDED,
                      "too many presentation contexts (MS-RPCE 3.3.3.5.5)", fatal=False)
            return
        if first:
            host = self.connection.peer[0] if self.connection else ""
            if pdu.assoc_group_id:
                if not self._groups.join(pdu.assoc_group_id, host):
                    self._nak(pdu.call_id, BindNakReason.NOT_SPECIFIED,
                              f"no association group 0x{pdu.assoc_group_id:x} for {host}")
                    return
                self.assoc_group_id = pdu.assoc_group_id
            else:
                self.assoc_group_id = self._groups.create(host)
            self.max_xmit_frag = min(pdu.max_recv_frag, self._limits.max_xmit_frag)
            self._stub_room = (self.max_xmit_frag - 24) & ~7
            self.state = _BOUND
        self._contexts.update(accepted)
        if features is not None:
            self.features = features
        # Answer each side's limit with the smaller of the two, as Windows does; fragments up
        # to our own limit are still accepted.
        max_recv = min(pdu.max_xmit_frag, self._limits.max_recv_frag) or self._limits.max_recv_frag
        reply_cls = BindAck if is_bind else AlterContextResp
        # Header signing is agreed when the client offers it and this server authenticates
        # (MS-RPCE 3.3.1.5.2.2); NTLM signs the whole PDU either way.
        flags = PFC_SINGLE | (pdu.flags & PFC_SUPPORT_HEADER_SIGN if self._auth else 0)
        reply = reply_cls(pdu.call_id, tuple(results), self.max_xmit_frag, max_recv,
                          self.assoc_group_id, self.port_spec if is_bind else b"", flags,
                          reply_auth)
        self._outgoing.append(reply.encode())

    def _negotiate(self, elements: tuple[ContextElement, ...], rebind: bool = False
                   ) -> tuple[list[ContextResult], dict[int, Interface], int | None]:
        """One result per offered context, in order (MS-RPCE 3.3.1.5.3, 3.3.1.5.6), the
        contexts to add, and the features agreed if the offer negotiated any. Nothing changes
        until the caller commits them.

        A context id not negotiated before counts against the limit, the smaller of
        max_contexts and 4000 per served interface (MS-RPCE 3.3.3.5.5); past it a context is
        refused with provider reason local_limit_exceeded (C706 12.6.3.1)."""
        accepted: dict[int, Interface] = {}
        results = []
        features = None
        room = None  # contexts that may still be added, computed on the first new one
        for element in elements:
            syntaxes = element.transfer_syntaxes
            offered = bind_time_features(syntaxes[0]) if len(syntaxes) == 1 else None
            if offered is not None:
                features = offered & SUPPORTED_FEATURES
                results.append(ContextResult(Result.NEGOTIATE_ACK, features, NULL_SYNTAX))
                continue
            interface = self._lookup(element.abstract_syntax)
            if interface is None:
                results.append(ContextResult(Result.PROVIDER_REJECTION,
                                             ProviderReason.ABSTRACT_SYNTAX_NOT_SUPPORTED,
                                             NULL_SYNTAX))
                continue
            context_id = element.context_id
            existing = self._contexts.get(context_id, accepted.get(context_id))
            if NDR_SYNTAX not in syntaxes or (
                    existing is not None and existing.syntax != interface.syntax and not rebind):
                results.append(ContextResult(Result.PROVIDER_REJECTION,
                                             ProviderReason.PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED,
                                             NULL_SYNTAX))
                continue
            if existing is None:
                if room is None:
                    limit = min(self._limits.max_contexts,
                                4000 * max(1, self._interface_count()))
                    room = limit - len(self._contexts)
                if room <= 0:
                    results.append(ContextResult(Result.PROVIDER_REJECTION,
                                                 ProviderReason.LOCAL_LIMIT_EXCEEDED, NULL_SYNTAX))
                    continue
                room -= 1
            accepted[context_id] = interface
            results.append(ContextResult(Result.ACCEPTANCE, 0, NDR_SYNTAX))
        return results, accepted, features

    def _nak(self, call_id: int, reason: int, why: str, fatal: bool = True) -> None:
        """Refuse a bind (C706 12.6.4.5); a fatal refusal closes the connection."""
        log.info("bind_nak to %s: %s", self.connection and self.connection.peer, why)
        self._outgoing.append(BindNak(call_id, reason).encode())
        if fatal:
            self._leave(_CLOSING)


__all__ = ["AssociationGroups", "ServerConnection", "ServerLimits", "ServerState",
           "SUPPORTED_FEATURES"]
