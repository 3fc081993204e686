"""Our initiator against our acceptor: the three legs, then signing and sealing in both
directions with sequence numbers, and every refusal the acceptor owes (bad credentials, NTLMv1,
LM, anonymous, no extended session security, a bad MIC, a stale timestamp, a wrong target)."""

from __future__ import annotations

import struct
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pydcom.ntlm import (
    Acceptor,
    AuthenticationError,
    Initiator,
    MalformedMessageError,
    NtlmError,
    SequenceError,
    SignatureError,
    crypto,
    nt_hash,
)
from pydcom.ntlm.errors import SEC_E_LOGON_DENIED, SEC_E_UNSUPPORTED_FUNCTION, SEC_E_WRONG_PRINCIPAL
from pydcom.ntlm.initiator import DEFAULT_FLAGS
from pydcom.ntlm.messages import (
    AuthenticateMessage,
    AvFlags,
    AvPairs,
    AvId,
    ChallengeMessage,
    NegotiateFlags,
    NegotiateMessage,
    NTLMv2ClientChallenge,
)

F = NegotiateFlags
ACCOUNTS = {("alice", "HOSTB"): nt_hash("correct horse"), ("bob", ""): nt_hash("battery staple")}


def lookup(user: str, domain: str) -> bytes | None:
    return ACCOUNTS.get((user.lower(), domain.upper()))


def make_acceptor(**options) -> Acceptor:
    options.setdefault("nb_computer_name", "HOSTB")
    options.setdefault("dns_computer_name", "hostb.example.test")
    return Acceptor(lookup, **options)


def handshake(initiator: Initiator | None = None, acceptor: Acceptor | None = None):
    initiator = initiator or Initiator("alice", "HOSTB", password="correct horse", workstation="HOSTA")
    acceptor = acceptor or make_acceptor()
    challenge = acceptor.accept_negotiate(initiator.negotiate())
    server = acceptor.accept_authenticate(initiator.authenticate(challenge))
    return initiator.session, server


# ------------------------------------------------------------------ the three legs
def test_handshake_agrees_on_keys_flags_and_identity():
    client, server = handshake()
    assert client.session_key == server.session_key
    assert client.flags == server.flags
    assert server.flags & F.NEGOTIATE_SEAL and server.flags & F.NEGOTIATE_KEY_EXCH
    assert (server.user, server.domain, server.identity.workstation) == ("alice", "HOSTB", "HOSTA")
    assert not server.identity.anonymous


def test_challenge_carries_what_clients_need():
    acceptor = make_acceptor(nb_domain_name="EXAMPLE", dns_domain_name="example.test")
    negotiate = Initiator("alice", password="x").negotiate()
    challenge = ChallengeMessage.decode(acceptor.accept_negotiate(negotiate))
    info = challenge.target_info
    assert [key for key, _ in info.pairs] == [AvId.MsvAvNbDomainName, AvId.MsvAvNbComputerName,
                                              AvId.MsvAvDnsDomainName, AvId.MsvAvDnsComputerName,
                                              AvId.MsvAvTimestamp]
    assert info.text(AvId.MsvAvDnsComputerName) == "hostb.example.test"
    assert abs(crypto.unix_seconds(info.timestamp) - time.time()) < 60
    assert challenge.target_name == "EXAMPLE" and challenge.flags & F.TARGET_TYPE_DOMAIN
    assert challenge.flags & F.NEGOTIATE_EXTENDED_SESSIONSECURITY and challenge.version is not None


def test_two_challenges_never_share_a_nonce():
    negotiate = Initiator("a", password="").negotiate()
    nonces = {ChallengeMessage.decode(make_acceptor().accept_negotiate(negotiate)).server_challenge
              for _ in range(50)}
    assert len(nonces) == 50


