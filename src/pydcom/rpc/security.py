"""DCE/RPC security: authentication levels, NTLM security contexts, and the protection of call
PDUs (MS-RPCE 2.2.1.1.7-8, 2.2.2.11-12, 3.3.1.5.2).

A security context is made by three legs carried in the sec_trailer's token: the NEGOTIATE in a
bind (or alter_context), the CHALLENGE in its bind_ack (or alter_context_resp), the AUTHENTICATE
in rpc_auth_3 (MS-RPCE 3.3.1.5.2.1). A connection may hold several, one per auth_context_id. At
PKT_INTEGRITY every request and response fragment carries a 16-byte NTLM signature; at
PKT_PRIVACY its body (stub and auth padding) is also sealed.

What is signed is the whole fragment up to the token: header, body and sec_trailer, as the
NTLM package does on Windows whether header signing (PFC_SUPPORT_HEADER_SIGN) was agreed or not,
and as impacket and scapy sign. Sealing covers the body only (MS-RPCE 3.3.1.5.2.2). Faults are
sent unprotected, as clients built against Windows expect: a fault never moves a key stream.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

from pydcom import ntlm
from pydcom.hresult import E_ACCESSDENIED
from pydcom.rpc.errors import RpcError
from pydcom.rpc.pdu import SEC_TRAILER

AUTHN_NONE = 0x00
AUTHN_GSS_NEGOTIATE = 0x09
AUTHN_WINNT = 0x0A  # NTLM (MS-RPCE 2.2.1.1.7)
TOKEN_SIZE = ntlm.SIGNATURE_SIZE
_PAD_TO = 16  # the sec_trailer 16-aligned from the start of the body (MS-RPCE 2.2.2.11)
_ZEROS = tuple(bytes(n) for n in range(_PAD_TO))
_TRAILER_AND_TOKEN = 8 + TOKEN_SIZE


class AuthLevel(enum.IntEnum):
    """RPC_C_AUTHN_LEVEL_* (MS-RPCE 2.2.1.1.8)."""

    DEFAULT = 0  # means CONNECT
    NONE = 1
    CONNECT = 2
    CALL = 3  # treated as PKT (MS-RPCE 2.2.1.1.8)
    PKT = 4
    PKT_INTEGRITY = 5
    PKT_PRIVACY = 6

    @classmethod
    def named(cls, name: str) -> "AuthLevel":
        """``none``, ``connect``, ``integrity`` or ``privacy`` (or a member's name, any case)."""
        key = name.strip().upper().replace("-", "_")
        key = {"INTEGRITY": "PKT_INTEGRITY", "PRIVACY": "PKT_PRIVACY"}.get(key, key)
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown authentication level {name!r}: "
                             "none, connect, integrity or privacy") from None

    @property
    def short_name(self) -> str:
        return self.name.lower().removeprefix("pkt_")


def effective_level(level: int) -> int:
    """DEFAULT is CONNECT; CALL and PKT sign every PDU as PKT_INTEGRITY does, as NTLM on Windows
    and Samba treat them."""
    if level == AuthLevel.DEFAULT:
        return AuthLevel.CONNECT
    if level in (AuthLevel.CALL, AuthLevel.PKT):
        return AuthLevel.PKT_INTEGRITY
    return level


@dataclass(frozen=True)
class CallSecurity:
    """Who made a call and how it was protected: what a server method learns of its caller (the
    CoGetCallContext / RpcBindingInqAuthClient role, MS-RPCE 3.3.3.4.3)."""

    level: int = AuthLevel.NONE
    auth_type: int = AUTHN_NONE
    user: str = ""
    domain: str = ""
    context_id: int = 0

    @property
    def authenticated(self) -> bool:
        return self.level >= AuthLevel.CONNECT and bool(self.user)

    @property
    def identity(self) -> str:
        """A key for what belongs to this caller: its account, or "anonymous" for every caller
        without authentication."""
        principal = self.principal
        return "account:" + principal.casefold() if principal else "anonymous"

    @property
    def principal(self) -> str:
        """``DOMAIN\\user`` as the client named itself, or "" without authentication."""
        if not self.authenticated:
            return ""
        return f"{self.domain}\\{self.user}" if self.domain else self.user


