"""The server side of NTLM: NEGOTIATE in, CHALLENGE out, AUTHENTICATE in, a session out
(MS-NLMP 3.2.5.1).

The AUTHENTICATE is verified here rather than by a library: NTProofStr is an HMAC over the
client's NTLMv2_CLIENT_CHALLENGE exactly as the client sent it (3.3.2), and clients differ in
what they put after its AV pairs (the Z(4) of 3.3.2 or nothing); verifying over a re-encoded
blob rejects valid clients. Accounts come from a callable, ``nt_hash_of(user, domain)``, so
that where NT hashes live is the service's decision.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import socket
import time
from typing import Callable, Collection

from pydcom.ntlm import crypto
from pydcom.ntlm.errors import (
    SEC_E_WRONG_PRINCIPAL,
    AuthenticationError,
    MalformedMessageError,
    NtlmError,
)
from pydcom.ntlm.messages import (
    AuthenticateMessage,
    AvFlags,
    AvId,
    AvPairs,
    ChallengeMessage,
    NegotiateFlags,
    NegotiateMessage,
    NTLMv2Response,
    Version,
    zero_mic,
)
from pydcom.ntlm.session import Identity, NtlmSession

log = logging.getLogger("pydcom.ntlm")

F = NegotiateFlags
#: Flags the acceptor grants when the client asks for them (3.2.5.1.1), beside those it always sets.
_GRANTABLE = (F.NEGOTIATE_SIGN | F.NEGOTIATE_SEAL | F.NEGOTIATE_ALWAYS_SIGN | F.NEGOTIATE_KEY_EXCH
              | F.NEGOTIATE_128 | F.NEGOTIATE_56 | F.NEGOTIATE_VERSION | F.NEGOTIATE_IDENTIFY)
# Flags that change keys or protection: the AUTHENTICATE may drop them but never add them.
_SESSION_SECURITY = (F.NEGOTIATE_SIGN | F.NEGOTIATE_SEAL | F.NEGOTIATE_KEY_EXCH | F.NEGOTIATE_128
                     | F.NEGOTIATE_56)
_ALWAYS = (F.NEGOTIATE_UNICODE | F.NEGOTIATE_NTLM | F.NEGOTIATE_EXTENDED_SESSIONSECURITY
           | F.NEGOTIATE_TARGET_INFO)

#: The one message for a wrong password and an unknown account alike.
_BAD_CREDENTIALS = "the user name or password is incorrect"

# Verifying against this when the account is unknown keeps the work, and so the time, the same.
_DUMMY_HASH = crypto.nt_hash("\u0000 no such account")

NtHashLookup = Callable[[str, str], "bytes | None"]


def machine_names() -> tuple[str, str]:
    """This machine's NetBIOS-style name (upper case, 15 characters at most) and DNS name."""
    host = socket.gethostname() or "localhost"
    return host.split(".")[0].upper()[:15], host.lower()