def test_initiator_sends_a_mic_and_a_target_name_as_windows_does():
    initiator = Initiator("alice", "HOSTB", password="correct horse", target_name="host/hostb")
    acceptor = make_acceptor()
    challenge = acceptor.accept_negotiate(initiator.negotiate())
    sent = initiator.authenticate(challenge)
    message = AuthenticateMessage.decode(sent)
    blob = NTLMv2ClientChallenge.decode(message.nt_challenge_response[16:])
    assert blob.av_pairs.flags & AvFlags.MIC_PRESENT and message.mic not in (None, bytes(16))
    assert blob.av_pairs.text(AvId.MsvAvTargetName) == "host/hostb"
    assert blob.timestamp == ChallengeMessage.decode(challenge).target_info.timestamp
    assert blob.raw.endswith(b"\x00\x00\x00\x00" * 2)  # MsvAvEOL, then 3.3.2's Z(4)
    assert message.lm_challenge_response == bytes(24)  # Z(24) when the server sent a timestamp
    assert acceptor.accept_authenticate(sent).identity.target_name == "host/hostb"


def test_initiator_sends_no_version_the_server_did_not_grant():
    initiator, acceptor = Initiator("alice", "HOSTB", password="correct horse"), make_acceptor()
    negotiate = NegotiateMessage.decode(initiator.negotiate())
    assert negotiate.version is not None
    challenge = acceptor.accept_negotiate(NegotiateMessage(negotiate.flags & ~F.NEGOTIATE_VERSION).encode())
    message = AuthenticateMessage.decode(initiator.authenticate(challenge))
    assert not message.flags & F.NEGOTIATE_VERSION and message.version is None
    assert message.mic is not None  # the Version slot is still there, zeroed, before the MIC
    assert message.flags == initiator.session.flags


def test_initiator_accepts_an_nt_hash_instead_of_a_password():
    initiator = Initiator("alice", "HOSTB", nt_hash=nt_hash("correct horse"))
    _, server = handshake(initiator)
    assert server.user == "alice"


def test_user_names_match_case_insensitively_through_ntowfv2():
    _, server = handshake(Initiator("ALICE", "HOSTB", password="correct horse"))
    assert server.user == "ALICE"


@pytest.mark.parametrize("strength", [F.NEGOTIATE_128, F.NEGOTIATE_56, 0])
@pytest.mark.parametrize("key_exchange", [True, False])
def test_every_key_strength_and_exchange_mode_works(strength, key_exchange):
    flags = DEFAULT_FLAGS & ~(F.NEGOTIATE_128 | F.NEGOTIATE_56 | F.NEGOTIATE_KEY_EXCH) | strength
    if key_exchange:
        flags |= F.NEGOTIATE_KEY_EXCH
    client, server = handshake(Initiator("alice", "HOSTB", password="correct horse", flags=flags))
    assert bool(server.flags & F.NEGOTIATE_KEY_EXCH) == key_exchange
    sealed, signature = client.seal(b"payload")
    assert server.unseal(sealed, signature) == b"payload"
    client.verify(b"reply", server.sign(b"reply"))


# ------------------------------------------------------------------ signing and sealing
def test_sign_and_seal_both_directions_over_many_messages():
    client, server = handshake()
    for n in range(20):
        request = f"request {n}".encode() * (n + 1)
        signature = client.sign(request)
        assert struct.unpack("<I", signature[12:])[0] == 2 * n  # seq numbers shared by sign and seal
        server.verify(request, signature)
        sealed, signature = client.seal(request)
        assert sealed != request
        assert server.unseal(sealed, signature) == request
        reply = f"reply {n}".encode()
        client.verify(reply, server.sign(reply))
        sealed, signature = server.seal(reply)
        assert client.unseal(sealed, signature) == reply


def test_header_signing_covers_clear_prefix_and_suffix():
    client, server = handshake()
    header, body, trailer = b"H" * 16, b"stub data" * 10, b"T" * 8
    sealed, signature = client.seal(body, signed_prefix=header, signed_suffix=trailer)
    assert server.unseal(sealed, signature, signed_prefix=header, signed_suffix=trailer) == body
    sealed, signature = client.seal(body, signed_prefix=header, signed_suffix=trailer)
    with pytest.raises(SignatureError):
        server.unseal(sealed, signature, signed_prefix=b"X" + header[1:], signed_suffix=trailer)


