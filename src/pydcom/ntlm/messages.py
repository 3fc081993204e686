"""The NTLM messages and the structures inside them (MS-NLMP 2.2), each with encode and decode.

Decoding is strict and bounded: every offset and length is checked against the message before
anything is read, no buffer is ever sized by a length field (a slice of the message is the
most any field can yield), and each failure is a MalformedMessageError that names the field.
Fields that MS-NLMP says are ignored on receipt (MaxLen, Reserved) are ignored.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field, replace

from pydcom.ntlm.errors import MalformedMessageError

SIGNATURE = b"NTLMSSP\x00"
NEGOTIATE_MESSAGE_TYPE = 1
CHALLENGE_MESSAGE_TYPE = 2
AUTHENTICATE_MESSAGE_TYPE = 3

_FIELDS = struct.Struct("<HHI")  # Len, MaxLen, BufferOffset of a payload field
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

NEGOTIATE_FIXED_SIZE = 32  # up to and including WorkstationFields (2.2.1.1)
CHALLENGE_FIXED_SIZE = 48  # up to and including TargetInfoFields (2.2.1.2)
AUTHENTICATE_FIXED_SIZE = 64  # up to and including NegotiateFlags (2.2.1.3)
VERSION_SIZE = 8
MIC_SIZE = 16
#: Where an AUTHENTICATE_MESSAGE's MIC lies when it has one: after the Version field.
MIC_OFFSET = AUTHENTICATE_FIXED_SIZE + VERSION_SIZE
NTLMV2_RESPONSE_MIN_SIZE = 16 + 28  # NTProofStr, then 2.2.2.7 up to its AvPairs


class NegotiateFlags(enum.IntFlag):
    """NEGOTIATE (MS-NLMP 2.2.2.5); names are the spec's without the ``NTLMSSP_`` prefix."""

    NEGOTIATE_UNICODE = 0x00000001  # A
    NEGOTIATE_OEM = 0x00000002  # B
    REQUEST_TARGET = 0x00000004  # C
    NEGOTIATE_SIGN = 0x00000010  # D
    NEGOTIATE_SEAL = 0x00000020  # E
    NEGOTIATE_DATAGRAM = 0x00000040  # F
    NEGOTIATE_LM_KEY = 0x00000080  # G
    NEGOTIATE_NTLM = 0x00000200  # H
    ANONYMOUS = 0x00000800  # J
    NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000  # K
    NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000  # L
    NEGOTIATE_ALWAYS_SIGN = 0x00008000  # M
    TARGET_TYPE_DOMAIN = 0x00010000  # N
    TARGET_TYPE_SERVER = 0x00020000  # O
    NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000  # P
    NEGOTIATE_IDENTIFY = 0x00100000  # Q
    REQUEST_NON_NT_SESSION_KEY = 0x00400000  # R
    NEGOTIATE_TARGET_INFO = 0x00800000  # S
    NEGOTIATE_VERSION = 0x02000000  # T
    NEGOTIATE_128 = 0x20000000  # U
    NEGOTIATE_KEY_EXCH = 0x40000000  # V
    NEGOTIATE_56 = 0x80000000  # W


class AvId(enum.IntEnum):
    """AV_PAIR AvId values (MS-NLMP 2.2.2.1)."""

    MsvAvEOL = 0
    MsvAvNbComputerName = 1
    MsvAvNbDomainName = 2
    MsvAvDnsComputerName = 3
    MsvAvDnsDomainName = 4
    MsvAvDnsTreeName = 5
    MsvAvFlags = 6
    MsvAvTimestamp = 7
    MsvAvSingleHost = 8
    MsvAvTargetName = 9
    MsvAvChannelBindings = 10


class AvFlags(enum.IntFlag):
    """The value of MsvAvFlags (MS-NLMP 2.2.2.1)."""

    CONSTRAINED_AUTHENTICATION = 0x1
    MIC_PRESENT = 0x2  # the AUTHENTICATE_MESSAGE carries a MIC
    UNTRUSTED_SPN_SOURCE = 0x4  # MsvAvTargetName came from an untrusted source


