"""The client side of NTLM: NEGOTIATE out, CHALLENGE in, AUTHENTICATE out, a session
(MS-NLMP 3.1.5.1), NTLMv2 with extended session security only.

The AUTHENTICATE is built as a current Windows client builds it: the server's AV pairs echoed
with MsvAvFlags and MsvAvTargetName added, the Z(4) of 3.3.2 after them, the server's
MsvAvTimestamp as the blob's TimeStamp, and then a MIC over the three messages with Z(24) as
the LM response (3.1.5.1.2).
"""

from __future__ import annotations

import logging
import secrets

from pydcom.ntlm import crypto
from pydcom.ntlm.errors import SEC_E_UNSUPPORTED_FUNCTION, NtlmError
from pydcom.ntlm.messages import (
    AuthenticateMessage,
    AvFlags,
    AvId,
    ChallengeMessage,
    NegotiateFlags,
    NegotiateMessage,
    NTLMv2ClientChallenge,
    Version,
)
from pydcom.ntlm.session import Identity, NtlmSession

log = logging.getLogger("pydcom.ntlm")

F = NegotiateFlags
#: What the initiator asks for: Windows' usual set minus OEM and LM_KEY (never used here).
DEFAULT_FLAGS = (F.NEGOTIATE_UNICODE | F.REQUEST_TARGET | F.NEGOTIATE_SIGN | F.NEGOTIATE_SEAL
                 | F.NEGOTIATE_NTLM | F.NEGOTIATE_ALWAYS_SIGN | F.NEGOTIATE_EXTENDED_SESSIONSECURITY
                 | F.NEGOTIATE_TARGET_INFO | F.NEGOTIATE_VERSION | F.NEGOTIATE_128
                 | F.NEGOTIATE_KEY_EXCH | F.NEGOTIATE_56)
_REQUIRED = F.NEGOTIATE_UNICODE | F.NEGOTIATE_NTLM | F.NEGOTIATE_EXTENDED_SESSIONSECURITY
# Flags whose meaning is a request the server may decline by leaving them out of the CHALLENGE.
_NEGOTIABLE = (F.NEGOTIATE_SIGN | F.NEGOTIATE_SEAL | F.NEGOTIATE_ALWAYS_SIGN | F.NEGOTIATE_KEY_EXCH
               | F.NEGOTIATE_128 | F.NEGOTIATE_56 | F.NEGOTIATE_VERSION | F.NEGOTIATE_IDENTIFY
               | F.NEGOTIATE_TARGET_INFO)


