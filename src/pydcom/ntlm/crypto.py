"""The NTLMv2 computations of MS-NLMP 3.3.2 and the session keys of 3.4.5, as pure functions.

Names follow the spec's pseudocode (NTOWFv2, NTProofStr, KXKEY, SIGNKEY, SEALKEY, MIC) so that
each line can be checked against it; the 4.2.4 example values are the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from pydcom.ntlm.md4 import md4
from pydcom.ntlm.messages import NegotiateFlags
from pydcom.ntlm.rc4 import rc4k

# MS-NLMP 3.4.5.2 and 3.4.5.3: the magic constants, NUL included.
_CLIENT_SIGNING = b"session key to client-to-server signing key magic constant\x00"
_SERVER_SIGNING = b"session key to server-to-client signing key magic constant\x00"
_CLIENT_SEALING = b"session key to client-to-server sealing key magic constant\x00"
_SERVER_SEALING = b"session key to server-to-client sealing key magic constant\x00"

# 100-nanosecond ticks between 1601-01-01 (FILETIME's epoch, MS-DTYP 2.3.3) and 1970-01-01.
_FILETIME_UNIX_EPOCH = 116444736000000000


def hmac_md5(key: bytes, *parts: bytes) -> bytes:
    """HMAC_MD5(K, M) (MS-NLMP section 6; RFC 2104) over the concatenation of ``parts``."""
    mac = hmac.new(key, digestmod=hashlib.md5)
    for part in parts:
        mac.update(part)
    return mac.digest()


def windows_upper(text: str) -> str:
    """Upper-case ``text`` one UTF-16 unit at a time, as Windows' RtlUpcaseUnicodeString does.

    Python's ``str.upper`` may change a string's length ("ß" becomes "SS"); Windows maps each
    character to at most one, leaving those without a one-character capital unchanged. NTOWFv2
    hashes the upper-cased user name, so the two must agree for such names.
    """
    out = []
    for char in text:
        upper = char.upper()
        out.append(upper if len(upper) == 1 else char)
    return "".join(out)


def utf16(text: str) -> bytes:
    """UNICODE(text): UTF-16LE; unpaired surrogates pass through as a Windows name may hold them."""
    return text.encode("utf-16-le", "surrogatepass")


def nt_hash(password: str) -> bytes:
    """NTOWFv1(Passwd) = MD4(UNICODE(Passwd)) (MS-NLMP 3.3.1): the account's stored NT hash."""
    return md4(utf16(password))


def ntowfv2(nt_hash_value: bytes, user: str, domain: str) -> bytes:
    """NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(NTOWFv1, UNICODE(Upper(User) + UserDom)), the
    ResponseKeyNT (and ResponseKeyLM, LMOWFv2 being the same function)."""
    if len(nt_hash_value) != 16:
        raise ValueError("an NT hash has 16 bytes")
    return hmac_md5(nt_hash_value, utf16(windows_upper(user) + domain))


def nt_proof_str(response_key_nt: bytes, server_challenge: bytes, client_blob: bytes) -> bytes:
    """NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge + temp) (MS-NLMP 3.3.2), where
    ``client_blob`` is temp: the NTLMv2_CLIENT_CHALLENGE exactly as sent, trailing bytes included."""
    return hmac_md5(response_key_nt, server_challenge, client_blob)


def lmv2_response(response_key_lm: bytes, server_challenge: bytes, client_challenge: bytes) -> bytes:
    """LmChallengeResponse for NTLMv2 (MS-NLMP 3.3.2; LMv2_RESPONSE 2.2.2.4)."""
    return hmac_md5(response_key_lm, server_challenge, client_challenge) + client_challenge


def session_base_key(response_key_nt: bytes, proof: bytes) -> bytes:
    """SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr) (MS-NLMP 3.3.2)."""
    return hmac_md5(response_key_nt, proof)


def kxkey(session_base_key_value: bytes) -> bytes:
    """KXKEY for NTLMv2 (MS-NLMP 3.4.5.1): the KeyExchangeKey is the SessionBaseKey itself."""
    return session_base_key_value


def encrypt_session_key(key_exchange_key: bytes, exported_session_key: bytes) -> bytes:
    """EncryptedRandomSessionKey = RC4K(KeyExchangeKey, ExportedSessionKey) (MS-NLMP 3.1.5.1.2)."""
    return rc4k(key_exchange_key, exported_session_key)


def decrypt_session_key(key_exchange_key: bytes, encrypted: bytes) -> bytes:
    """ExportedSessionKey = RC4K(KeyExchangeKey, EncryptedRandomSessionKey) (MS-NLMP 3.2.5.1.2)."""
    return rc4k(key_exchange_key, encrypted)


def signkey(exported_session_key: bytes, client_to_server: bool) -> bytes:
    """SIGNKEY with extended session security (MS-NLMP 3.4.5.2): MD5 of the key and a constant."""
    constant = _CLIENT_SIGNING if client_to_server else _SERVER_SIGNING
    return hashlib.md5(exported_session_key + constant).digest()


def sealkey(flags: int, exported_session_key: bytes, client_to_server: bool) -> bytes:
    """SEALKEY with extended session security (MS-NLMP 3.4.5.3): the session key cut to the
    negotiated strength (128, 56 or 40 bits), then MD5 with a direction constant."""
    if not flags & NegotiateFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY:
        raise ValueError("only extended session security keys are derived here")
    if flags & NegotiateFlags.NEGOTIATE_128:
        key = exported_session_key
    elif flags & NegotiateFlags.NEGOTIATE_56:
        key = exported_session_key[:7]
    else:
        key = exported_session_key[:5]
    constant = _CLIENT_SEALING if client_to_server else _SERVER_SEALING
    return hashlib.md5(key + constant).digest()


def mic(exported_session_key: bytes, negotiate: bytes, challenge: bytes, authenticate: bytes) -> bytes:
    """MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE + CHALLENGE + AUTHENTICATE) over the three
    messages as sent, the AUTHENTICATE with its MIC field zeroed (MS-NLMP 3.1.5.1.2, 3.2.5.1.2)."""
    return hmac_md5(exported_session_key, negotiate, challenge, authenticate)


def filetime(unix_seconds: float | None = None) -> int:
    """A FILETIME (MS-DTYP 2.3.3) for MsvAvTimestamp and the NTLMv2 TimeStamp: 100 ns ticks
    since 1601-01-01 UTC; now unless ``unix_seconds`` is given."""
    seconds = time.time() if unix_seconds is None else unix_seconds
    return _FILETIME_UNIX_EPOCH + int(seconds * 10_000_000)


def unix_seconds(filetime_value: int) -> float:
    """The POSIX time of a FILETIME."""
    return (filetime_value - _FILETIME_UNIX_EPOCH) / 10_000_000