def test_replayed_message_fails():
    client, server = handshake()
    signature = client.sign(b"one")
    server.verify(b"one", signature)
    with pytest.raises(SequenceError):
        server.verify(b"one", signature)


def test_reordered_messages_fail():
    client, server = handshake()
    client.seal(b"first")  # sent, never delivered before the second
    second = client.seal(b"second")
    with pytest.raises(SequenceError, match="sequence number 1, expected 0"):
        server.unseal(*second)


def test_dropped_message_fails_the_next():
    client, server = handshake()
    client.sign(b"lost")
    with pytest.raises(SequenceError):
        server.verify(b"next", client.sign(b"next"))


def test_altered_message_and_signature_fail():
    client, server = handshake()
    sealed, signature = client.seal(b"pay 10 euros")
    altered = bytes([sealed[0] ^ 1]) + sealed[1:]
    with pytest.raises(SignatureError) as raised:
        server.unseal(altered, signature)
    assert not isinstance(raised.value, SequenceError)
    client, server = handshake()
    signature = bytearray(client.sign(b"message"))
    signature[5] ^= 0x80
    with pytest.raises(SignatureError, match="checksum"):
        server.verify(b"message", bytes(signature))


def test_a_context_is_unusable_after_a_failed_verification():
    client, server = handshake()
    with pytest.raises(SignatureError):
        server.verify(b"forged", bytes([1, 0, 0, 0]) + bytes(12))
    with pytest.raises(SignatureError, match="earlier verification"):
        server.verify(b"genuine", client.sign(b"genuine"))


@pytest.mark.parametrize(("signature", "fragment"), [
    (b"\x01\x00\x00\x00" + bytes(8), "16 bytes"),
    (b"\x02\x00\x00\x00" + bytes(12), "Version 2"),
])
def test_malformed_signatures(signature, fragment):
    _, server = handshake()
    with pytest.raises(SignatureError, match=fragment):
        server.verify(b"message", signature)


def test_a_reflected_signature_fails():
    client, _ = handshake()
    message = b"reflect me"
    with pytest.raises(SignatureError):
        client.verify(message, client.sign(message))


def test_signatures_cannot_cross_sessions():
    client_a, _ = handshake()
    _, server_b = handshake()
    with pytest.raises(SignatureError):
        server_b.verify(b"message", client_a.sign(b"message"))


def test_seal_needs_seal_and_sign_needs_integrity():
    flags = DEFAULT_FLAGS & ~F.NEGOTIATE_SEAL
    client, server = handshake(Initiator("alice", "HOSTB", password="correct horse", flags=flags))
    server.verify(b"m", client.sign(b"m"))
    with pytest.raises(NtlmError) as raised:
        client.seal(b"m")
    assert raised.value.hresult == SEC_E_UNSUPPORTED_FUNCTION
    flags &= ~F.NEGOTIATE_SIGN
    client, _ = handshake(Initiator("alice", "HOSTB", password="correct horse", flags=flags))
    with pytest.raises(NtlmError, match="integrity"):
        client.sign(b"m")


def test_sequence_number_exhaustion_is_refused():
    client, _ = handshake()
    client._out.seq_num = 2 ** 32 - 1
    with pytest.raises(NtlmError, match="exhausted"):
        client.sign(b"m")


def test_concurrent_senders_get_distinct_sequence_numbers_in_key_stream_order():
    client, server = handshake()
    produced, lock = [], threading.Lock()

    def send(n: int) -> None:
        for k in range(50):
            message = f"{n}-{k}".encode()
            sealed, signature = client.seal(message)
            with lock:
                produced.append((struct.unpack("<I", signature[12:])[0], sealed, signature, message))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    produced.sort()
    assert [seq for seq, *_ in produced] == list(range(400))
    for _, sealed, signature, message in produced:
        assert server.unseal(sealed, signature) == message


# ------------------------------------------------------------------ refusals
def _refusal(initiator: Initiator, acceptor: Acceptor | None = None) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as raised:
        handshake(initiator, acceptor)
    return raised.value


