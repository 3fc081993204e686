"""The exceptions of the NTLM layer, each a ComError carrying the SSPI status a Windows peer
would report (SEC_E_* values of MS-ERREF 2.1.1).

The codes live here rather than in pydcom.hresult because only this layer raises them; the
RPC layer maps them onto faults (MS-RPCE 3.3.3.5.4: a bad verifier is nca_s_fault_sec_pkg_error
or access denied) without needing their names.
"""

from __future__ import annotations

from pydcom.hresult import ComError

SEC_E_UNSUPPORTED_FUNCTION = 0x80090302
SEC_E_INTERNAL_ERROR = 0x80090304
SEC_E_INVALID_TOKEN = 0x80090308
SEC_E_LOGON_DENIED = 0x8009030C
SEC_E_MESSAGE_ALTERED = 0x8009030F
SEC_E_OUT_OF_SEQUENCE = 0x80090310
SEC_E_WRONG_PRINCIPAL = 0x80090322

_NAMES = {
    SEC_E_UNSUPPORTED_FUNCTION: ("SEC_E_UNSUPPORTED_FUNCTION", "The function requested is not supported"),
    SEC_E_INTERNAL_ERROR: ("SEC_E_INTERNAL_ERROR", "The Local Security Authority cannot be contacted"),
    SEC_E_INVALID_TOKEN: ("SEC_E_INVALID_TOKEN", "The token supplied to the function is invalid"),
    SEC_E_LOGON_DENIED: ("SEC_E_LOGON_DENIED", "The logon attempt failed"),
    SEC_E_MESSAGE_ALTERED: ("SEC_E_MESSAGE_ALTERED",
                            "The message or signature supplied for verification has been altered"),
    SEC_E_OUT_OF_SEQUENCE: ("SEC_E_OUT_OF_SEQUENCE",
                            "The message supplied for verification is out of sequence"),
    SEC_E_WRONG_PRINCIPAL: ("SEC_E_WRONG_PRINCIPAL", "The target principal name is incorrect"),
}


class NtlmError(ComError):
    """Any NTLM failure; ``hresult`` is an SSPI status (SEC_E_*), ``detail`` says what failed."""

    default_hresult = SEC_E_INTERNAL_ERROR

    def __init__(self, detail: str = "", hresult: int | None = None) -> None:
        super().__init__(self.default_hresult if hresult is None else hresult, detail)

    @property
    def name(self) -> str:
        known = _NAMES.get(self.hresult)
        return known[0] if known else super().name

    def __str__(self) -> str:
        known = _NAMES.get(self.hresult)
        if known is None:
            return super().__str__()
        text = f"{known[1]} ({known[0]} 0x{self.hresult:08X})"
        return f"{text}: {self.detail}" if self.detail else text

    def __reduce__(self):  # picklable with this class's own argument order
        return (type(self), (self.detail, self.hresult))


class MalformedMessageError(NtlmError):
    """A NEGOTIATE, CHALLENGE or AUTHENTICATE message (MS-NLMP 2.2.1) that cannot be decoded."""

    default_hresult = SEC_E_INVALID_TOKEN


class AuthenticationError(NtlmError):
    """The acceptor denies the logon. The detail never tells an unknown account from a wrong
    password (both read "the user name or password is incorrect")."""

    default_hresult = SEC_E_LOGON_DENIED


class SignatureError(NtlmError):
    """A message signature (MS-NLMP 2.2.2.9.1) that does not verify: the message, its signature
    or the key stream is not what the peer sent."""

    default_hresult = SEC_E_MESSAGE_ALTERED


class SequenceError(SignatureError):
    """A signature whose sequence number is not the next one expected in its direction: a
    replayed, reordered or dropped message (MS-NLMP 3.4.4.2)."""

    default_hresult = SEC_E_OUT_OF_SEQUENCE
