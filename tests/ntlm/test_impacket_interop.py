"""impacket (an independent NTLM implementation) on both sides of ours.

As initiator: impacket's NEGOTIATE (getNTLMSSPType1) meets our CHALLENGE, impacket builds its
AUTHENTICATE (getNTLMSSPType3: no MIC, no Z(4) after the AV pairs) and our acceptor verifies it.
Then signing and sealing cross over, impacket's SIGN/SEAL with its own derived keys against our
session, in both directions. As reference: impacket's NTOWFv2 and RC4 recompute our initiator's
NTProofStr and session key, and impacket's SIGN verifies our initiator's signatures.
"""

from __future__ import annotations

import hmac

import pytest
from Cryptodome.Cipher import ARC4
from impacket import ntlm as intlm

from pydcom.ntlm import Acceptor, AuthenticationError, Initiator, nt_hash
from pydcom.ntlm.initiator import DEFAULT_FLAGS
from pydcom.ntlm.messages import AuthenticateMessage, AvId, ChallengeMessage, NegotiateFlags, NTLMv2Response


USER, DOMAIN, PASSWORD = "alice", "HOSTB", "correct horse"


def make_acceptor() -> Acceptor:
    accounts = {(USER, DOMAIN): nt_hash(PASSWORD)}
    return Acceptor(lambda user, domain: accounts.get((user.lower(), domain.upper())),
                    nb_computer_name="HOSTB", dns_computer_name="hostb.example.test")


def impacket_login(*, signing=True, password=PASSWORD, nthash=""):
    """impacket's two client legs against our acceptor; returns (our session, impacket's flags,
    impacket's exported session key)."""
    acceptor = make_acceptor()
    type1 = intlm.getNTLMSSPType1("HOSTA", DOMAIN, signingRequired=signing)
    challenge = acceptor.accept_negotiate(type1.getData())
    type3, exported = intlm.getNTLMSSPType3(type1, challenge, USER, "" if nthash else password, DOMAIN,
                                            nthash=nthash)
    session = acceptor.accept_authenticate(type3.getData())
    return session, type3["flags"], exported


class ImpacketPeer:
    """One side of a session as impacket's DCE/RPC code runs it: keys from SIGNKEY/SEALKEY,
    one ARC4 handle per direction, an explicit sequence number per direction."""

    def __init__(self, flags: int, exported: bytes, client: bool) -> None:
        mine, theirs = ("Client", "Server") if client else ("Server", "Client")
        self.flags = flags
        self.sign_key = intlm.SIGNKEY(flags, exported, mine)
        self.verify_key = intlm.SIGNKEY(flags, exported, theirs)
        self.out_handle = ARC4.new(intlm.SEALKEY(flags, exported, mine)).encrypt
        self.in_handle = ARC4.new(intlm.SEALKEY(flags, exported, theirs)).encrypt
        self.out_seq = self.in_seq = 0

    def seal(self, message: bytes) -> tuple[bytes, bytes]:
        sealed, signature = intlm.SEAL(self.flags, self.sign_key, None, message, message, self.out_seq,
                                       self.out_handle)
        self.out_seq += 1
        return sealed, signature.getData()

    def sign(self, message: bytes) -> bytes:
        signature = intlm.SIGN(self.flags, self.sign_key, message, self.out_seq, self.out_handle)
        self.out_seq += 1
        return signature.getData()

    def unseal(self, sealed: bytes, signature: bytes) -> bytes:
        message = self.in_handle(sealed)
        expected = intlm.SIGN(self.flags, self.verify_key, message, self.in_seq, self.in_handle).getData()
        self.in_seq += 1
        assert hmac.compare_digest(expected, signature), "impacket rejects our signature"
        return message

    def verify(self, message: bytes, signature: bytes) -> None:
        expected = intlm.SIGN(self.flags, self.verify_key, message, self.in_seq, self.in_handle).getData()
        self.in_seq += 1
        assert hmac.compare_digest(expected, signature), "impacket rejects our signature"


# ------------------------------------------------------------------ impacket as initiator
def test_impacket_authenticate_verified_by_our_acceptor():
    session, flags, exported = impacket_login()
    assert session.session_key == exported
    assert (session.user, session.domain, session.identity.workstation) == (USER, DOMAIN, "HOSTA")
    assert session.flags == flags
    # impacket names its target from our MsvAvDnsComputerName (it fails without one).
    assert session.identity.target_name == "cifs/hostb.example.test"


def test_impacket_with_an_nt_hash():
    session, _, exported = impacket_login(nthash=nt_hash(PASSWORD))
    assert session.session_key == exported


def test_impacket_without_signing_authenticates_at_connect_level():
    session, flags, _ = impacket_login(signing=False)
    assert not session.integrity and session.user == USER


