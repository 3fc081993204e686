"""The PDUs of connection-oriented DCE/RPC: one class per type, each with encode and decode.

Layouts are those of C706 12.6.3-12.6.4 as MS-RPCE 2.2.2 restates and extends them. Every PDU
starts with the 16-byte common header; an authenticated PDU ends with auth padding, the 8-byte
sec_trailer (MS-RPCE 2.2.2.11) and the auth token. This module knows bytes only.

Decoding reads the header in the sender's byte order (C706 14.1: receiver makes it right) so that a
big-endian peer can be framed and refused politely; bodies are decoded for little-endian senders
only, which is every DCOM implementation.

Requests, responses and faults are what every call sends, so each has one struct for its whole head
(the common header and its own fields), and every reader and writer of that head goes through it:
the PDU classes, ``decode_pdu`` and the hot paths of both connection machines. Those hot paths take
only the one form a call usually has (``SINGLE_REQUEST``, ``SINGLE_OBJECT_REQUEST``,
``SINGLE_RESPONSE``), and leave every other one to ``decode_pdu``.
"""

from __future__ import annotations

import struct
import uuid
from typing import ClassVar

from pydcom.guid import guid_from_bytes, guid_to_bytes
from pydcom.memo import Memo
from pydcom.rpc.constants import (
    DREP_LE,
    PFC_OBJECT_UUID,
    PFC_SINGLE,
    PTYPE,
    RPC_VERS,
    RPC_VERS_MINOR,
    SyntaxId,
)

HEADER_SIZE = 16
SEC_TRAILER_SIZE = 8

_HEADER_LE = struct.Struct("<BBBB4sHHI")
_HEADER_BE = struct.Struct(">BBBB4sHHI")
# The heads of the three call PDUs, one struct each. The common header (C706 12.6.3.1) comes
# first: its leading 8 bytes (rpc_vers, rpc_vers_minor, PTYPE, pfc_flags, drep) as one field, since
# pydcom writes them in one form, version 5.0 with the little-endian, ASCII, IEEE drep (the
# *_LEADING tables below, by pfc_flags), and the hot paths recognize that form in one comparison;
# then frag_length, auth_length, call_id; then each PDU's own fields:
REQUEST_HEAD = struct.Struct("<8sHHIIHH")  # alloc_hint, p_cont_id, opnum (C706 12.6.4.9)
# alloc_hint, p_cont_id, cancel_count, reserved (C706 12.6.4.10)
RESPONSE_HEAD = struct.Struct("<8sHHIIHBx")
# alloc_hint, p_cont_id, cancel_count, reserved, status, reserved2 (C706 12.6.4.7; MS-RPCE 2.2.2.8)
FAULT_HEAD = struct.Struct("<8sHHIIHBBII")
# The readers and writers, bound once: they run for every call, where a method lookup shows.
# pack_request_head(REQUEST_LEADING[pfc_flags], frag_length, auth_length, call_id, alloc_hint,
# p_cont_id, opnum); with PFC_OBJECT_UUID the object UUID follows the head (C706 12.6.4.9).
pack_request_head, unpack_request_head = REQUEST_HEAD.pack, REQUEST_HEAD.unpack_from
# pack_response_head(RESPONSE_LEADING[pfc_flags], frag_length, auth_length, call_id, alloc_hint,
# p_cont_id, cancel_count)
pack_response_head, unpack_response_head = RESPONSE_HEAD.pack, RESPONSE_HEAD.unpack_from


def _leading_bytes(ptype: int) -> tuple[bytes, ...]:
    """The leading 8 bytes pydcom writes for a PDU type, by pfc_flags (0-255)."""
    return tuple(bytes((RPC_VERS, RPC_VERS_MINOR, ptype, flags)) + DREP_LE for flags in range(256))


