"""An established NTLM security context: message integrity and confidentiality with extended
session security, connection-oriented (MS-NLMP 3.4).

Each direction has its own signing key, sealing key, RC4 handle and sequence number (3.4.4.2,
3.4.5); the handle keeps its key-stream position from one message to the next, which is what
makes a replayed, reordered or dropped message fail. Outgoing and incoming state each have a
lock, so one thread may send while another receives.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import struct
import threading
from dataclasses import dataclass

from pydcom.ntlm import crypto
from pydcom.ntlm.errors import SEC_E_UNSUPPORTED_FUNCTION, NtlmError, SequenceError, SignatureError
from pydcom.ntlm.messages import NegotiateFlags
from pydcom.ntlm.rc4 import RC4

log = logging.getLogger("pydcom.ntlm")

SIGNATURE_SIZE = 16
_SIGNATURE = struct.Struct("<I8sI")  # NTLMSSP_MESSAGE_SIGNATURE with ESS (2.2.2.9.1)
_SIGNATURE_VERSION = 1
_SEQ = struct.Struct("<I")
_SEQ_LIMIT = 1 << 32


class _Direction:
    """One direction's keys and state (3.4.4.2's SigningKey, Handle, SeqNum)."""

    __slots__ = ("signing_key", "inner", "outer", "handle", "seq_num", "lock", "broken")

    def __init__(self, signing_key: bytes, sealing_key: bytes) -> None:
        self.signing_key = signing_key
        # HMAC-MD5 (RFC 2104) with its two keyed states made once: each message then costs
        # two copies and three updates, about half of what hmac.new or hmac.digest costs.
        block = signing_key.ljust(64, b"\0")
        self.inner = hashlib.md5(bytes(b ^ 0x36 for b in block))
        self.outer = hashlib.md5(bytes(b ^ 0x5C for b in block))
        self.handle = RC4(sealing_key)
        self.seq_num = 0
        self.lock = threading.Lock()
        self.broken = False


@dataclass(frozen=True)
class Identity:
    """Who the acceptor authenticated, as it learned it from the AUTHENTICATE_MESSAGE."""

    user: str
    domain: str
    workstation: str = ""
    anonymous: bool = False
    target_name: str | None = None  # MsvAvTargetName of the client's NTLMv2 blob


class NtlmSession:
    """A security context after the three legs; made by Initiator and Acceptor, not by hand.

    ``session_key`` is the ExportedSessionKey (3.1.1.1), ``flags`` the negotiated NegFlg.
    Signatures are the 16-byte NTLMSSP_MESSAGE_SIGNATURE of 2.2.2.9.1.
    """

    def __init__(self, flags: int, exported_session_key: bytes, *, initiator: bool,
                 identity: Identity | None = None) -> None:
        if not flags & NegotiateFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY:
            # Without ESS the signature is a CRC32 under RC4 (3.4.4.1), which pydcom refuses.
            raise NtlmError("extended session security was not negotiated",
                            SEC_E_UNSUPPORTED_FUNCTION)
        self.flags = NegotiateFlags(flags)
        # Plain booleans, read on every message: IntFlag operators cost microseconds each.
        self._can_sign = bool(flags & (NegotiateFlags.NEGOTIATE_SIGN | NegotiateFlags.NEGOTIATE_SEAL))
        self._can_seal = bool(flags & NegotiateFlags.NEGOTIATE_SEAL)
        self.session_key = exported_session_key
        self.initiator = initiator
        self.identity = identity
        self._key_exchange = bool(flags & NegotiateFlags.NEGOTIATE_KEY_EXCH)
        # 3.4.5.2/3.4.5.3: the client's outgoing direction uses the client-to-server keys.
        client = _Direction(crypto.signkey(exported_session_key, True),
                            crypto.sealkey(flags, exported_session_key, True))
        server = _Direction(crypto.signkey(exported_session_key, False),
                            crypto.sealkey(flags, exported_session_key, False))
        self._out, self._in = (client, server) if initiator else (server, client)

    # ------------------------------------------------------------------ properties
    @property
    def integrity(self) -> bool:
        """Whether messages may be signed (NTLMSSP_NEGOTIATE_SIGN, or SEAL which implies it)."""
        return self._can_sign

    @property
    def confidentiality(self) -> bool:
        """Whether messages may be sealed (NTLMSSP_NEGOTIATE_SEAL)."""
        return self._can_seal

    @property
    def user(self) -> str:
        return self.identity.user if self.identity else ""

    @property
    def domain(self) -> str:
        return self.identity.domain if self.identity else ""

    # ------------------------------------------------------------------ the MAC
    def _checksum(self, direction: _Direction, seq_num: int, parts: tuple[bytes, ...]) -> bytes:
        """3.4.4.2: HMAC_MD5(SigningKey, SeqNum + Message)[0..7], then RC4 under the handle when
        key exchange was negotiated. Parts are fed to the HMAC in turn, never concatenated."""
        inner = direction.inner.copy()
        inner.update(_SEQ.pack(seq_num))
        for part in parts:
            inner.update(part)
        outer = direction.outer.copy()
        outer.update(inner.digest())
        checksum = outer.digest()[:8]
        return direction.handle.update(checksum) if self._key_exchange else checksum

    def _need(self, confidentiality: bool) -> None:
        if confidentiality and not self._can_seal:
            raise NtlmError("confidentiality (NTLMSSP_NEGOTIATE_SEAL) was not negotiated",
                            SEC_E_UNSUPPORTED_FUNCTION)
        if not self._can_sign:
            raise NtlmError("integrity (NTLMSSP_NEGOTIATE_SIGN) was not negotiated",
                            SEC_E_UNSUPPORTED_FUNCTION)

    @staticmethod
    def _next(direction: _Direction) -> int:
        if direction.broken:
            raise SignatureError("the security context failed an earlier verification; its key "
                                 "stream is no longer in step with the peer's")
        seq_num = direction.seq_num
        if seq_num + 1 >= _SEQ_LIMIT:
            # A wrapped counter would let an old signature verify again.
            raise NtlmError("the 32-bit sequence number is exhausted; make a new context")
        direction.seq_num = seq_num + 1
        return seq_num

    def _verify(self, direction: _Direction, signature: bytes, seq_num: int,
                expected_checksum: bytes) -> None:
        version, checksum, sent_seq = _SIGNATURE.unpack(signature)
        expected = _SIGNATURE.pack(_SIGNATURE_VERSION, expected_checksum, seq_num)
        if hmac.compare_digest(expected, signature):
            return
        # The RC4 stream has moved on by this message; the peers are out of step for good.
        direction.broken = True
        if version != _SIGNATURE_VERSION:
            raise SignatureError(f"signature Version {version}, expected 1")
        if sent_seq != seq_num:
            raise SequenceError(f"signature sequence number {sent_seq}, expected {seq_num}")
        raise SignatureError("the signature's checksum does not match the message")

    @staticmethod
    def _check_signature(signature: bytes) -> bytes:
        signature = bytes(signature)
        if len(signature) != SIGNATURE_SIZE:
            raise SignatureError(f"a signature has 16 bytes, not {len(signature)}")
        return signature

    # ------------------------------------------------------------------ GSS_GetMICEx / VerifyMICEx
    def sign(self, message: bytes) -> bytes:
        """The signature of an outgoing message (MS-NLMP 3.4.4.2 MAC; GSS_GetMICEx)."""
        self._need(False)
        direction = self._out
        with direction.lock:
            seq_num = self._next(direction)
            checksum = self._checksum(direction, seq_num, (message,))
            return _SIGNATURE.pack(_SIGNATURE_VERSION, checksum, seq_num)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check an incoming message's signature (3.4.4.2; GSS_VerifyMICEx). Raises
        SequenceError for a message out of order, SignatureError for any other mismatch."""
        self._need(False)
        signature = self._check_signature(signature)
        direction = self._in
        with direction.lock:
            seq_num = self._next(direction)
            self._verify(direction, signature, seq_num, self._checksum(direction, seq_num, (message,)))

    # ------------------------------------------------------------------ GSS_WrapEx / UnwrapEx
    def seal(self, message: bytes, *, signed_prefix: bytes = b"",
             signed_suffix: bytes = b"") -> tuple[bytes, bytes]:
        """Encrypt an outgoing message and sign it (3.4.3 SEAL; GSS_WrapEx): returns (sealed
        message, signature). ``signed_prefix``/``signed_suffix`` are signed but sent in clear,
        as DCE/RPC header signing signs the PDU header and sec_trailer around a sealed body
        (MS-RPCE 2.2.2.11); the checksum covers prefix + plaintext + suffix."""
        self._need(True)
        direction = self._out
        with direction.lock:
            seq_num = self._next(direction)
            sealed = direction.handle.update(message)  # the message first, then the checksum (3.4.3)
            checksum = self._checksum(direction, seq_num, (signed_prefix, message, signed_suffix))
            return sealed, _SIGNATURE.pack(_SIGNATURE_VERSION, checksum, seq_num)

    def unseal(self, sealed: bytes, signature: bytes, *, signed_prefix: bytes = b"",
               signed_suffix: bytes = b"") -> bytes:
        """Decrypt an incoming message and verify its signature (GSS_UnwrapEx); the plaintext
        is returned only when the signature verifies."""
        self._need(True)
        signature = self._check_signature(signature)
        direction = self._in
        with direction.lock:
            seq_num = self._next(direction)
            message = direction.handle.update(sealed)
            checksum = self._checksum(direction, seq_num, (signed_prefix, message, signed_suffix))
            self._verify(direction, signature, seq_num, checksum)
            return message

    def __repr__(self) -> str:
        who = f" {self.domain}\\{self.user}" if self.identity else ""
        role = "initiator" if self.initiator else "acceptor"
        return f"<NtlmSession {role}{who} flags=0x{int(self.flags):08X}>"