UNAUTHENTICATED = CallSecurity()


class SecurityError(RpcError):
    """A PDU or handshake failed its security check: no context, the wrong level, a peer that
    does not authenticate. A failed signature is ntlm's SignatureError instead."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(E_ACCESSDENIED, detail)


class SecurityContext:
    """One security context of a connection, named by its auth_context_id (MS-RPCE 3.3.1.5.2).

    Server side it holds the NTLM acceptor until the AUTHENTICATE, client side the initiator;
    then the session that signs and seals. Owned by the connection's thread.
    """

    __slots__ = ("auth_type", "level", "context_id", "handshake", "session", "failed",
                 "_security")

    def __init__(self, auth_type: int, level: int, context_id: int,
                 handshake: ntlm.Acceptor | ntlm.Initiator) -> None:
        self.auth_type = auth_type
        self.level = effective_level(level)
        self.context_id = context_id
        self.handshake = handshake
        self.session: ntlm.NtlmSession | None = None
        self.failed = False
        self._security: CallSecurity | None = None

    @property
    def complete(self) -> bool:
        return self.session is not None

    @property
    def protects(self) -> bool:
        """Whether every request and response carries a signature (PKT_INTEGRITY and up)."""
        return self.level >= AuthLevel.PKT_INTEGRITY

    def call_security(self) -> CallSecurity:
        """Who the context's calls come from; made once, when the session is established."""
        found = self._security
        if found is None:
            identity = self.session.identity if self.session is not None else None
            found = CallSecurity(self.level, self.auth_type, identity.user if identity else "",
                                 identity.domain if identity else "", self.context_id)
            if self.session is not None:
                self._security = found
        return found

    def trailer(self, pad: int) -> bytes:
        return SEC_TRAILER.pack(self.auth_type, self.level, pad, 0, self.context_id)

    # -- protection of call PDUs ---------------------------------------------------------------
    def fragments(self, head: Callable[[int, int, int], bytes], head_size: int, stub: bytes,
                  max_frag: int) -> list[bytes]:
        """The protected fragments of one request or response (MS-RPCE 2.2.2.11, 3.3.1.5.2.2):
        ``head(first/last flags, frag_length, alloc_hint)`` writes each fragment's head. Every
        fragment carries its own padding, sec_trailer and signature, in order of the sequence
        numbers."""
        assert self.session is not None
        room = (max_frag - head_size - SEC_TRAILER.size - TOKEN_SIZE) & ~(_PAD_TO - 1)
        if room <= 0:
            raise SecurityError(f"fragments of {max_frag} bytes leave no room for a signed body")
        total = len(stub)
        if total <= room:  # most calls: one fragment, the stub as it is
            return [self._protect(head, 0x03, head_size, stub, total)]
        out = []
        for start in range(0, total, room):
            flags = (0x01 if start == 0 else 0) | (0x02 if start + room >= total else 0)
            out.append(self._protect(head, flags, head_size, stub[start:start + room],
                                     total - start))
        return out

    def _protect(self, head: Callable[[int, int, int], bytes], flags: int, head_size: int,
                 piece: bytes, alloc_hint: int) -> bytes:
        """One fragment: ``piece`` padded to 16 bytes, after its head, then its sec_trailer
        and signature; the padded piece sealed at PKT_PRIVACY."""
        pad = -len(piece) % _PAD_TO
        body = bytes(piece) + _ZEROS[pad] if pad else bytes(piece)
        head_bytes = head(flags, head_size + len(body) + _TRAILER_AND_TOKEN, alloc_hint)
        trailer = self.trailer(pad)
        if self.level == AuthLevel.PKT_PRIVACY:
            sealed, signature = self.session.seal(body, signed_prefix=head_bytes,
                                                  signed_suffix=trailer)
            return b"".join((head_bytes, sealed, trailer, signature))
        message = b"".join((head_bytes, body, trailer))
        return message + self.session.sign(message)

    def unprotect(self, frame: bytes, body_start: int, auth_level: int, pad: int,
                  token: bytes) -> bytes:
        """Check one incoming request or response fragment and return its stub (without the
        auth padding). SecurityError if it was not protected as this context requires, or its
        signature fails (the NTLM SignatureError or SequenceError is its cause)."""
        session = self.session
        if session is None:
            raise SecurityError("a call on a security context that is not established")
        if effective_level(auth_level) != self.level:
            raise SecurityError(f"a PDU at authentication level {auth_level} on a context "
                                f"established at {self.level}")
        if len(token) != TOKEN_SIZE:
            raise SecurityError(f"a signature of {len(token)} bytes, not {TOKEN_SIZE}")
        trailer_at = len(frame) - len(token) - SEC_TRAILER.size
        try:
            if self.level == AuthLevel.PKT_PRIVACY:
                body = session.unseal(
                    bytes(frame[body_start:trailer_at]), token,
                    signed_prefix=bytes(frame[:body_start]),
                    signed_suffix=bytes(frame[trailer_at:trailer_at + SEC_TRAILER.size]))
            else:
                session.verify(bytes(frame[:trailer_at + SEC_TRAILER.size]), token)
                body = frame[body_start:trailer_at]
        except ntlm.NtlmError as exc:
            raise SecurityError(f"signature check failed: {exc}") from exc
        return bytes(body[:len(body) - pad])