REQUEST_LEADING = _leading_bytes(PTYPE.REQUEST)
RESPONSE_LEADING = _leading_bytes(PTYPE.RESPONSE)
FAULT_LEADING = _leading_bytes(PTYPE.FAULT)
# The form nearly every call takes: one fragment, without or (ORPC) with an object UUID.
SINGLE_REQUEST = REQUEST_LEADING[PFC_SINGLE]
SINGLE_OBJECT_REQUEST = REQUEST_LEADING[PFC_SINGLE | PFC_OBJECT_UUID]
SINGLE_RESPONSE = RESPONSE_LEADING[PFC_SINGLE]
SEC_TRAILER = struct.Struct("<BBBBI")  # auth_type, auth_level, pad, reserved, context id (MS-RPCE 2.2.2.11)
_BIND_FIXED = struct.Struct("<HHIB3x")  # max_xmit, max_recv, assoc_group, n_context_elem
_ACK_FIXED = struct.Struct("<HHIH")  # max_xmit, max_recv, assoc_group, sec_addr length
_CONTEXT_ELEM = struct.Struct("<HBx")  # p_cont_id, n_transfer_syn, reserved
_SYNTAX = struct.Struct("<16sI")  # if_uuid, if_version (major low 16 bits, minor high)
_U16 = struct.Struct("<H")
_RESULT = struct.Struct("<HH")  # result, reason of a p_result_t


class PduError(ValueError):
    """A PDU that cannot be decoded, with what is known of it for the reply."""

    def __init__(self, message: str, ptype: int | None = None, call_id: int = 0) -> None:
        super().__init__(message)
        self.ptype = ptype
        self.call_id = call_id


class Header:
    """The common header (C706 12.6.3.1; MS-RPCE 2.2.2.1)."""

    __slots__ = ("ptype", "flags", "drep", "frag_length", "auth_length", "call_id", "minor")

    def __init__(self, ptype: int, flags: int, drep: bytes, frag_length: int, auth_length: int,
                 call_id: int, minor: int = 0) -> None:
        self.ptype = ptype
        self.flags = flags
        self.drep = drep
        self.frag_length = frag_length
        self.auth_length = auth_length
        self.call_id = call_id
        self.minor = minor

    @property
    def little_endian(self) -> bool:
        return self.drep[0] & 0xF0 == 0x10


def peek_header(data: bytes | bytearray | memoryview, offset: int = 0) -> Header:
    """Read the 16-byte common header at ``offset`` (caller ensures 16 bytes are there)."""
    little = data[offset + 4] & 0xF0 == 0x10
    vers, minor, ptype, flags, drep, frag_len, auth_len, call_id = (
        _HEADER_LE if little else _HEADER_BE).unpack_from(data, offset)
    if vers != RPC_VERS or minor > 1:
        raise PduError(f"unsupported protocol version {vers}.{minor}", ptype, call_id)
    if frag_len < HEADER_SIZE:
        raise PduError(f"frag_length {frag_len} shorter than the header", ptype, call_id)
    return Header(ptype, flags, bytes(drep), frag_len, auth_len, call_id, minor)


class AuthVerifier:
    """sec_trailer plus auth token (MS-RPCE 2.2.2.11, 2.2.2.12)."""

    __slots__ = ("auth_type", "auth_level", "pad_length", "context_id", "token")

    def __init__(self, auth_type: int, auth_level: int, context_id: int = 0, token: bytes = b"",
                 pad_length: int = 0) -> None:
        self.auth_type = auth_type
        self.auth_level = auth_level
        self.context_id = context_id
        self.token = token
        self.pad_length = pad_length

    def __eq__(self, other: object) -> bool:  # pad_length is derived from the PDU's layout
        return isinstance(other, AuthVerifier) and (
            self.auth_type, self.auth_level, self.context_id, self.token) == (
            other.auth_type, other.auth_level, other.context_id, other.token)

    def __repr__(self) -> str:
        return (f"AuthVerifier(type={self.auth_type}, level={self.auth_level}, "
                f"context={self.context_id}, token={len(self.token)} bytes)")


