"""pyspnego (a third NTLM implementation) against ours, both ways.

pyspnego's initiator sends what Windows sends (MsvAvFlags with a MIC, MsvAvTargetName, the
Z(4)), so it exercises the acceptor's MIC check; its acceptor re-encodes what it receives,
which our initiator's messages survive. pyspnego finds accounts only through NTLM_USER_FILE
with plain passwords: a file in the test's temporary folder.
"""

from __future__ import annotations

import pytest

from pydcom.ntlm import Acceptor, AuthenticationError, Initiator, nt_hash
from pydcom.ntlm.messages import AuthenticateMessage, AvFlags, NTLMv2Response

spnego = pytest.importorskip("spnego")

USER, DOMAIN, PASSWORD = "alice", "HOSTB", "correct horse"


def make_acceptor() -> Acceptor:
    accounts = {(USER, DOMAIN): nt_hash(PASSWORD), (USER, ""): nt_hash(PASSWORD)}
    return Acceptor(lambda user, domain: accounts.get((user.lower(), domain.upper())),
                    nb_computer_name="HOSTB", dns_computer_name="hostb.example.test")


def pyspnego_client(password: str = PASSWORD):
    return spnego.client(f"{DOMAIN}\\{USER}", password, hostname="hostb", service="host", protocol="ntlm")


@pytest.fixture
def pyspnego_server(tmp_path, monkeypatch):
    users = tmp_path / "ntlm-users"
    users.write_text(f"{DOMAIN}:{USER}:{PASSWORD}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    return spnego.server(protocol="ntlm")


def login_pyspnego_to_us(password: str = PASSWORD):
    client, acceptor = pyspnego_client(password), make_acceptor()
    challenge = acceptor.accept_negotiate(client.step())
    authenticate = client.step(challenge)
    return client, acceptor.accept_authenticate(authenticate), authenticate


# ------------------------------------------------------------------ pyspnego initiator, our acceptor
def test_pyspnego_initiator_with_a_mic_verified_by_our_acceptor():
    client, session, authenticate = login_pyspnego_to_us()
    nt_response = AuthenticateMessage.decode(authenticate).nt_challenge_response
    blob = NTLMv2Response.decode(nt_response).client_challenge
    assert blob.av_pairs.flags & AvFlags.MIC_PRESENT  # so our acceptor did check a MIC
    assert session.session_key == client.session_key
    assert (session.user, session.domain) == (USER, DOMAIN)
    assert session.identity.target_name == "host/hostb"


def test_pyspnego_initiator_with_a_wrong_password_is_refused():
    with pytest.raises(AuthenticationError):
        login_pyspnego_to_us("wrong")


def test_wrap_and_unwrap_interoperate_with_our_acceptor_session():
    client, session, _ = login_pyspnego_to_us()
    for n in range(5):
        wrapped = client.wrap(b"request %d" % n, encrypt=True).data
        assert session.unseal(wrapped[16:], wrapped[:16]) == b"request %d" % n
        sealed, signature = session.seal(b"reply %d" % n)
        assert client.unwrap(signature + sealed).data == b"reply %d" % n


def test_sign_and_verify_interoperate_with_our_acceptor_session():
    client, session, _ = login_pyspnego_to_us()
    for n in range(5):
        session.verify(b"request %d" % n, client.sign(b"request %d" % n))
        client.verify(b"reply %d" % n, session.sign(b"reply %d" % n))


# ------------------------------------------------------------------ our initiator, pyspnego acceptor
def test_our_initiator_accepted_by_pyspnego(pyspnego_server):
    initiator = Initiator(USER, DOMAIN, password=PASSWORD, workstation="HOSTA",
                          target_name="host/hostb")
    challenge = pyspnego_server.step(initiator.negotiate())
    assert pyspnego_server.step(initiator.authenticate(challenge)) is None
    assert pyspnego_server.complete
    assert pyspnego_server.session_key == initiator.session.session_key


def test_our_initiator_session_interoperates_with_pyspnego(pyspnego_server):
    initiator = Initiator(USER, DOMAIN, password=PASSWORD)
    pyspnego_server.step(initiator.authenticate(pyspnego_server.step(initiator.negotiate())))
    session = initiator.session
    for n in range(5):
        sealed, signature = session.seal(b"request %d" % n)
        assert pyspnego_server.unwrap(signature + sealed).data == b"request %d" % n
        wrapped = pyspnego_server.wrap(b"reply %d" % n, encrypt=True).data
        assert session.unseal(wrapped[16:], wrapped[:16]) == b"reply %d" % n
        pyspnego_server.verify(b"signed %d" % n, session.sign(b"signed %d" % n))
        session.verify(b"answer %d" % n, pyspnego_server.sign(b"answer %d" % n))


def test_our_initiator_with_a_wrong_password_is_refused_by_pyspnego(pyspnego_server):
    initiator = Initiator(USER, DOMAIN, password="wrong")
    challenge = pyspnego_server.step(initiator.negotiate())
    with pytest.raises(spnego.exceptions.SpnegoError):
        pyspnego_server.step(initiator.authenticate(challenge))


@pytest.mark.xfail(reason="pyspnego 0.12.4 re-encodes the client's NTLMv2 blob before the HMAC, "
                          "adding a Z(4) impacket did not send; this is why pydcom verifies the raw "
                          "blob itself", strict=False)
def test_pyspnego_acceptor_and_impacket(pyspnego_server):
    intlm = pytest.importorskip("impacket.ntlm")
    type1 = intlm.getNTLMSSPType1("HOSTA", DOMAIN, signingRequired=True)
    challenge = pyspnego_server.step(type1.getData())
    type3, _ = intlm.getNTLMSSPType3(type1, challenge, USER, PASSWORD, DOMAIN)
    pyspnego_server.step(type3.getData())
