"""NTLM (MS-NLMP): NTLMv2 authentication with extended session security, as initiator and as
acceptor, and the signing and sealing of messages once a context is established.

The DCE/RPC auth type 10 (RPC_C_AUTHN_WINNT, MS-RPCE 2.2.1.1.7) carries these messages: the
NEGOTIATE in bind, the CHALLENGE in bind_ack, the AUTHENTICATE in rpc_auth_3 (MS-RPCE
3.3.1.5.2), then a 16-byte signature on every request and response at PKT_INTEGRITY and
PKT_PRIVACY. This package knows bytes only and imports nothing from the rpc layer::

    from pydcom import ntlm

    client = ntlm.Initiator("alice", "HOSTB", password="secret")
    server = ntlm.Acceptor(lambda user, domain: hashes.get(user.lower()))
    challenge = server.accept_negotiate(client.negotiate())
    server_session = server.accept_authenticate(client.authenticate(challenge))
    client_session = client.session

    signature = client_session.sign(b"request")
    server_session.verify(b"request", signature)          # SignatureError if altered
    sealed, signature = server_session.seal(b"response")
    client_session.unseal(sealed, signature)              # b"response"

Layout: ``messages`` (2.2 wire structures, imported from there), ``crypto`` (3.3.2, 3.4.5 key derivation), ``md4``
and ``rc4`` (primitives), ``session`` (3.4 signing and sealing), ``acceptor`` and ``initiator``
(3.2.5.1 and 3.1.5.1).
"""

from pydcom.ntlm.acceptor import Acceptor, machine_names
from pydcom.ntlm.crypto import nt_hash
from pydcom.ntlm.errors import (
    AuthenticationError,
    MalformedMessageError,
    NtlmError,
    SequenceError,
    SignatureError,
)
from pydcom.ntlm.initiator import Initiator
from pydcom.ntlm.session import SIGNATURE_SIZE, Identity, NtlmSession

__all__ = [
    "Acceptor", "AuthenticationError", "Identity", "Initiator", "MalformedMessageError",
    "NtlmError", "NtlmSession", "SIGNATURE_SIZE", "SequenceError", "SignatureError",
    "machine_names", "nt_hash",
]