class ContextElement:
    """p_cont_elem_t: a presentation context offered in bind/alter_context (C706 12.6.3.1)."""

    __slots__ = ("context_id", "abstract_syntax", "transfer_syntaxes")

    def __init__(self, context_id: int, abstract_syntax: SyntaxId,
                 transfer_syntaxes: tuple[SyntaxId, ...]) -> None:
        self.context_id = context_id
        self.abstract_syntax = abstract_syntax
        self.transfer_syntaxes = tuple(transfer_syntaxes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ContextElement) and (
            self.context_id, self.abstract_syntax, self.transfer_syntaxes) == (
            other.context_id, other.abstract_syntax, other.transfer_syntaxes)

    def __repr__(self) -> str:
        return (f"ContextElement({self.context_id}, {self.abstract_syntax}, "
                f"{[str(s) for s in self.transfer_syntaxes]})")


class ContextResult:
    """p_result_t: the answer to one presentation context (C706 12.6.3.1; MS-RPCE 2.2.2.4)."""

    __slots__ = ("result", "reason", "transfer_syntax")

    def __init__(self, result: int, reason: int, transfer_syntax: SyntaxId) -> None:
        self.result = result
        self.reason = reason
        self.transfer_syntax = transfer_syntax

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ContextResult) and (
            self.result, self.reason, self.transfer_syntax) == (
            other.result, other.reason, other.transfer_syntax)

    def __repr__(self) -> str:
        return f"ContextResult({self.result}, {self.reason}, {self.transfer_syntax})"


# Binds name the same few syntaxes over and over, and building a uuid.UUID costs microseconds:
# both directions are memoized, up to a bound a peer sending random UUIDs cannot push past.
_packed_syntaxes = Memo(4096)  # SyntaxId -> 20 bytes
_unpacked_syntaxes = Memo(4096)  # 20 bytes -> SyntaxId
_decoded_binds = Memo(256)  # bind body -> (max_xmit, max_recv, assoc_group, contexts)
_decoded_results = Memo(256)  # bind_ack p_result_list -> ContextResults


def _pack_syntax(syntax: SyntaxId) -> bytes:
    raw = _packed_syntaxes.get(syntax)
    if raw is None:
        raw = _packed_syntaxes.keep(syntax, _SYNTAX.pack(
            guid_to_bytes(syntax.uuid), (syntax.major & 0xFFFF) | (syntax.minor & 0xFFFF) << 16))
    return raw


def _unpack_syntax(data: bytes, offset: int) -> SyntaxId:
    raw = bytes(data[offset:offset + 20])
    syntax = _unpacked_syntaxes.get(raw)
    if syntax is None:
        uuid_bytes, version = _SYNTAX.unpack(raw)
        syntax = _unpacked_syntaxes.keep(raw, SyntaxId(guid_from_bytes(uuid_bytes),
                                                        version & 0xFFFF, version >> 16))
    return syntax