# Values whose size the spec fixes; a pair of another size is malformed, not merely unusual.
_FIXED_AV_SIZES = {AvId.MsvAvFlags: 4, AvId.MsvAvTimestamp: 8, AvId.MsvAvChannelBindings: 16}
# Values that are UTF-16LE names.
_TEXT_AV_IDS = frozenset((AvId.MsvAvNbComputerName, AvId.MsvAvNbDomainName, AvId.MsvAvDnsComputerName,
                          AvId.MsvAvDnsDomainName, AvId.MsvAvDnsTreeName, AvId.MsvAvTargetName))


def _malformed(what: str) -> MalformedMessageError:
    return MalformedMessageError(what)


def _decode_utf16(raw: bytes, what: str) -> str:
    if len(raw) % 2:
        raise _malformed(f"{what}: {len(raw)} bytes is not a whole number of UTF-16 units")
    return raw.decode("utf-16-le", "surrogatepass")


def _encode_text(text: str, unicode: bool) -> bytes:
    # OEM strings are written byte for byte: the OEM code page of a peer is not knowable here.
    return text.encode("utf-16-le", "surrogatepass") if unicode else text.encode("latin-1")


def _decode_text(raw: bytes, unicode: bool, what: str) -> str:
    return _decode_utf16(raw, what) if unicode else raw.decode("latin-1")


@dataclass(frozen=True)
class Version:
    """VERSION (MS-NLMP 2.2.2.10): the sender's OS version, for debugging only."""

    product_major: int = 10
    product_minor: int = 0
    product_build: int = 0
    ntlm_revision: int = 0x0F  # NTLMSSP_REVISION_W2K3, the only current value

    _LAYOUT = struct.Struct("<BBH3xB")

    def encode(self) -> bytes:
        return self._LAYOUT.pack(self.product_major, self.product_minor, self.product_build,
                                 self.ntlm_revision)

    @classmethod
    def decode(cls, data: bytes, offset: int = 0) -> Version:
        if offset + VERSION_SIZE > len(data):
            raise _malformed("VERSION: truncated")
        return cls(*cls._LAYOUT.unpack_from(data, offset))