class Initiator:
    """One NTLM authentication, client side; a new Initiator per security context, driven by
    one caller, so it holds no lock (the session it makes has its own).

    Give ``password`` or ``nt_hash`` (the 16-byte NTOWFv1). ``target_name`` is the server's SPN
    (e.g. ``"host/hostb"``), sent as MsvAvTargetName; Windows sends one always, empty when the
    caller named none. ``workstation`` is this machine's name as the AUTHENTICATE carries it.
    """

    def __init__(self, user: str, domain: str = "", *, password: str | None = None,
                 nt_hash: bytes | None = None, workstation: str = "", target_name: str | None = None,
                 flags: int = DEFAULT_FLAGS, version: Version | None = Version()) -> None:
        if (password is None) == (nt_hash is None):
            raise ValueError("give either a password or an NT hash")
        if nt_hash is not None and len(nt_hash) != 16:
            raise ValueError("an NT hash has 16 bytes")
        self.user = user
        self.domain = domain
        self._nt_hash = crypto.nt_hash(password) if password is not None else bytes(nt_hash)
        self.workstation = workstation
        self.target_name = target_name
        self.flags = int(flags) | _REQUIRED
        self.version = version
        self._state = "initial"
        self._negotiate = b""
        self.session: NtlmSession | None = None

    @property
    def complete(self) -> bool:
        return self._state == "done"

    def negotiate(self) -> bytes:
        """The NEGOTIATE_MESSAGE (2.2.1.1, 3.1.5.1.1)."""
        if self._state != "initial":
            raise NtlmError(f"initiator is in state {self._state!r}, not 'initial'")
        flags = self.flags if self.version is not None else self.flags & ~F.NEGOTIATE_VERSION
        self._negotiate = NegotiateMessage(flags, version=self.version).encode()
        self._state = "negotiated"
        return self._negotiate

    def authenticate(self, challenge: bytes, *, client_challenge: bytes | None = None,
                     exported_session_key: bytes | None = None) -> bytes:
        """Read the CHALLENGE_MESSAGE and return the AUTHENTICATE_MESSAGE (3.1.5.1.2); the
        session is then in ``self.session``. The two keyword arguments fix the random values,
        for tests that reproduce published examples."""
        if self._state != "negotiated":
            raise NtlmError(f"initiator is in state {self._state!r}, not 'negotiated'")
        self._state = "failed"
        message = ChallengeMessage.decode(challenge)
        offered = message.flags
        if not offered & F.NEGOTIATE_EXTENDED_SESSIONSECURITY:
            raise NtlmError("the server does not offer extended session security", SEC_E_UNSUPPORTED_FUNCTION)
        if not offered & F.NEGOTIATE_UNICODE:
            raise NtlmError("the server does not offer Unicode", SEC_E_UNSUPPORTED_FUNCTION)
        if message.target_info is None:
            raise NtlmError("the CHALLENGE_MESSAGE has no TargetInfo, which NTLMv2 needs",
                            SEC_E_UNSUPPORTED_FUNCTION)
        flags = (self.flags & ~_NEGOTIABLE) | (self.flags & offered & _NEGOTIABLE)
        if self.version is None:
            flags &= ~F.NEGOTIATE_VERSION

        timestamp = message.target_info.timestamp
        use_mic = timestamp is not None  # 3.1.5.1.2: a MIC when the server sent a timestamp
        pairs = message.target_info
        if use_mic:
            av_flags = pairs.flags | AvFlags.MIC_PRESENT
            pairs = pairs.with_pair(AvId.MsvAvFlags, int(av_flags).to_bytes(4, "little"))
        pairs = pairs.with_pair(AvId.MsvAvTargetName, crypto.utf16(self.target_name or ""))
        client_challenge = client_challenge or secrets.token_bytes(8)
        blob = NTLMv2ClientChallenge(
            timestamp=timestamp if timestamp is not None else crypto.filetime(),
            challenge_from_client=client_challenge, av_pairs=pairs).encode()

        response_key = crypto.ntowfv2(self._nt_hash, self.user, self.domain)
        proof = crypto.nt_proof_str(response_key, message.server_challenge, blob)
        key_exchange_key = crypto.kxkey(crypto.session_base_key(response_key, proof))
        if use_mic:
            lm_response = bytes(24)  # 3.1.5.1.2: Z(24) instead of the LMv2 response
        else:
            lm_response = crypto.lmv2_response(response_key, message.server_challenge, client_challenge)
        encrypted_key = b""
        exported = key_exchange_key
        if flags & F.NEGOTIATE_KEY_EXCH and flags & (F.NEGOTIATE_SIGN | F.NEGOTIATE_SEAL):
            exported = exported_session_key or secrets.token_bytes(16)
            encrypted_key = crypto.encrypt_session_key(key_exchange_key, exported)

        authenticate = AuthenticateMessage(
            flags=flags, lm_challenge_response=lm_response, nt_challenge_response=proof + blob,
            domain_name=self.domain, user_name=self.user, workstation=self.workstation,
            encrypted_random_session_key=encrypted_key,
            version=self.version if flags & F.NEGOTIATE_VERSION else None,
            mic=bytes(16) if use_mic else None)
        encoded = authenticate.encode()
        if use_mic:
            value = crypto.mic(exported, self._negotiate, bytes(challenge), encoded)
            encoded = authenticate.with_mic(value).encode()
        identity = Identity(self.user, self.domain, self.workstation, target_name=self.target_name)
        self.session = NtlmSession(flags, exported, initiator=True, identity=identity)
        self._state = "done"
        return encoded