class Pdu:
    """Fields every PDU has: pfc_flags, call_id and an optional auth verifier."""

    __slots__ = ("flags", "call_id", "auth")
    ptype: ClassVar[int]

    def __init__(self, flags: int = PFC_SINGLE, call_id: int = 0,
                 auth: AuthVerifier | None = None) -> None:
        self.flags = flags
        self.call_id = call_id
        self.auth = auth

    # -- encoding --------------------------------------------------------------------------
    def _fixed(self) -> bytes:
        """The body after the common header."""
        return b""

    def encode(self) -> bytes:
        """The common header, the body and, with auth, the sec_trailer 4-aligned from the start
        of the PDU (C706 12.6.3.1) and the token; requests, responses and faults encode
        themselves (``_encode_call_pdu``)."""
        fixed, auth = self._fixed(), self.auth
        if auth is None:
            return _HEADER_LE.pack(RPC_VERS, RPC_VERS_MINOR, self.ptype, self.flags, DREP_LE,
                                   HEADER_SIZE + len(fixed), 0, self.call_id) + fixed
        pad = -(HEADER_SIZE + len(fixed)) % 4
        trailer = SEC_TRAILER.pack(auth.auth_type, auth.auth_level, pad, 0, auth.context_id)
        frag_len = HEADER_SIZE + len(fixed) + pad + SEC_TRAILER_SIZE + len(auth.token)
        return b"".join((_HEADER_LE.pack(RPC_VERS, RPC_VERS_MINOR, self.ptype, self.flags, DREP_LE,
                                         frag_len, len(auth.token), self.call_id),
                         fixed, bytes(pad), trailer, auth.token))

    # -- decoding --------------------------------------------------------------------------
    @classmethod
    def _decode(cls, header: Header, frame: bytes, view: bool) -> "Pdu":
        """Build the PDU from a whole little-endian fragment of its type (``decode_pdu``)."""
        body_end, auth = split_auth(header, frame, HEADER_SIZE)
        try:
            pdu = cls._decode_body(header, frame[HEADER_SIZE:body_end])
        except struct.error as exc:  # a fixed part cut short: same meaning as a length check
            raise PduError(f"{cls.__name__} PDU truncated: {exc}", header.ptype,
                           header.call_id) from None
        pdu.flags = header.flags
        pdu.call_id = header.call_id
        pdu.auth = auth
        return pdu

    @classmethod
    def _decode_body(cls, header: Header, body: bytes) -> "Pdu":
        """Build the PDU from the bytes between the common header and the auth padding; a PDU
        with no fields of its own (auth3, shutdown, co_cancel, orphaned) has nothing to read."""
        return cls(header.flags, header.call_id)

    def _common_eq(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, n) == getattr(other, n) for n in _all_slots(type(self)))

    def __eq__(self, other: object) -> bool:
        return self._common_eq(other)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _all_slots(type(self))
                           if n not in ("stub",))
        stub = getattr(self, "stub", None)
        extra = f", stub={len(stub)} bytes" if stub is not None else ""
        return f"{type(self).__name__}({fields}{extra})"


def _all_slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        names.extend(getattr(klass, "__slots__", ()))
    return names


class Request(Pdu):
    """request PDU (C706 12.6.4.9): the object UUID is present when PFC_OBJECT_UUID is set;
    DCOM puts the IPID there (MS-DCOM 2.1)."""

    __slots__ = ("alloc_hint", "context_id", "opnum", "object", "stub")
    ptype = PTYPE.REQUEST

    def __init__(self, call_id: int = 0, context_id: int = 0, opnum: int = 0, stub: bytes = b"",
                 object: uuid.UUID | None = None, flags: int = PFC_SINGLE,
                 alloc_hint: int | None = None, auth: AuthVerifier | None = None) -> None:
        flags = flags | PFC_OBJECT_UUID if object is not None else flags & ~PFC_OBJECT_UUID
        super().__init__(flags, call_id, auth)
        self.context_id = context_id
        self.opnum = opnum
        self.object = object
        self.stub = stub
        self.alloc_hint = len(stub) if alloc_hint is None else alloc_hint

    def encode(self) -> bytes:
        obj = guid_to_bytes(self.object) if self.object is not None else b""
        return _encode_call_pdu(
            lambda frag_length, auth_length: pack_request_head(
                REQUEST_LEADING[self.flags], frag_length, auth_length, self.call_id,
                self.alloc_hint, self.context_id, self.opnum) + obj,
            REQUEST_HEAD.size + len(obj), self.stub, self.auth)

    @classmethod
    def _decode(cls, header: Header, frame: bytes, view: bool) -> "Request":
        body_end, auth = split_auth(header, frame, HEADER_SIZE)
        start = REQUEST_HEAD.size + 16 if header.flags & PFC_OBJECT_UUID else REQUEST_HEAD.size
        if body_end < start:
            raise PduError("request PDU shorter than its header", header.ptype, header.call_id)
        alloc_hint, context_id, opnum = unpack_request_head(frame)[4:]
        obj = guid_from_bytes(frame[24:40]) if start == 40 else None
        stub = memoryview(frame)[start:body_end] if view else frame[start:body_end]
        return cls(header.call_id, context_id, opnum, stub, obj, header.flags, alloc_hint, auth)