def test_wrong_password_and_unknown_user_read_the_same():
    wrong = _refusal(Initiator("alice", "HOSTB", password="wrong"))
    unknown = _refusal(Initiator("mallory", "HOSTB", password="correct horse"))
    assert wrong.hresult == unknown.hresult == SEC_E_LOGON_DENIED
    assert str(wrong) == str(unknown)
    assert "mallory" not in str(unknown)


def test_wrong_domain_is_refused():
    _refusal(Initiator("alice", "OTHER", password="correct horse"))


def test_account_store_with_a_bad_hash_is_an_error_not_a_logon():
    acceptor = Acceptor(lambda user, domain: b"short")
    with pytest.raises(NtlmError, match="16 bytes"):
        handshake(acceptor=acceptor)


def _ntlmv2_blob(*, timestamp: int | None = None, av_flags: int = 0, target_name: str | None = None,
                 trailer: bytes = b"\x00" * 4):
    def build(challenge: ChallengeMessage) -> bytes:
        pairs = challenge.target_info
        if av_flags:
            pairs = pairs.with_pair(AvId.MsvAvFlags, av_flags.to_bytes(4, "little"))
        if target_name is not None:
            pairs = pairs.with_pair(AvId.MsvAvTargetName, crypto.utf16(target_name))
        blob = NTLMv2ClientChallenge(pairs.timestamp if timestamp is None else timestamp, b"c" * 8, pairs)
        return blob.encode()[:-4] + trailer
    return build


def hand_built_authenticate(acceptor: Acceptor, *, user="alice", domain="HOSTB", key_domain=None,
                            password="correct horse", flags=None, blob=None, mic=None, negotiate_flags=None,
                            lm=None, nt=None):
    """An AUTHENTICATE built step by step from crypto functions, for cases our Initiator never
    produces (an empty UserDom in the key, no MIC, a stale timestamp, NTLMv1, ...)."""
    negotiate = NegotiateMessage(int(DEFAULT_FLAGS if negotiate_flags is None else negotiate_flags)).encode()
    challenge = ChallengeMessage.decode(acceptor.accept_negotiate(negotiate))
    flags = int(DEFAULT_FLAGS & ~F.NEGOTIATE_KEY_EXCH if flags is None else flags)
    response_key = crypto.ntowfv2(nt_hash(password), user, domain if key_domain is None else key_domain)
    temp = (blob or _ntlmv2_blob())(challenge)
    proof = crypto.nt_proof_str(response_key, challenge.server_challenge, temp)
    message = AuthenticateMessage(flags, bytes(24) if lm is None else lm, proof + temp if nt is None else nt,
                                  domain, user, "HOSTA", mic=mic)
    return acceptor, message.encode(), crypto.session_base_key(response_key, proof)


def test_client_that_keyed_with_an_empty_domain_is_accepted():
    # MS-NLMP 3.2.5.1.2: servers SHOULD accept clients that used NIL as UserDom in NTOWFv2.
    acceptor, message, _ = hand_built_authenticate(make_acceptor(), key_domain="")
    assert acceptor.accept_authenticate(message).domain == "HOSTB"


@pytest.mark.parametrize("trailer", [b"", b"\x00" * 4, b"\x00" * 12])
def test_blob_is_verified_as_sent_whatever_follows_its_av_pairs(trailer):
    acceptor, message, base_key = hand_built_authenticate(make_acceptor(), blob=_ntlmv2_blob(trailer=trailer))
    session = acceptor.accept_authenticate(message)
    assert session.session_key == base_key  # no key exchange: the exported key is KXKEY


def test_stale_timestamp_is_refused():
    stale = crypto.filetime(time.time() - 48 * 3600)
    acceptor, message, _ = hand_built_authenticate(make_acceptor(), blob=_ntlmv2_blob(timestamp=stale))
    with pytest.raises(AuthenticationError, match="TimeStamp"):
        acceptor.accept_authenticate(message)


def test_mic_announced_but_missing_is_refused():
    blob = _ntlmv2_blob(av_flags=AvFlags.MIC_PRESENT)
    acceptor, message, _ = hand_built_authenticate(make_acceptor(), blob=blob)
    with pytest.raises(AuthenticationError, match="no room"):
        acceptor.accept_authenticate(message)