def test_impacket_with_a_wrong_password_is_refused():
    with pytest.raises(AuthenticationError, match="user name or password is incorrect"):
        impacket_login(password="wrong")


def test_impacket_blob_ends_at_its_av_pairs_and_still_verifies():
    # The difference that makes re-encoding verifiers fail: no Z(4) after MsvAvEOL.
    acceptor = make_acceptor()
    type1 = intlm.getNTLMSSPType1("HOSTA", DOMAIN, signingRequired=True)
    challenge = acceptor.accept_negotiate(type1.getData())
    type3, _ = intlm.getNTLMSSPType3(type1, challenge, USER, PASSWORD, DOMAIN)
    nt_response = AuthenticateMessage.decode(type3.getData()).nt_challenge_response
    blob = NTLMv2Response.decode(nt_response).client_challenge
    assert blob.raw == blob.encode()[:-4]  # everything but 3.3.2's trailing Z(4)
    assert acceptor.accept_authenticate(type3.getData()).user == USER


def test_sealing_interoperates_both_directions():
    session, flags, exported = impacket_login()
    client = ImpacketPeer(flags, exported, client=True)
    for n in range(5):
        request = b"request %d " % n * 100
        assert session.unseal(*client.seal(request)) == request
        reply = b"reply %d" % n
        assert client.unseal(*session.seal(reply)) == reply


def test_signing_interoperates_both_directions():
    session, flags, exported = impacket_login()
    client = ImpacketPeer(flags, exported, client=True)
    for n in range(5):
        session.verify(b"request %d" % n, client.sign(b"request %d" % n))
        client.verify(b"reply %d" % n, session.sign(b"reply %d" % n))


def test_signing_without_key_exchange_interoperates():
    flags = DEFAULT_FLAGS & ~NegotiateFlags.NEGOTIATE_KEY_EXCH
    initiator = Initiator(USER, DOMAIN, password=PASSWORD, flags=flags)
    acceptor = make_acceptor()
    challenge = acceptor.accept_negotiate(initiator.negotiate())
    server_session = acceptor.accept_authenticate(initiator.authenticate(challenge))
    assert not server_session.flags & NegotiateFlags.NEGOTIATE_KEY_EXCH
    peer = ImpacketPeer(int(server_session.flags), server_session.session_key, client=True)
    server_session.verify(b"m", peer.sign(b"m"))
    peer.verify(b"r", server_session.sign(b"r"))


# ------------------------------------------------------------------ impacket as reference for our initiator
def test_our_authenticate_recomputed_by_impacket():
    initiator = Initiator(USER, DOMAIN, password=PASSWORD, workstation="HOSTA", target_name="host/hostb")
    challenge_bytes = make_acceptor().accept_negotiate(initiator.negotiate())
    authenticate = initiator.authenticate(challenge_bytes)
    challenge = ChallengeMessage.decode(challenge_bytes)

    parsed = intlm.NTLMAuthChallengeResponse()
    parsed.fromString(authenticate)
    assert parsed.getUserString() == f"{DOMAIN}/{USER}".upper()
    nt_response = parsed["ntlm"]
    response_key = intlm.NTOWFv2(USER, PASSWORD, DOMAIN)
    proof = intlm.hmac_md5(response_key, challenge.server_challenge + nt_response[16:])
    assert proof == nt_response[:16]
    base_key = intlm.hmac_md5(response_key, proof)
    encrypted = AuthenticateMessage.decode(authenticate).encrypted_random_session_key
    exported = ARC4.new(base_key).decrypt(encrypted)
    assert exported == initiator.session.session_key

    server = ImpacketPeer(int(initiator.session.flags), exported, client=False)
    server.verify(b"request", initiator.session.sign(b"request"))
    assert server.unseal(*initiator.session.seal(b"sealed request")) == b"sealed request"
    assert initiator.session.unseal(*server.seal(b"sealed reply")) == b"sealed reply"


def test_our_challenge_read_by_impacket():
    initiator = Initiator(USER, DOMAIN, password=PASSWORD)
    challenge = intlm.NTLMAuthChallenge(make_acceptor().accept_negotiate(initiator.negotiate()))
    pairs = intlm.AV_PAIRS(challenge["TargetInfoFields"])
    assert pairs[intlm.NTLMSSP_AV_DNS_HOSTNAME][1].decode("utf-16-le") == "hostb.example.test"
    assert pairs[intlm.NTLMSSP_AV_HOSTNAME][1].decode("utf-16-le") == "HOSTB"
    assert pairs[intlm.NTLMSSP_AV_TIME] is not None
    assert challenge["flags"] & intlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
    assert AvId.MsvAvTimestamp == intlm.NTLMSSP_AV_TIME
