"""The NTLM messages: the MS-NLMP 4.2.4.3 examples decoded and re-encoded byte for byte, round
trips, and hostile input (truncation, offsets and lengths past the end, random bytes), which
must only ever raise MalformedMessageError, quickly and without large allocations."""

from __future__ import annotations

import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pydcom.ntlm.errors import MalformedMessageError
from pydcom.ntlm.messages import (
    AuthenticateMessage,
    AvId,
    AvPairs,
    ChallengeMessage,
    NegotiateFlags,
    NegotiateMessage,
    NTLMv2ClientChallenge,
    NTLMv2Response,
    Version,
    message_type,
    zero_mic,
)

from . import spec_vectors as spec

F = NegotiateFlags
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ MS-NLMP 4.2.4.3 examples
def test_spec_challenge_decodes():
    message = ChallengeMessage.decode(spec.CHALLENGE_MESSAGE)
    assert message.flags == spec.FLAGS
    assert message.server_challenge == spec.SERVER_CHALLENGE
    assert message.target_name == spec.SERVER_NAME
    assert message.target_info.text(AvId.MsvAvNbDomainName) == spec.USER_DOM
    assert message.target_info.text(AvId.MsvAvNbComputerName) == spec.SERVER_NAME
    assert message.target_info.timestamp is None
    assert message.version == Version(6, 0, 6000, 15)


def test_spec_challenge_reencodes_byte_for_byte():
    assert ChallengeMessage.decode(spec.CHALLENGE_MESSAGE).encode() == spec.CHALLENGE_MESSAGE


def test_spec_authenticate_decodes():
    message = AuthenticateMessage.decode(spec.AUTHENTICATE_MESSAGE)
    assert message.flags == 0xE2888235
    assert message.domain_name == spec.USER_DOM
    assert message.user_name == spec.USER
    assert message.workstation == spec.WORKSTATION
    assert message.lm_challenge_response == spec.LMV2_RESPONSE
    assert message.nt_challenge_response == spec.NT_PROOF_STR + spec.TEMP
    assert message.encrypted_random_session_key == spec.ENCRYPTED_SESSION_KEY
    assert message.version == Version(5, 1, 2600, 15)
    assert message.mic is None  # the payload starts at 0x48: a Version, no MIC


def test_spec_authenticate_reencodes_byte_for_byte():
    assert AuthenticateMessage.decode(spec.AUTHENTICATE_MESSAGE).encode() == spec.AUTHENTICATE_MESSAGE


def test_spec_ntlmv2_response_decodes_and_keeps_raw_blob():
    response = NTLMv2Response.decode(spec.NT_PROOF_STR + spec.TEMP)
    blob = response.client_challenge
    assert response.nt_proof_str == spec.NT_PROOF_STR
    assert blob.raw == spec.TEMP
    assert blob.timestamp == spec.TIME
    assert blob.challenge_from_client == spec.CLIENT_CHALLENGE
    assert blob.av_pairs == AvPairs.decode(spec.AV_PAIRS)
    assert blob.encode() == spec.TEMP  # 3.3.2's temp: the AV pairs, then Z(4)


def test_blob_without_trailing_zeros_keeps_its_exact_bytes():
    # impacket ends its blob right after MsvAvEOL; the raw bytes are what its HMAC covered.
    short = spec.TEMP[:-4]
    blob = NTLMv2ClientChallenge.decode(short)
    assert blob.raw == short and blob.encode() != short


def test_message_type():
    assert message_type(spec.CHALLENGE_MESSAGE) == 2
    assert message_type(spec.AUTHENTICATE_MESSAGE) == 3
    with pytest.raises(MalformedMessageError):
        message_type(b"NTLMSSP")


# ------------------------------------------------------------------ round trips
def test_negotiate_round_trip_with_oem_fields_and_version():
    message = NegotiateMessage(F.NEGOTIATE_UNICODE | F.NEGOTIATE_NTLM, b"DOMAIN", b"WS",
                               Version(10, 0, 20348))
    decoded = NegotiateMessage.decode(message.encode())
    assert decoded.domain_name == b"DOMAIN" and decoded.workstation == b"WS"
    assert decoded.version == Version(10, 0, 20348)
    assert decoded.flags & F.NEGOTIATE_OEM_DOMAIN_SUPPLIED and decoded.flags & F.NEGOTIATE_VERSION


def test_negotiate_of_flags_only_is_accepted():
    # Signature, MessageType and NegotiateFlags: the rest is meaningless to NTLMv2.
    decoded = NegotiateMessage.decode(b"NTLMSSP\x00\x01\x00\x00\x00" + struct.pack("<I", 0xE2088297))
    assert decoded.flags == 0xE2088297 and decoded.version is None