class Response(Pdu):
    """response PDU (C706 12.6.4.10)."""

    __slots__ = ("alloc_hint", "context_id", "cancel_count", "stub")
    ptype = PTYPE.RESPONSE

    def __init__(self, call_id: int = 0, context_id: int = 0, stub: bytes = b"",
                 flags: int = PFC_SINGLE, alloc_hint: int | None = None, cancel_count: int = 0,
                 auth: AuthVerifier | None = None) -> None:
        super().__init__(flags, call_id, auth)
        self.context_id = context_id
        self.stub = stub
        self.cancel_count = cancel_count
        self.alloc_hint = len(stub) if alloc_hint is None else alloc_hint

    def encode(self) -> bytes:
        return _encode_call_pdu(
            lambda frag_length, auth_length: pack_response_head(
                RESPONSE_LEADING[self.flags], frag_length, auth_length, self.call_id,
                self.alloc_hint, self.context_id, self.cancel_count),
            RESPONSE_HEAD.size, self.stub, self.auth)

    @classmethod
    def _decode(cls, header: Header, frame: bytes, view: bool) -> "Response":
        body_end, auth = split_auth(header, frame, HEADER_SIZE)
        if body_end < RESPONSE_HEAD.size:
            raise PduError("response PDU shorter than its header", header.ptype, header.call_id)
        alloc_hint, context_id, cancel_count = unpack_response_head(frame)[4:]
        stub = memoryview(frame)[24:body_end] if view else frame[24:body_end]
        return cls(header.call_id, context_id, stub, header.flags, alloc_hint, cancel_count, auth)


class Fault(Pdu):
    """fault PDU (C706 12.6.4.7; MS-RPCE 2.2.2.8). Clients ignore stub data after the status."""

    __slots__ = ("alloc_hint", "context_id", "cancel_count", "status", "reserved", "stub")
    ptype = PTYPE.FAULT

    def __init__(self, call_id: int = 0, status: int = 0, context_id: int = 0,
                 flags: int = PFC_SINGLE, cancel_count: int = 0, stub: bytes = b"",
                 alloc_hint: int = 0, reserved: int = 0, auth: AuthVerifier | None = None) -> None:
        super().__init__(flags, call_id, auth)
        self.status = status
        self.context_id = context_id
        self.cancel_count = cancel_count
        self.stub = stub
        self.alloc_hint = alloc_hint
        self.reserved = reserved

    def encode(self) -> bytes:
        return _encode_call_pdu(
            lambda frag_length, auth_length: encode_fault(
                self.call_id, self.context_id, self.status, self.flags, frag_length,
                self.alloc_hint, auth_length, self.cancel_count, self.reserved),
            FAULT_HEAD.size, self.stub, self.auth)

    @classmethod
    def _decode(cls, header: Header, frame: bytes, view: bool) -> "Fault":
        body_end, auth = split_auth(header, frame, HEADER_SIZE)
        if body_end < FAULT_HEAD.size:
            raise PduError("fault PDU shorter than its header", header.ptype, header.call_id)
        alloc_hint, context_id, cancel_count, reserved, status = FAULT_HEAD.unpack_from(frame)[4:9]
        return cls(header.call_id, status, context_id, header.flags, cancel_count,
                   frame[FAULT_HEAD.size:body_end], alloc_hint, reserved, auth)