class Acceptor:
    """One NTLM authentication, server side; a new Acceptor per security context, driven by
    one caller (the connection that owns the context), so it holds no lock.

    ``nt_hash_of(user, domain)`` returns the account's 16-byte NT hash (NTOWFv1, 3.3.1) or None;
    ``user`` and ``domain`` are as the client wrote them, and the callable decides how names and
    domains match (case, "." or the machine name for local accounts, ...).

    Policy, fixed: NTLMv2 only (NTLMv1 and LM responses are refused), the client must negotiate
    extended session security and Unicode. Options: ``allow_anonymous`` (an anonymous
    AUTHENTICATE gives a session with ``identity.anonymous``), ``target_names`` with
    ``target_name_check`` ("off" as Windows by default, "if_provided", "required") for the
    client's MsvAvTargetName, and ``max_clock_skew`` seconds for the blob's TimeStamp (None: no
    check; the fresh ServerChallenge already prevents replay, the check is defence in depth).
    """

    def __init__(self, nt_hash_of: NtHashLookup, *, nb_computer_name: str | None = None,
                 nb_domain_name: str | None = None, dns_computer_name: str | None = None,
                 dns_domain_name: str | None = None, allow_anonymous: bool = False,
                 target_names: Collection[str] = (), target_name_check: str = "off",
                 max_clock_skew: float | None = 36 * 3600, version: Version | None = Version(),
                 clock: Callable[[], float] = time.time) -> None:
        if target_name_check not in ("off", "if_provided", "required"):
            raise ValueError("target_name_check is 'off', 'if_provided' or 'required'")
        default_nb, default_dns = machine_names()
        self._nt_hash_of = nt_hash_of
        self.nb_computer_name = nb_computer_name or default_nb
        # A standalone machine is its own domain, as Windows reports a workgroup member.
        self.nb_domain_name = nb_domain_name or self.nb_computer_name
        self.dns_computer_name = dns_computer_name or default_dns
        self.dns_domain_name = dns_domain_name or self.dns_computer_name
        self.allow_anonymous = allow_anonymous
        self.target_names = frozenset(name.casefold() for name in target_names)
        self.target_name_check = target_name_check
        self.max_clock_skew = max_clock_skew
        self.version = version
        self._clock = clock
        self._state = "initial"
        self._negotiate: bytes = b""
        self._challenge: bytes = b""
        self._challenge_message: ChallengeMessage | None = None
        self.session: NtlmSession | None = None

    @property
    def complete(self) -> bool:
        return self._state == "done"

    def _enter(self, expected: str, following: str) -> None:
        if self._state != expected:
            raise NtlmError(f"acceptor is in state {self._state!r}, not {expected!r}")
        self._state = following

    # ------------------------------------------------------------------ leg 1 -> 2
    def accept_negotiate(self, negotiate: bytes, *, server_challenge: bytes | None = None) -> bytes:
        """Read a NEGOTIATE_MESSAGE and return the CHALLENGE_MESSAGE to send (3.2.5.1.1).
        ``server_challenge`` fixes the nonce, for tests that replay published examples only:
        a reused nonce lets a recorded AUTHENTICATE be replayed."""
        self._enter("initial", "failed")
        message = NegotiateMessage.decode(negotiate)
        flags = message.flags
        _require_unicode_and_ess(flags, "NEGOTIATE_MESSAGE")
        granted = _ALWAYS | (flags & _GRANTABLE)
        if flags & F.REQUEST_TARGET:
            granted |= F.REQUEST_TARGET
            granted |= F.TARGET_TYPE_DOMAIN if self.nb_domain_name != self.nb_computer_name \
                else F.TARGET_TYPE_SERVER
        now = crypto.filetime(self._clock())
        # Windows' order (MS-NLMP 4.2.4 shows the first two); impacket needs MsvAvDnsComputerName
        # to build its MsvAvTargetName, and MsvAvTimestamp makes clients send a MIC (3.1.5.1.2).
        target_info = AvPairs.of(MsvAvNbDomainName=self.nb_domain_name,
                                 MsvAvNbComputerName=self.nb_computer_name,
                                 MsvAvDnsDomainName=self.dns_domain_name,
                                 MsvAvDnsComputerName=self.dns_computer_name)
        target_info = target_info.with_pair(AvId.MsvAvTimestamp, now.to_bytes(8, "little"))
        version = self.version if flags & F.NEGOTIATE_VERSION else None
        if version is None:
            granted &= ~F.NEGOTIATE_VERSION
        challenge = ChallengeMessage(
            flags=int(granted), server_challenge=server_challenge or secrets.token_bytes(8),
            target_name=self.nb_domain_name if flags & F.REQUEST_TARGET else "",
            target_info=target_info, version=version)
        encoded = challenge.encode()
        self._negotiate = bytes(negotiate)
        self._challenge = encoded
        self._challenge_message = challenge
        self._state = "challenged"
        return encoded

    # ------------------------------------------------------------------ leg 3
    def accept_authenticate(self, authenticate: bytes) -> NtlmSession:
        """Verify an AUTHENTICATE_MESSAGE (3.2.5.1.2) and return the established session.

        Raises AuthenticationError for any refusal (bad credentials read the same whether or
        not the account exists) and MalformedMessageError for an undecodable message.
        """
        self._enter("challenged", "failed")
        challenge = self._challenge_message
        assert challenge is not None
        message = AuthenticateMessage.decode(authenticate)
        flags = message.flags
        _require_unicode_and_ess(flags, "AUTHENTICATE_MESSAGE")
        added = flags & _SESSION_SECURITY & ~challenge.flags
        if added:
            raise AuthenticationError(f"the AUTHENTICATE_MESSAGE claims {F(added)!r}, which the "
                                      "CHALLENGE_MESSAGE did not grant")
        lm, nt = message.lm_challenge_response, message.nt_challenge_response
        if not message.user_name and not nt and lm in (b"", b"\x00"):
            session = self._anonymous(message)
        elif not nt:
            raise AuthenticationError("LM authentication is not accepted")
        elif len(nt) == 24:
            raise AuthenticationError("NTLMv1 authentication is not accepted")
        else:
            session = self._ntlmv2(message, bytes(authenticate), challenge)
        self.session = session
        self._state = "done"
        log.debug("NTLM: authenticated %r", session)
        return session

    def _anonymous(self, message: AuthenticateMessage) -> NtlmSession:
        if not self.allow_anonymous:
            raise AuthenticationError("anonymous logon is not allowed")
        # 3.3.2: for an anonymous client the SessionBaseKey is Z(16).
        key = self._exported_key(message, bytes(16))
        identity = Identity("", "", message.workstation, anonymous=True)
        return NtlmSession(message.flags, key, initiator=False, identity=identity)

    def _exported_key(self, message: AuthenticateMessage, key_exchange_key: bytes) -> bytes:
        flags = message.flags
        if flags & F.NEGOTIATE_KEY_EXCH and flags & (F.NEGOTIATE_SIGN | F.NEGOTIATE_SEAL):
            if len(message.encrypted_random_session_key) != 16:
                raise MalformedMessageError(
                    f"EncryptedRandomSessionKey has {len(message.encrypted_random_session_key)} "
                    "bytes, not 16")
            return crypto.decrypt_session_key(key_exchange_key, message.encrypted_random_session_key)
        return key_exchange_key

    def _ntlmv2(self, message: AuthenticateMessage, raw: bytes, challenge: ChallengeMessage) -> NtlmSession:
        response = NTLMv2Response.decode(message.nt_challenge_response)
        blob = response.client_challenge
        stored = self._nt_hash_of(message.user_name, message.domain_name)
        if stored is not None and len(stored) != 16:
            raise NtlmError("the account store returned an NT hash that is not 16 bytes")
        # 3.3.2 over the raw blob; 3.2.5.1.2: also accept clients that used an empty UserDom.
        response_key = None
        for domain in dict.fromkeys((message.domain_name, "")):
            candidate = crypto.ntowfv2(stored or _DUMMY_HASH, message.user_name, domain)
            expected = crypto.nt_proof_str(candidate, challenge.server_challenge, blob.raw)
            if hmac.compare_digest(expected, response.nt_proof_str) and stored is not None:
                response_key = candidate
                break
        if response_key is None:
            raise AuthenticationError(_BAD_CREDENTIALS)

        pairs = blob.av_pairs
        self._check_timestamp(blob.timestamp)
        target_name = self._check_target_name(pairs)
        base_key = crypto.session_base_key(response_key, response.nt_proof_str)
        exported = self._exported_key(message, crypto.kxkey(base_key))
        if pairs.flags & AvFlags.MIC_PRESENT:
            # The MIC binds the three messages, so that the flags in the NEGOTIATE and the
            # CHALLENGE cannot have been altered on the way (3.2.5.1.2).
            if message.mic is None:
                raise AuthenticationError("MsvAvFlags announces a MIC but the message has no room for one")
            expected_mic = crypto.mic(exported, self._negotiate, self._challenge, zero_mic(raw))
            if not hmac.compare_digest(expected_mic, message.mic):
                raise AuthenticationError("the AUTHENTICATE_MESSAGE's MIC does not verify")
        identity = Identity(message.user_name, message.domain_name, message.workstation,
                            target_name=target_name)
        return NtlmSession(message.flags, exported, initiator=False, identity=identity)

    def _check_timestamp(self, timestamp: int) -> None:
        if self.max_clock_skew is None:
            return
        skew = abs(crypto.unix_seconds(timestamp) - self._clock())
        if skew > self.max_clock_skew:
            raise AuthenticationError(f"the NTLMv2 TimeStamp is {skew:.0f} s from this machine's clock")

    def _check_target_name(self, pairs: AvPairs) -> str | None:
        target_name = pairs.text(AvId.MsvAvTargetName)
        if self.target_name_check == "off":
            return target_name
        if not target_name:
            if self.target_name_check == "required":
                raise AuthenticationError("the client named no target (MsvAvTargetName)",
                                          SEC_E_WRONG_PRINCIPAL)
            return target_name
        if target_name.casefold() not in self.target_names:
            raise AuthenticationError(f"the client's target {target_name!r} is not this server",
                                      SEC_E_WRONG_PRINCIPAL)
        return target_name


def _require_unicode_and_ess(flags: int, message: str) -> None:
    """Unicode and extended session security, without which this acceptor does not go on: the
    OEM form and NTLMv1-style session security are not supported (3.2.5.1.1, 3.2.5.1.2)."""
    if not flags & F.NEGOTIATE_UNICODE:
        raise AuthenticationError(f"the {message} does not offer Unicode "
                                  "(NTLMSSP_NEGOTIATE_UNICODE)")
    if not flags & F.NEGOTIATE_EXTENDED_SESSIONSECURITY:
        raise AuthenticationError(f"the {message} does not offer extended session security "
                                  "(NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)")