@dataclass(frozen=True)
class AvPairs:
    """An AV_PAIR list (MS-NLMP 2.2.2.1) in its order, MsvAvEOL left implicit: ``encode`` ends
    the list with it and ``decode`` requires it. Each AvId may appear once."""

    pairs: tuple[tuple[int, bytes], ...] = ()

    def get(self, av_id: int) -> bytes | None:
        for key, value in self.pairs:
            if key == av_id:
                return value
        return None

    def text(self, av_id: int) -> str | None:
        """A name-valued pair (MsvAvNbComputerName, MsvAvTargetName, ...) as text."""
        value = self.get(av_id)
        return None if value is None else _decode_utf16(value, AvId(av_id).name)

    @property
    def flags(self) -> int:
        """MsvAvFlags, 0 when absent."""
        value = self.get(AvId.MsvAvFlags)
        return 0 if value is None else _U32.unpack(value)[0]

    @property
    def timestamp(self) -> int | None:
        """MsvAvTimestamp as a FILETIME, None when absent."""
        value = self.get(AvId.MsvAvTimestamp)
        return None if value is None else _U64.unpack(value)[0]

    def with_pair(self, av_id: int, value: bytes) -> AvPairs:
        """This list with ``av_id`` set to ``value``: replaced in place, else appended."""
        if av_id == AvId.MsvAvEOL:
            raise ValueError("MsvAvEOL is implicit")
        if av_id in _FIXED_AV_SIZES and len(value) != _FIXED_AV_SIZES[av_id]:
            raise ValueError(f"{AvId(av_id).name} has {_FIXED_AV_SIZES[av_id]} bytes")
        if len(value) > 0xFFFF:
            raise ValueError("an AV_PAIR value has at most 65535 bytes")
        if self.get(av_id) is None:
            return AvPairs(self.pairs + ((int(av_id), bytes(value)),))
        return AvPairs(tuple((key, bytes(value) if key == av_id else old) for key, old in self.pairs))

    @classmethod
    def of(cls, **names: str) -> AvPairs:
        """A list of name pairs, e.g. ``AvPairs.of(MsvAvNbDomainName="DOMAIN")``, in that order."""
        pairs = AvPairs()
        for name, text in names.items():
            pairs = pairs.with_pair(AvId[name], _encode_text(text, True))
        return pairs

    def encode(self) -> bytes:
        out = bytearray()
        for key, value in self.pairs:
            out += _U16.pack(key) + _U16.pack(len(value)) + value
        out += b"\x00\x00\x00\x00"  # MsvAvEOL, AvLen 0
        return bytes(out)

    @classmethod
    def decode_prefix(cls, data: bytes, what: str = "AV_PAIR list") -> tuple[AvPairs, int]:
        """Decode a list at the start of ``data``; return it and where its MsvAvEOL ends, so that
        bytes after it (the padding an NTLMv2 blob may carry) are left to the caller."""
        pairs: list[tuple[int, bytes]] = []
        seen: set[int] = set()
        offset = 0
        while True:
            if offset + 4 > len(data):
                raise _malformed(f"{what}: ends at byte {offset} without MsvAvEOL")
            av_id, av_len = _U16.unpack_from(data, offset)[0], _U16.unpack_from(data, offset + 2)[0]
            offset += 4
            if av_id == AvId.MsvAvEOL:
                if av_len:
                    raise _malformed(f"{what}: MsvAvEOL with AvLen {av_len}")
                return cls(tuple(pairs)), offset
            if offset + av_len > len(data):
                raise _malformed(f"{what}: AvId {av_id} length {av_len} runs past the end "
                                 f"({len(data) - offset} bytes left)")
            if av_id in seen:
                raise _malformed(f"{what}: AvId {av_id} appears twice")
            if av_id in _FIXED_AV_SIZES and av_len != _FIXED_AV_SIZES[av_id]:
                raise _malformed(f"{what}: {AvId(av_id).name} has {av_len} bytes, "
                                 f"not {_FIXED_AV_SIZES[av_id]}")
            if av_id in _TEXT_AV_IDS and av_len % 2:
                raise _malformed(f"{what}: {AvId(av_id).name} has an odd length {av_len}")
            seen.add(av_id)
            pairs.append((av_id, bytes(data[offset:offset + av_len])))
            offset += av_len

    @classmethod
    def decode(cls, data: bytes, what: str = "AV_PAIR list") -> AvPairs:
        """Decode a whole TargetInfo buffer; nothing but padding zeros may follow MsvAvEOL."""
        pairs, end = cls.decode_prefix(data, what)
        if any(data[end:]):
            raise _malformed(f"{what}: {len(data) - end} bytes after MsvAvEOL")
        return pairs


@dataclass(frozen=True)
class NTLMv2ClientChallenge:
    """NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7), the "temp" of 3.3.2.

    ``raw`` keeps the bytes exactly as received, trailing padding included, because NTProofStr
    is an HMAC over those bytes: re-encoding a parsed blob is not guaranteed to give them back.
    """

    timestamp: int
    challenge_from_client: bytes
    av_pairs: AvPairs
    raw: bytes = field(default=b"", compare=False, repr=False)

    _HEADER = struct.Struct("<BBHIQ8sI")  # RespType ... Reserved3: 28 bytes
    RESP_TYPE = 1  # RespType and HiRespType MUST be 1

    def encode(self) -> bytes:
        """The structure as 3.3.2 builds temp: header, the AV pairs with MsvAvEOL, then Z(4)."""
        header = self._HEADER.pack(self.RESP_TYPE, self.RESP_TYPE, 0, 0, self.timestamp,
                                   self.challenge_from_client, 0)
        return header + self.av_pairs.encode() + b"\x00" * 4

    @classmethod
    def decode(cls, data: bytes) -> NTLMv2ClientChallenge:
        if len(data) < cls._HEADER.size + 4:
            raise _malformed(f"NTLMv2_CLIENT_CHALLENGE: {len(data)} bytes is too short")
        resp_type, hi_resp_type, _, _, timestamp, challenge, _ = cls._HEADER.unpack_from(data, 0)
        if resp_type != cls.RESP_TYPE or hi_resp_type != cls.RESP_TYPE:
            raise _malformed(f"NTLMv2_CLIENT_CHALLENGE: RespType {resp_type}, HiRespType "
                             f"{hi_resp_type} (both must be 1)")
        av_pairs, _ = AvPairs.decode_prefix(data[cls._HEADER.size:], "NTLMv2_CLIENT_CHALLENGE AvPairs")
        return cls(timestamp, challenge, av_pairs, bytes(data))