class Bind(Pdu):
    """bind PDU (C706 12.6.4.3): several presentation contexts, each with its syntaxes."""

    __slots__ = ("max_xmit_frag", "max_recv_frag", "assoc_group_id", "contexts")
    ptype = PTYPE.BIND

    def __init__(self, call_id: int = 0, contexts: tuple[ContextElement, ...] = (),
                 max_xmit_frag: int = 5840, max_recv_frag: int = 5840, assoc_group_id: int = 0,
                 flags: int = PFC_SINGLE, auth: AuthVerifier | None = None) -> None:
        super().__init__(flags, call_id, auth)
        self.max_xmit_frag = max_xmit_frag
        self.max_recv_frag = max_recv_frag
        self.assoc_group_id = assoc_group_id
        self.contexts = tuple(contexts)

    def _fixed(self) -> bytes:
        parts = [_BIND_FIXED.pack(self.max_xmit_frag, self.max_recv_frag, self.assoc_group_id,
                                  len(self.contexts))]
        for element in self.contexts:
            parts.append(_CONTEXT_ELEM.pack(element.context_id, len(element.transfer_syntaxes)))
            parts.append(_pack_syntax(element.abstract_syntax))
            parts.extend(_pack_syntax(s) for s in element.transfer_syntaxes)
        return b"".join(parts)

    @classmethod
    def _decode_body(cls, header: Header, body: bytes) -> "Bind":
        # A client's binds repeat byte for byte after the call_id, which the header holds.
        found = _decoded_binds.get(body)
        if found is None:
            found = _decoded_binds.keep(body, cls._decode_fields(header, body), len(body))
        max_xmit, max_recv, group, contexts = found
        return cls(header.call_id, contexts, max_xmit, max_recv, group, header.flags)

    @staticmethod
    def _decode_fields(header: Header, body: bytes) -> tuple:
        if len(body) < _BIND_FIXED.size:
            raise PduError("bind PDU shorter than its header", header.ptype, header.call_id)
        max_xmit, max_recv, group, count = _BIND_FIXED.unpack_from(body)
        offset = _BIND_FIXED.size
        contexts = []
        for _ in range(count):
            if offset + 24 > len(body):
                raise PduError("presentation context list runs past the PDU",
                               header.ptype, header.call_id)
            context_id, n_syntaxes = _CONTEXT_ELEM.unpack_from(body, offset)
            end = offset + 24 + 20 * n_syntaxes
            if end > len(body):
                raise PduError("transfer syntax list runs past the PDU",
                               header.ptype, header.call_id)
            abstract = _unpack_syntax(body, offset + 4)
            syntaxes = tuple(_unpack_syntax(body, offset + 24 + 20 * i) for i in range(n_syntaxes))
            contexts.append(ContextElement(context_id, abstract, syntaxes))
            offset = end
        return max_xmit, max_recv, group, tuple(contexts)


class AlterContext(Bind):
    """alter_context PDU (C706 12.6.4.1): the bind layout on an established connection."""

    __slots__ = ()
    ptype = PTYPE.ALTER_CONTEXT


