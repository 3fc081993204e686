"""MS-NLMP 4.2.4 (NTLMv2 Authentication), every published value byte for byte: the keys of
4.2.4.1, the responses of 4.2.4.2, the messages of 4.2.4.3 through our acceptor, and the sealed
message of 4.2.4.4 through our session in both roles."""

from __future__ import annotations

import pytest

from pydcom.ntlm import Acceptor, NtlmSession, crypto
from pydcom.ntlm.messages import AvPairs, NegotiateFlags, NegotiateMessage, NTLMv2ClientChallenge

from . import spec_vectors as spec


def test_ntowfv1_of_the_example_password():
    # 4.2.2.1.2 NTOWFv1(): MD4(UNICODE("Password")).
    assert crypto.nt_hash(spec.PASSWD).hex() == "a4f49c406510bdcab6824ee7c30fd852"


def test_4_2_4_1_1_ntowfv2():
    assert crypto.ntowfv2(crypto.nt_hash(spec.PASSWD), spec.USER, spec.USER_DOM) == spec.RESPONSE_KEY_NT


def test_4_2_4_2_2_temp_is_built_as_published():
    blob = NTLMv2ClientChallenge(spec.TIME, spec.CLIENT_CHALLENGE, AvPairs.decode(spec.AV_PAIRS))
    assert blob.encode() == spec.TEMP


def test_4_2_4_2_2_nt_proof_str():
    assert crypto.nt_proof_str(spec.RESPONSE_KEY_NT, spec.SERVER_CHALLENGE, spec.TEMP) == spec.NT_PROOF_STR


def test_4_2_4_2_1_lmv2_response():
    assert crypto.lmv2_response(spec.RESPONSE_KEY_NT, spec.SERVER_CHALLENGE, spec.CLIENT_CHALLENGE) \
        == spec.LMV2_RESPONSE


def test_4_2_4_1_2_session_base_key_and_kxkey():
    base = crypto.session_base_key(spec.RESPONSE_KEY_NT, spec.NT_PROOF_STR)
    assert base == spec.SESSION_BASE_KEY
    assert crypto.kxkey(base) == spec.SESSION_BASE_KEY  # 3.4.5.1: NTLMv2's KXKEY is the base key


def test_4_2_4_2_3_encrypted_session_key():
    base_key = spec.SESSION_BASE_KEY
    assert crypto.encrypt_session_key(base_key, spec.RANDOM_SESSION_KEY) == spec.ENCRYPTED_SESSION_KEY
    assert crypto.decrypt_session_key(base_key, spec.ENCRYPTED_SESSION_KEY) == spec.RANDOM_SESSION_KEY


def test_4_2_4_4_signing_and_sealing_keys():
    assert crypto.signkey(spec.RANDOM_SESSION_KEY, client_to_server=True) == spec.SIGN_KEY
    assert crypto.sealkey(spec.FLAGS, spec.RANDOM_SESSION_KEY, client_to_server=True) == spec.SEAL_KEY
    assert crypto.signkey(spec.RANDOM_SESSION_KEY, client_to_server=False) == spec.SERVER_SIGN_KEY
    assert crypto.sealkey(spec.FLAGS, spec.RANDOM_SESSION_KEY, client_to_server=False) == spec.SERVER_SEAL_KEY


def test_sealkey_follows_the_negotiated_strength():
    flags = NegotiateFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY
    key = spec.RANDOM_SESSION_KEY
    strong = crypto.sealkey(flags | NegotiateFlags.NEGOTIATE_128, key, True)
    medium = crypto.sealkey(flags | NegotiateFlags.NEGOTIATE_56, key, True)
    weak = crypto.sealkey(flags, key, True)
    assert len({strong, medium, weak}) == 3
    assert medium == crypto.sealkey(flags | NegotiateFlags.NEGOTIATE_56, key[:7] + bytes(9), True)
    assert weak == crypto.sealkey(flags, key[:5] + bytes(11), True)


def test_4_2_4_4_gss_wrapex_from_the_client():
    session = NtlmSession(spec.FLAGS, spec.RANDOM_SESSION_KEY, initiator=True)
    sealed, signature = session.seal(spec.PLAINTEXT)
    assert sealed == spec.SEALED
    assert signature == spec.SIGNATURE
    assert signature[4:12] == spec.CHECKSUM


def test_4_2_4_4_gss_unwrapex_at_the_server():
    session = NtlmSession(spec.FLAGS, spec.RANDOM_SESSION_KEY, initiator=False)
    assert session.unseal(spec.SEALED, spec.SIGNATURE) == spec.PLAINTEXT


@pytest.fixture
def spec_acceptor():
    accounts = {(spec.USER, spec.USER_DOM): crypto.nt_hash(spec.PASSWD)}
    # The example's TimeStamp is 0 (1601), so the clock check is off for it.
    acceptor = Acceptor(lambda user, domain: accounts.get((user, domain)), max_clock_skew=None)
    negotiate = NegotiateMessage(int(spec.FLAGS)).encode()
    acceptor.accept_negotiate(negotiate, server_challenge=spec.SERVER_CHALLENGE)
    return acceptor


def test_4_2_4_3_authenticate_verified_by_our_acceptor(spec_acceptor):
    session = spec_acceptor.accept_authenticate(spec.AUTHENTICATE_MESSAGE)
    assert session.session_key == spec.RANDOM_SESSION_KEY
    assert (session.user, session.domain, session.identity.workstation) == (spec.USER, spec.USER_DOM,
                                                                            spec.WORKSTATION)
    # ... and the resulting server context reads the client's 4.2.4.4 message.
    assert session.unseal(spec.SEALED, spec.SIGNATURE) == spec.PLAINTEXT


def test_windows_upper_keeps_characters_without_a_single_capital():
    assert crypto.windows_upper("straße") == "STRAßE"
    assert crypto.windows_upper("ﬁle") == "ﬁLE"  # U+FB01 has no one-character capital
    assert crypto.windows_upper("élodie") == "ÉLODIE"