@dataclass(frozen=True)
class NTLMv2Response:
    """NTLMv2_RESPONSE (MS-NLMP 2.2.2.8): NTProofStr, then the client challenge blob."""

    nt_proof_str: bytes
    client_challenge: NTLMv2ClientChallenge

    def encode(self) -> bytes:
        return self.nt_proof_str + (self.client_challenge.raw or self.client_challenge.encode())

    @classmethod
    def decode(cls, data: bytes) -> NTLMv2Response:
        if len(data) < NTLMV2_RESPONSE_MIN_SIZE:
            raise _malformed(f"NTLMv2_RESPONSE: {len(data)} bytes is too short")
        return cls(bytes(data[:16]), NTLMv2ClientChallenge.decode(data[16:]))


def _read_field(data: bytes, at: int, what: str, payload_start: int) -> bytes:
    """The bytes a Len/MaxLen/BufferOffset triple at ``at`` points to, checked against the
    message: an empty field's offset is not looked at (senders put anything there)."""
    length, _, offset = _FIELDS.unpack_from(data, at)
    if length == 0:
        return b""
    if offset < payload_start:
        raise _malformed(f"{what}: offset {offset} lies inside the fixed header")
    if offset + length > len(data):
        raise _malformed(f"{what}: offset {offset} + length {length} runs past the end of the "
                         f"{len(data)}-byte message")
    return bytes(data[offset:offset + length])


def _payload_start(data: bytes, field_offsets: tuple[int, ...], minimum: int) -> int:
    """Where the payload begins: the lowest offset of a nonempty field (2.2.1: payload fields
    may come in any order), or the message end. It tells whether Version and MIC are there."""
    starts = [_FIELDS.unpack_from(data, at)[2] for at in field_offsets if _FIELDS.unpack_from(data, at)[0]]
    start = min(starts, default=len(data))
    return max(start, minimum)