class BindAck(Pdu):
    """bind_ack PDU (C706 12.6.4.4): results are positional, one per offered context
    (MS-RPCE 3.3.1.5.3). sec_addr is the port as ASCII with its NUL, padded to 4."""

    __slots__ = ("max_xmit_frag", "max_recv_frag", "assoc_group_id", "sec_addr", "results")
    ptype = PTYPE.BIND_ACK

    def __init__(self, call_id: int = 0, results: tuple[ContextResult, ...] = (),
                 max_xmit_frag: int = 5840, max_recv_frag: int = 5840, assoc_group_id: int = 0,
                 sec_addr: bytes = b"", flags: int = PFC_SINGLE,
                 auth: AuthVerifier | None = None) -> None:
        super().__init__(flags, call_id, auth)
        self.max_xmit_frag = max_xmit_frag
        self.max_recv_frag = max_recv_frag
        self.assoc_group_id = assoc_group_id
        self.sec_addr = sec_addr
        self.results = tuple(results)

    def _fixed(self) -> bytes:
        addr = self.sec_addr + b"\x00" if self.sec_addr else b""
        head = _ACK_FIXED.pack(self.max_xmit_frag, self.max_recv_frag, self.assoc_group_id,
                               len(addr)) + addr
        head += bytes(-(HEADER_SIZE + len(head)) % 4)
        parts = [head, struct.pack("<B3x", len(self.results))]
        for r in self.results:
            parts.append(struct.pack("<HH", r.result, r.reason))
            parts.append(_pack_syntax(r.transfer_syntax))
        return b"".join(parts)

    @classmethod
    def _decode_body(cls, header: Header, body: bytes) -> "BindAck":
        if len(body) < _ACK_FIXED.size:
            raise PduError("bind_ack PDU shorter than its header", header.ptype, header.call_id)
        max_xmit, max_recv, group, addr_len = _ACK_FIXED.unpack_from(body)
        offset = _ACK_FIXED.size + addr_len
        addr = body[_ACK_FIXED.size:offset].rstrip(b"\x00")
        offset += -(HEADER_SIZE + offset) % 4
        if offset + 4 > len(body):
            raise PduError("bind_ack result list runs past the PDU", header.ptype, header.call_id)
        count = body[offset]
        offset += 4
        if offset + 24 * count > len(body):
            raise PduError("bind_ack result list runs past the PDU", header.ptype, header.call_id)
        raw = bytes(body[offset:offset + 24 * count])
        results = _decoded_results.get(raw)  # a server answers the same offer the same way
        if results is None:
            results = _decoded_results.keep(raw, tuple(
                ContextResult(*_RESULT.unpack_from(raw, i), _unpack_syntax(raw, i + 4))
                for i in range(0, len(raw), 24)), len(raw))
        return cls(header.call_id, results, max_xmit, max_recv, group, bytes(addr), header.flags)


class AlterContextResp(BindAck):
    """alter_context_resp PDU (C706 12.6.4.2): the bind_ack layout."""

    __slots__ = ()
    ptype = PTYPE.ALTER_CONTEXT_RESP


class BindNak(Pdu):
    """bind_nak PDU (C706 12.6.4.5; MS-RPCE 2.2.2.9): a reject reason and the protocol
    versions the server supports."""

    __slots__ = ("reason", "versions")
    ptype = PTYPE.BIND_NAK

    def __init__(self, call_id: int = 0, reason: int = 0,
                 versions: tuple[tuple[int, int], ...] = ((RPC_VERS, RPC_VERS_MINOR),),
                 flags: int = PFC_SINGLE) -> None:
        super().__init__(flags, call_id, None)
        self.reason = reason
        self.versions = tuple(versions)

    def _fixed(self) -> bytes:
        body = _U16.pack(self.reason) + bytes([len(self.versions)])
        body += b"".join(bytes([major, minor]) for major, minor in self.versions)
        return body + bytes(-(HEADER_SIZE + len(body)) % 4)

    @classmethod
    def _decode_body(cls, header: Header, body: bytes) -> "BindNak":
        if len(body) < 3:
            raise PduError("bind_nak PDU shorter than its body", header.ptype, header.call_id)
        reason = _U16.unpack_from(body)[0]
        count = body[2]
        if 3 + 2 * count > len(body):
            raise PduError("bind_nak version list runs past the PDU", header.ptype, header.call_id)
        versions = tuple((body[3 + 2 * i], body[4 + 2 * i]) for i in range(count))
        return cls(header.call_id, reason, versions, header.flags)


class Auth3(Pdu):
    """rpc_auth_3 PDU (MS-RPCE 2.2.2.10): 4 pad bytes, then the sec_trailer; never answered."""

    __slots__ = ()
    ptype = PTYPE.AUTH3

    def _fixed(self) -> bytes:
        return bytes(4)


class Shutdown(Pdu):
    """shutdown PDU (C706 12.6.4.11): the server asks the client to close the connection."""

    __slots__ = ()
    ptype = PTYPE.SHUTDOWN


class CoCancel(Pdu):
    """co_cancel PDU (C706 12.6.4.6): cancel the call in progress."""

    __slots__ = ()
    ptype = PTYPE.CO_CANCEL