def test_wrong_mic_is_refused():
    blob = _ntlmv2_blob(av_flags=AvFlags.MIC_PRESENT)
    acceptor, message, _ = hand_built_authenticate(make_acceptor(), blob=blob, mic=b"\x11" * 16)
    with pytest.raises(AuthenticationError, match="MIC"):
        acceptor.accept_authenticate(message)


def test_mic_detects_negotiate_flags_altered_on_the_way():
    initiator, acceptor = Initiator("alice", "HOSTB", password="correct horse"), make_acceptor()
    sent = initiator.negotiate()
    flags = struct.unpack_from("<I", sent, 12)[0] & ~F.NEGOTIATE_SEAL
    downgraded = sent[:12] + struct.pack("<I", flags) + sent[16:]
    challenge = acceptor.accept_negotiate(downgraded)
    with pytest.raises(AuthenticationError, match="MIC"):
        acceptor.accept_authenticate(initiator.authenticate(challenge))


def test_ntlmv1_is_refused():
    acceptor, message, _ = hand_built_authenticate(make_acceptor(), nt=b"\x01" * 24)
    with pytest.raises(AuthenticationError, match="NTLMv1"):
        acceptor.accept_authenticate(message)


def test_lm_only_is_refused():
    acceptor, message, _ = hand_built_authenticate(make_acceptor(), nt=b"", lm=b"\x01" * 24)
    with pytest.raises(AuthenticationError, match="LM"):
        acceptor.accept_authenticate(message)


def test_authenticate_without_ess_is_refused():
    flags = int(DEFAULT_FLAGS & ~F.NEGOTIATE_EXTENDED_SESSIONSECURITY & ~F.NEGOTIATE_KEY_EXCH)
    acceptor, message, _ = hand_built_authenticate(make_acceptor(), flags=flags)
    with pytest.raises(AuthenticationError, match="extended session security"):
        acceptor.accept_authenticate(message)


def test_authenticate_cannot_add_session_flags_the_challenge_did_not_grant():
    acceptor, message, _ = hand_built_authenticate(make_acceptor(),
                                                   negotiate_flags=DEFAULT_FLAGS & ~F.NEGOTIATE_SEAL,
                                                   flags=DEFAULT_FLAGS & ~F.NEGOTIATE_KEY_EXCH)
    with pytest.raises(AuthenticationError, match="did not grant"):
        acceptor.accept_authenticate(message)


def test_negotiate_without_ess_or_unicode_is_refused():
    for missing in (F.NEGOTIATE_EXTENDED_SESSIONSECURITY, F.NEGOTIATE_UNICODE):
        with pytest.raises(AuthenticationError):
            make_acceptor().accept_negotiate(NegotiateMessage(int(DEFAULT_FLAGS & ~missing)).encode())


def test_initiator_refuses_a_server_without_ess():
    initiator = Initiator("alice", password="x")
    initiator.negotiate()
    challenge = ChallengeMessage(int(F.NEGOTIATE_UNICODE | F.NEGOTIATE_NTLM), b"s" * 8,
                                 target_info=AvPairs.of(MsvAvNbComputerName="HOSTB"))
    with pytest.raises(NtlmError, match="extended session security"):
        initiator.authenticate(challenge.encode())


def _anonymous_authenticate(acceptor: Acceptor, lm: bytes = b"\x00") -> bytes:
    acceptor.accept_negotiate(NegotiateMessage(int(DEFAULT_FLAGS)).encode())
    flags = DEFAULT_FLAGS | F.ANONYMOUS
    return AuthenticateMessage(int(flags), lm, b"", "", "", "", bytes(16)).encode()


@pytest.mark.parametrize("lm", [b"", b"\x00"])
def test_anonymous_is_refused_unless_allowed(lm):
    acceptor = make_acceptor()
    with pytest.raises(AuthenticationError, match="anonymous"):
        acceptor.accept_authenticate(_anonymous_authenticate(acceptor, lm))