def granted(context: SecurityContext, session: ntlm.NtlmSession) -> bool:
    """Whether ``session`` can protect PDUs as ``context``'s level asks: signing from
    PKT_INTEGRITY up, sealing at PKT_PRIVACY (NTLMSSP_NEGOTIATE_SIGN, _SEAL; MS-NLMP 3.1.5.1)."""
    if context.level >= AuthLevel.PKT_PRIVACY:
        return session.confidentiality
    if context.level >= AuthLevel.PKT_INTEGRITY:
        return session.integrity
    return True


class ServerAuth:
    """How a server authenticates callers: NTLM against ``nt_hash_of(user, domain)`` (an NT hash
    or None), and the least level a call must have (``min_level``). Operations an interface
    declares open (``Interface.open_opnums``) take calls at any level."""

    auth_types = frozenset({AUTHN_WINNT})

    def __init__(self, nt_hash_of: Callable[[str, str], bytes | None], *,
                 min_level: int = AuthLevel.PKT_INTEGRITY, max_contexts: int = 64,
                 accounts_path: str | None = None,
                 groups_of: Callable[[str], frozenset[str]] = lambda user: frozenset(),
                 authorize: Callable[[CallSecurity], bool] | None = None) -> None:
        """``authorize(security)``, when given, is asked for every call that is not open and
        reached the minimum level; False refuses it with access denied (an access check)."""
        self.nt_hash_of = nt_hash_of
        self.accounts_path = accounts_path  # where nt_hash_of reads, when it is a file
        self.groups_of = groups_of  # a user's groups, for permission checks
        self.authorize = authorize
        self.min_level = effective_level(min_level)
        self.max_contexts = max_contexts  # security contexts per connection

    def acceptor(self) -> ntlm.Acceptor:
        return ntlm.Acceptor(self.nt_hash_of)


@dataclass(frozen=True)
class ClientAuth:
    """The credentials and level a client authenticates with (the COAUTHINFO and
    COAUTHIDENTITY role, MS-DCOM 2.2.22.2.1; RPC_C_AUTHN_WINNT)."""

    user: str
    password: str | None = None
    domain: str = ""
    nt_hash: bytes | None = None
    level: int = AuthLevel.PKT_INTEGRITY
    workstation: str = ""

    def __post_init__(self) -> None:
        if (self.password is None) == (self.nt_hash is None):
            raise ValueError("give either a password or an NT hash")
        if effective_level(self.level) < AuthLevel.CONNECT:
            raise ValueError("a ClientAuth authenticates: its level is connect or above")

    def __repr__(self) -> str:  # never the password
        return (f"ClientAuth(user={self.user!r}, domain={self.domain!r}, "
                f"level={AuthLevel(self.level).short_name})")

    def at_level(self, level: int) -> "ClientAuth":
        return ClientAuth(self.user, self.password, self.domain, self.nt_hash, level,
                          self.workstation)

    def initiator(self) -> ntlm.Initiator:
        return ntlm.Initiator(self.user, self.domain, password=self.password,
                              nt_hash=self.nt_hash, workstation=self.workstation)