def test_authenticate_with_mic_round_trip_and_zero_mic():
    message = AuthenticateMessage(F.NEGOTIATE_UNICODE | F.NEGOTIATE_VERSION, b"\x00" * 24, b"n" * 50,
                                  "D", "U", "W", b"k" * 16, Version(), b"M" * 16)
    encoded = message.encode()
    assert AuthenticateMessage.decode(encoded) == message
    assert encoded[72:88] == b"M" * 16
    zeroed = zero_mic(encoded)
    assert zeroed[72:88] == bytes(16) and zeroed[:72] == encoded[:72] and zeroed[88:] == encoded[88:]


def test_authenticate_mic_without_version_flag_keeps_the_version_slot():
    message = AuthenticateMessage(F.NEGOTIATE_UNICODE, mic=b"M" * 16, user_name="u")
    decoded = AuthenticateMessage.decode(message.encode())
    assert decoded.mic == b"M" * 16 and decoded.version is None


def test_oem_authenticate_strings_round_trip():
    message = AuthenticateMessage(F.NEGOTIATE_OEM, user_name="user", domain_name="DOM")
    assert AuthenticateMessage.decode(message.encode()) == message


names = st.text(max_size=20)
blobs = st.binary(max_size=80)


@FUZZ
@given(flags=st.integers(0, 0xFFFFFFFF), lm=blobs, nt=blobs, domain=names, user=names,
       workstation=names, key=st.binary(max_size=16), mic=st.none() | st.binary(min_size=16, max_size=16),
       version=st.none() | st.builds(Version, st.integers(0, 255), st.integers(0, 255),
                                     st.integers(0, 0xFFFF)))
def test_authenticate_round_trip(flags, lm, nt, domain, user, workstation, key, mic, version):
    flags |= F.NEGOTIATE_UNICODE
    if version is None:
        flags &= ~F.NEGOTIATE_VERSION
    message = AuthenticateMessage(flags, lm, nt, domain, user, workstation, key, version, mic)
    decoded = AuthenticateMessage.decode(message.encode())
    assert decoded.with_mic(decoded.mic) == decoded
    assert (decoded.lm_challenge_response, decoded.nt_challenge_response, decoded.user_name,
            decoded.domain_name, decoded.workstation, decoded.encrypted_random_session_key) == \
        (lm, nt, user, domain, workstation, key)
    assert decoded.version == version
    # A MIC is only seen when something follows it or when it is there with a version slot.
    if mic is not None:
        assert decoded.mic == mic