class Orphaned(Pdu):
    """orphaned PDU (C706 12.6.4.8): the client abandons the call in progress."""

    __slots__ = ()
    ptype = PTYPE.ORPHANED


PDU_CLASSES: dict[int, type[Pdu]] = {
    cls.ptype: cls
    for cls in (Request, Response, Fault, Bind, BindAck, BindNak, AlterContext, AlterContextResp,
                Auth3, Shutdown, CoCancel, Orphaned)
}


def split_auth(header: Header, frame: bytes, body_start: int) -> tuple[int, AuthVerifier | None]:
    """Locate the sec_trailer (MS-RPCE 2.2.2.11): return where the body ends and the verifier."""
    frag_len = header.frag_length
    if not header.auth_length:
        return frag_len, None
    trailer_at = frag_len - header.auth_length - SEC_TRAILER_SIZE
    if trailer_at < body_start:
        raise PduError(f"auth_length {header.auth_length} runs past the PDU body",
                       header.ptype, header.call_id)
    auth_type, auth_level, pad, _reserved, context_id = SEC_TRAILER.unpack_from(frame, trailer_at)
    body_end = trailer_at - pad
    if body_end < body_start:
        raise PduError(f"auth_pad_length {pad} runs past the PDU body", header.ptype, header.call_id)
    token = bytes(frame[trailer_at + SEC_TRAILER_SIZE:frag_len])
    return body_end, AuthVerifier(auth_type, auth_level, context_id, token, pad)


def decode_pdu(frame: bytes, header: Header | None = None, *, view: bool = False) -> Pdu:
    """Decode one whole fragment (exactly frag_length bytes). PduError on any malformation.

    With ``view`` the stub of a request or response is a memoryview of ``frame``: fragments
    being reassembled are then copied once, when they are joined.
    """
    if header is None:
        if len(frame) < HEADER_SIZE:
            raise PduError("fragment shorter than the common header")
        header = peek_header(frame)
    if header.frag_length != len(frame):
        raise PduError(f"frag_length {header.frag_length} but {len(frame)} bytes",
                       header.ptype, header.call_id)
    cls = PDU_CLASSES.get(header.ptype)
    if cls is None:
        raise PduError(f"unknown PDU type {header.ptype}", header.ptype, header.call_id)
    if not header.little_endian:
        raise PduError("big-endian data representation is not supported",
                       header.ptype, header.call_id)
    return cls._decode(header, frame, view)


# --- writing faults, and what every call PDU has after its head ---------------------------------

def encode_fault(call_id: int, context_id: int, status: int, flags: int = PFC_SINGLE,
                 frag_length: int = FAULT_HEAD.size, alloc_hint: int = 0, auth_length: int = 0,
                 cancel_count: int = 0, reserved: int = 0) -> bytes:
    """A fault's head (C706 12.6.4.7; MS-RPCE 2.2.2.8); with the defaults, the whole 32-byte
    fault PDU a server sends, without stub or auth."""
    return FAULT_HEAD.pack(FAULT_LEADING[flags], frag_length, auth_length, call_id, alloc_hint,
                           context_id, cancel_count, reserved, status, 0)


def _encode_call_pdu(head, head_size: int, stub: bytes, auth: AuthVerifier | None) -> bytes:
    """A request, response or fault: ``head(frag_length, auth_length)``, the stub and, with auth,
    padding that aligns the sec_trailer to 16 from the start of the stub (MS-RPCE 2.2.2.11), the
    sec_trailer and the token."""
    if auth is None:
        return head(head_size + len(stub), 0) + stub
    pad = -len(stub) % 16
    trailer = SEC_TRAILER.pack(auth.auth_type, auth.auth_level, pad, 0, auth.context_id)
    frag_len = head_size + len(stub) + pad + SEC_TRAILER_SIZE + len(auth.token)
    return b"".join((head(frag_len, len(auth.token)), stub, bytes(pad), trailer, auth.token))