def test_anonymous_when_allowed_gives_an_anonymous_session():
    acceptor = make_acceptor(allow_anonymous=True)
    session = acceptor.accept_authenticate(_anonymous_authenticate(acceptor))
    assert session.identity.anonymous and session.user == ""
    # Key exchange under the Z(16) base key: the client's random key is recoverable by design.
    assert session.session_key == crypto.decrypt_session_key(bytes(16), bytes(16))


def test_empty_authenticate_is_refused_cleanly():
    # A 64-byte AUTHENTICATE with every field empty (as some clients send for "no credentials").
    acceptor = make_acceptor()
    acceptor.accept_negotiate(NegotiateMessage(int(DEFAULT_FLAGS)).encode())
    with pytest.raises(AuthenticationError):
        acceptor.accept_authenticate(AuthenticateMessage(int(DEFAULT_FLAGS)).encode())
    acceptor = make_acceptor()
    acceptor.accept_negotiate(NegotiateMessage(int(DEFAULT_FLAGS)).encode())
    with pytest.raises(AuthenticationError):
        acceptor.accept_authenticate(b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(52))


# ------------------------------------------------------------------ target names
@pytest.mark.parametrize(("check", "sent", "accepted"), [
    ("off", "cifs/elsewhere", True),
    ("if_provided", "", True),
    ("if_provided", "HOST/HostB", True),
    ("if_provided", "host/elsewhere", False),
    ("required", "", False),
    ("required", "host/hostb", True),
])
def test_target_name_checks(check, sent, accepted):
    acceptor = make_acceptor(target_names={"host/hostb", "RPCSS/hostb"}, target_name_check=check)
    initiator = Initiator("alice", "HOSTB", password="correct horse", target_name=sent)
    if accepted:
        _, server = handshake(initiator, acceptor)
        assert server.identity.target_name == sent
    else:
        assert _refusal(initiator, acceptor).hresult == SEC_E_WRONG_PRINCIPAL


# ------------------------------------------------------------------ state and hostile tokens
def test_legs_out_of_order_are_refused():
    acceptor = make_acceptor()
    with pytest.raises(NtlmError, match="state"):
        acceptor.accept_authenticate(b"")
    with pytest.raises(NtlmError, match="state"):
        Initiator("alice", password="x").authenticate(b"")
    initiator = Initiator("alice", "HOSTB", password="correct horse")
    handshake(initiator)
    with pytest.raises(NtlmError, match="state"):
        initiator.negotiate()


def test_a_failed_acceptor_cannot_be_retried():
    acceptor = make_acceptor()
    initiator = Initiator("alice", "HOSTB", password="wrong")
    acceptor_challenge = acceptor.accept_negotiate(initiator.negotiate())
    with pytest.raises(AuthenticationError):
        acceptor.accept_authenticate(initiator.authenticate(acceptor_challenge))
    with pytest.raises(NtlmError, match="failed"):
        acceptor.accept_authenticate(b"anything")


def test_initiator_needs_exactly_one_secret():
    with pytest.raises(ValueError):
        Initiator("alice")
    with pytest.raises(ValueError):
        Initiator("alice", password="x", nt_hash=bytes(16))
    with pytest.raises(ValueError):
        Initiator("alice", nt_hash=b"short")


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=300))
def test_random_authenticate_tokens_only_raise_ntlm_errors(data):
    acceptor = make_acceptor()
    acceptor.accept_negotiate(NegotiateMessage(int(DEFAULT_FLAGS)).encode())
    with pytest.raises(NtlmError):
        acceptor.accept_authenticate(b"NTLMSSP\x00\x03\x00\x00\x00" + data)


@FUZZ
@given(st.data())
def test_no_single_byte_change_to_an_authenticate_is_accepted(data):
    # With a MIC the whole AUTHENTICATE is bound: any altered byte must be refused, malformed or
    # not, and never yield a session.
    initiator, acceptor = Initiator("alice", "HOSTB", password="correct horse"), make_acceptor()
    challenge = acceptor.accept_negotiate(initiator.negotiate())
    message = bytearray(initiator.authenticate(challenge))
    position = data.draw(st.integers(0, len(message) - 1))
    message[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises((AuthenticationError, MalformedMessageError)):
        acceptor.accept_authenticate(bytes(message))