def _check_header(data: bytes, message_type: int, minimum: int, what: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("an NTLM message is bytes")
    if len(data) < minimum:
        raise _malformed(f"{what}: {len(data)} bytes is shorter than its {minimum}-byte header")
    if bytes(data[:8]) != SIGNATURE:
        raise _malformed(f"{what}: no NTLMSSP signature")
    found = _U32.unpack_from(data, 8)[0]
    if found != message_type:
        raise _malformed(f"{what}: MessageType {found}, expected {message_type}")


class _Payload:
    """Lays out payload fields after a fixed header, recording each one's Len/MaxLen/Offset."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.body = bytearray()

    def add(self, value: bytes) -> bytes:
        offset = self.start + len(self.body)
        if len(value) > 0xFFFF:
            raise ValueError("an NTLM payload field has at most 65535 bytes")
        self.body += value
        return _FIELDS.pack(len(value), len(value), offset)


def message_type(data: bytes) -> int:
    """The MessageType of an NTLM message (1, 2 or 3), after checking its signature."""
    if len(data) < 12 or bytes(data[:8]) != SIGNATURE:
        raise _malformed("not an NTLM message (no NTLMSSP signature)")
    return _U32.unpack_from(data, 8)[0]


@dataclass(frozen=True)
class NegotiateMessage:
    """NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). DomainName and Workstation are OEM bytes, used by
    nobody modern; they are kept as bytes."""

    flags: int
    domain_name: bytes = b""
    workstation: bytes = b""
    version: Version | None = None

    def encode(self) -> bytes:
        flags = self.flags
        if self.version is not None:
            flags |= NegotiateFlags.NEGOTIATE_VERSION
        if self.domain_name:
            flags |= NegotiateFlags.NEGOTIATE_OEM_DOMAIN_SUPPLIED
        if self.workstation:
            flags |= NegotiateFlags.NEGOTIATE_OEM_WORKSTATION_SUPPLIED
        version = self.version.encode() if self.version is not None else b""
        payload = _Payload(NEGOTIATE_FIXED_SIZE + len(version))
        domain = payload.add(self.domain_name)
        workstation = payload.add(self.workstation)
        return (SIGNATURE + _U32.pack(NEGOTIATE_MESSAGE_TYPE) + _U32.pack(int(flags)) + domain
                + workstation + version + bytes(payload.body))

    @classmethod
    def decode(cls, data: bytes) -> NegotiateMessage:
        what = "NEGOTIATE_MESSAGE"
        # Only Signature, MessageType and NegotiateFlags are required: the two OEM fields that
        # follow are meaningless to NTLMv2 and some clients stop after the flags.
        _check_header(data, NEGOTIATE_MESSAGE_TYPE, 16, what)
        flags = _U32.unpack_from(data, 12)[0]
        if len(data) < NEGOTIATE_FIXED_SIZE:
            return cls(flags)
        start = _payload_start(data, (16, 24), NEGOTIATE_FIXED_SIZE)
        domain = _read_field(data, 16, f"{what} DomainNameFields", NEGOTIATE_FIXED_SIZE)
        workstation = _read_field(data, 24, f"{what} WorkstationFields", NEGOTIATE_FIXED_SIZE)
        version = None
        if flags & NegotiateFlags.NEGOTIATE_VERSION and start >= NEGOTIATE_FIXED_SIZE + VERSION_SIZE \
                and len(data) >= NEGOTIATE_FIXED_SIZE + VERSION_SIZE:
            version = Version.decode(data, NEGOTIATE_FIXED_SIZE)
        return cls(flags, domain, workstation, version)


@dataclass(frozen=True)
class ChallengeMessage:
    """CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2)."""

    flags: int
    server_challenge: bytes
    target_name: str = ""
    target_info: AvPairs | None = None
    version: Version | None = None

    def encode(self) -> bytes:
        if len(self.server_challenge) != 8:
            raise ValueError("ServerChallenge has 8 bytes")
        flags = self.flags
        if self.target_info is not None:
            flags |= NegotiateFlags.NEGOTIATE_TARGET_INFO
        if self.version is not None:
            flags |= NegotiateFlags.NEGOTIATE_VERSION
        version = self.version.encode() if self.version is not None else b""
        payload = _Payload(CHALLENGE_FIXED_SIZE + len(version))
        unicode = bool(flags & NegotiateFlags.NEGOTIATE_UNICODE)
        target_name = payload.add(_encode_text(self.target_name, unicode))
        target_info = payload.add(self.target_info.encode() if self.target_info is not None else b"")
        return (SIGNATURE + _U32.pack(CHALLENGE_MESSAGE_TYPE) + target_name + _U32.pack(int(flags))
                + self.server_challenge + b"\x00" * 8 + target_info + version + bytes(payload.body))

    @classmethod
    def decode(cls, data: bytes) -> ChallengeMessage:
        what = "CHALLENGE_MESSAGE"
        _check_header(data, CHALLENGE_MESSAGE_TYPE, CHALLENGE_FIXED_SIZE, what)
        flags = _U32.unpack_from(data, 20)[0]
        server_challenge = bytes(data[24:32])
        start = _payload_start(data, (12, 40), CHALLENGE_FIXED_SIZE)
        unicode = bool(flags & NegotiateFlags.NEGOTIATE_UNICODE)
        target_name = _decode_text(_read_field(data, 12, f"{what} TargetNameFields", CHALLENGE_FIXED_SIZE),
                                   unicode, f"{what} TargetName")
        target_info = None
        if flags & NegotiateFlags.NEGOTIATE_TARGET_INFO:
            raw = _read_field(data, 40, f"{what} TargetInfoFields", CHALLENGE_FIXED_SIZE)
            target_info = AvPairs.decode(raw, f"{what} TargetInfo")
        version = None
        if flags & NegotiateFlags.NEGOTIATE_VERSION and start >= CHALLENGE_FIXED_SIZE + VERSION_SIZE \
                and len(data) >= CHALLENGE_FIXED_SIZE + VERSION_SIZE:
            version = Version.decode(data, CHALLENGE_FIXED_SIZE)
        return cls(flags, server_challenge, target_name, target_info, version)


@dataclass(frozen=True)
class AuthenticateMessage:
    """AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).

    ``mic`` is None when the message has no room for one (its payload starts before byte 88);
    whether a MIC must be there is the NTLMv2 blob's MsvAvFlags to say (3.2.5.1.2).
    """

    flags: int
    lm_challenge_response: bytes = b""
    nt_challenge_response: bytes = b""
    domain_name: str = ""
    user_name: str = ""
    workstation: str = ""
    encrypted_random_session_key: bytes = b""
    version: Version | None = None
    mic: bytes | None = None

    def encode(self) -> bytes:
        """The message with its payload in the order Windows writes it (domain, user,
        workstation, LM, NT, session key); Version and MIC slots when either is given."""
        if self.mic is not None and len(self.mic) != MIC_SIZE:
            raise ValueError("a MIC has 16 bytes")
        unicode = bool(self.flags & NegotiateFlags.NEGOTIATE_UNICODE)
        flags = self.flags
        middle = b""
        if self.version is not None or self.mic is not None:
            middle = self.version.encode() if self.version is not None else b"\x00" * VERSION_SIZE
            if self.mic is not None:
                middle += self.mic
        if self.version is not None:
            flags |= NegotiateFlags.NEGOTIATE_VERSION
        payload = _Payload(AUTHENTICATE_FIXED_SIZE + len(middle))
        domain = payload.add(_encode_text(self.domain_name, unicode))
        user = payload.add(_encode_text(self.user_name, unicode))
        workstation = payload.add(_encode_text(self.workstation, unicode))
        lm = payload.add(self.lm_challenge_response)
        nt = payload.add(self.nt_challenge_response)
        key = payload.add(self.encrypted_random_session_key)
        return (SIGNATURE + _U32.pack(AUTHENTICATE_MESSAGE_TYPE) + lm + nt + domain + user
                + workstation + key + _U32.pack(int(flags)) + middle + bytes(payload.body))

    @classmethod
    def decode(cls, data: bytes) -> AuthenticateMessage:
        what = "AUTHENTICATE_MESSAGE"
        _check_header(data, AUTHENTICATE_MESSAGE_TYPE, AUTHENTICATE_FIXED_SIZE, what)
        flags = _U32.unpack_from(data, 60)[0]
        unicode = bool(flags & NegotiateFlags.NEGOTIATE_UNICODE)
        start = _payload_start(data, (12, 20, 28, 36, 44, 52), AUTHENTICATE_FIXED_SIZE)
        fixed = AUTHENTICATE_FIXED_SIZE

        def text(at: int, name: str) -> str:
            return _decode_text(_read_field(data, at, f"{what} {name}Fields", fixed), unicode,
                                f"{what} {name}")

        lm = _read_field(data, 12, f"{what} LmChallengeResponseFields", fixed)
        nt = _read_field(data, 20, f"{what} NtChallengeResponseFields", fixed)
        domain = text(28, "DomainName")
        user = text(36, "UserName")
        workstation = text(44, "Workstation")
        key = _read_field(data, 52, f"{what} EncryptedRandomSessionKeyFields", fixed)
        version = None
        if start >= MIC_OFFSET and flags & NegotiateFlags.NEGOTIATE_VERSION:
            version = Version.decode(data, AUTHENTICATE_FIXED_SIZE)
        mic = bytes(data[MIC_OFFSET:MIC_OFFSET + MIC_SIZE]) if start >= MIC_OFFSET + MIC_SIZE else None
        return cls(flags, lm, nt, domain, user, workstation, key, version, mic)

    def with_mic(self, value: bytes | None) -> AuthenticateMessage:
        return replace(self, mic=value)


def zero_mic(authenticate: bytes) -> bytes:
    """The AUTHENTICATE_MESSAGE bytes with the MIC field set to zero, as the MIC is computed
    (MS-NLMP 3.1.5.1.2): the rest of the message is kept exactly as it was sent."""
    if len(authenticate) < MIC_OFFSET + MIC_SIZE:
        raise _malformed("AUTHENTICATE_MESSAGE: no room for a MIC")
    return bytes(authenticate[:MIC_OFFSET]) + b"\x00" * MIC_SIZE + bytes(authenticate[MIC_OFFSET + MIC_SIZE:])