av_values = st.lists(st.tuples(st.sampled_from([1, 2, 3, 4, 5, 9, 11, 0x1234]),
                               st.binary(max_size=40).map(lambda b: b[: len(b) // 2 * 2])),
                     max_size=6, unique_by=lambda pair: pair[0])


@FUZZ
@given(av_values, st.binary(min_size=8, max_size=8), st.text(max_size=15))
def test_challenge_round_trip(pairs, server_challenge, target_name):
    info = AvPairs(tuple(pairs))
    message = ChallengeMessage(F.NEGOTIATE_UNICODE | F.NEGOTIATE_TARGET_INFO, server_challenge,
                               target_name, info, Version())
    assert ChallengeMessage.decode(message.encode()) == ChallengeMessage(
        message.flags | F.NEGOTIATE_VERSION, server_challenge, target_name, info, Version())


def test_av_pairs_helpers():
    pairs = AvPairs.of(MsvAvNbDomainName="D", MsvAvNbComputerName="C")
    pairs = pairs.with_pair(AvId.MsvAvFlags, b"\x02\x00\x00\x00").with_pair(AvId.MsvAvNbDomainName, b"X\x00")
    assert [key for key, _ in pairs.pairs] == [2, 1, 6]
    assert pairs.text(AvId.MsvAvNbDomainName) == "X" and pairs.flags == 2
    with pytest.raises(ValueError):
        pairs.with_pair(AvId.MsvAvTimestamp, b"123")
    with pytest.raises(ValueError):
        pairs.with_pair(AvId.MsvAvEOL, b"")


# ------------------------------------------------------------------ hostile input
@pytest.mark.parametrize(("data", "fragment"), [
    (b"\x01\x00\x04\x00ab", "runs past the end"),
    (b"\x01\x00\x02\x00ab", "without MsvAvEOL"),
    (b"\x00\x00\x02\x00ab", "MsvAvEOL with AvLen"),
    (b"\x01\x00\x02\x00ab\x01\x00\x02\x00cd\x00\x00\x00\x00", "appears twice"),
    (b"\x06\x00\x02\x00ab\x00\x00\x00\x00", "MsvAvFlags has 2 bytes"),
    (b"\x07\x00\x04\x00abcd\x00\x00\x00\x00", "MsvAvTimestamp has 4 bytes"),
    (b"\x01\x00\x03\x00abc\x00\x00\x00\x00", "odd length"),
    (b"\x00\x00\x00\x00junk", "after MsvAvEOL"),
    (b"", "without MsvAvEOL"),
])
def test_bad_av_pairs(data, fragment):
    with pytest.raises(MalformedMessageError, match=fragment):
        AvPairs.decode(data)


def _field(buffer: bytearray, at: int, length: int, offset: int) -> bytes:
    struct.pack_into("<HHI", buffer, at, length, length, offset)
    return bytes(buffer)


@pytest.mark.parametrize(("at", "length", "offset", "fragment"), [
    (20, 0xFFFF, 0x84, "runs past the end"),            # NT response length huge
    (20, 0x54, 0xFFFFFFFF, "runs past the end"),        # offset far past the end
    (36, 8, 4, "inside the fixed header"),              # user name over the header
    (28, 11, 0x48, "UTF-16"),                            # odd-length Unicode domain
])
def test_authenticate_bad_fields(at, length, offset, fragment):
    data = _field(bytearray(spec.AUTHENTICATE_MESSAGE), at, length, offset)
    with pytest.raises(MalformedMessageError, match=fragment):
        AuthenticateMessage.decode(data)


def test_challenge_target_info_past_the_end():
    data = _field(bytearray(spec.CHALLENGE_MESSAGE), 40, 0x1000, 0x44)
    with pytest.raises(MalformedMessageError, match="TargetInfoFields"):
        ChallengeMessage.decode(data)


@pytest.mark.parametrize(("data", "fragment"), [
    (b"NTLMSSQ\x00\x03\x00\x00\x00" + bytes(60), "signature"),
    (b"NTLMSSP\x00\x02\x00\x00\x00" + bytes(60), "MessageType 2"),
    (b"NTLMSSP\x00\x03\x00\x00\x00", "shorter"),
])
def test_authenticate_bad_headers(data, fragment):
    with pytest.raises(MalformedMessageError, match=fragment):
        AuthenticateMessage.decode(data)


@pytest.mark.parametrize("decoder", [NegotiateMessage.decode, ChallengeMessage.decode,
                                     AuthenticateMessage.decode])
def test_every_truncation_is_malformed_or_decodes(decoder):
    source = {NegotiateMessage.decode: NegotiateMessage(F.NEGOTIATE_UNICODE, b"D", b"W", Version()).encode(),
              ChallengeMessage.decode: spec.CHALLENGE_MESSAGE,
              AuthenticateMessage.decode: spec.AUTHENTICATE_MESSAGE}[decoder]
    for end in range(len(source)):
        try:
            decoder(source[:end])
        except MalformedMessageError:
            pass


def test_ntlmv2_blob_checks():
    with pytest.raises(MalformedMessageError, match="too short"):
        NTLMv2Response.decode(spec.NT_PROOF_STR + spec.TEMP[:20])
    with pytest.raises(MalformedMessageError, match="RespType 2"):
        NTLMv2ClientChallenge.decode(b"\x02" + spec.TEMP[1:])
    with pytest.raises(MalformedMessageError, match="without MsvAvEOL"):
        NTLMv2ClientChallenge.decode(spec.TEMP[:28] + b"\x01\x00\x02\x00ab")


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_malformed(data):
    for decoder in (NegotiateMessage.decode, ChallengeMessage.decode, AuthenticateMessage.decode,
                    NTLMv2Response.decode, AvPairs.decode):
        try:
            decoder(data)
        except MalformedMessageError:
            pass


@FUZZ
@given(st.sampled_from([spec.CHALLENGE_MESSAGE, spec.AUTHENTICATE_MESSAGE]),
       st.lists(st.tuples(st.integers(0, 231), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_spec_messages_only_raise_malformed(source, edits):
    data = bytearray(source)
    for position, value in edits:
        data[position % len(data)] = value
    decoder = ChallengeMessage.decode if source is spec.CHALLENGE_MESSAGE else AuthenticateMessage.decode
    try:
        message = decoder(bytes(data))
    except MalformedMessageError:
        return
    if decoder is AuthenticateMessage.decode and len(message.nt_challenge_response) >= 44:
        try:
            NTLMv2Response.decode(message.nt_challenge_response)
        except MalformedMessageError:
            pass


def test_huge_length_fields_allocate_nothing_large():
    # Every length field at its maximum, every offset near the top: a decoder that trusted them
    # would allocate gigabytes; this one must refuse with a few kilobytes.
    data = bytearray(spec.AUTHENTICATE_MESSAGE)
    for at in (12, 20, 28, 36, 44, 52):
        struct.pack_into("<HHI", data, at, 0xFFFF, 0xFFFF, 0xFFFFFF00)
    tracemalloc.start()
    try:
        with pytest.raises(MalformedMessageError):
            AuthenticateMessage.decode(bytes(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024
