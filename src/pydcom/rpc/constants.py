"""Numbers of the connection-oriented DCE/RPC protocol.

C706 chapter 12 defines them; MS-RPCE 2.2.2 restates and extends them. Status codes are C706
appendix E as MS-RPCE 3.1.1.5.5 and 3.3.3.5 use them.
"""

from __future__ import annotations

import enum
import uuid
from typing import NamedTuple

from pydcom import hresult as _hr
from pydcom.guid import guid_to_bytes

RPC_VERS = 5
RPC_VERS_MINOR = 0

# Data representation: little-endian integers, ASCII characters, IEEE floats (C706 14.1).
DREP_LE = b"\x10\x00\x00\x00"


class PTYPE(enum.IntEnum):
    """PDU types (C706 12.6.3.1; MS-RPCE 2.2.2.10)."""

    REQUEST = 0
    RESPONSE = 2
    FAULT = 3
    BIND = 11
    BIND_ACK = 12
    BIND_NAK = 13
    ALTER_CONTEXT = 14
    ALTER_CONTEXT_RESP = 15
    AUTH3 = 16
    SHUTDOWN = 17
    CO_CANCEL = 18
    ORPHANED = 19


class PFC(enum.IntFlag):
    """pfc_flags (C706 12.6.3.1; MS-RPCE 2.2.2.3)."""

    FIRST_FRAG = 0x01
    LAST_FRAG = 0x02
    PENDING_CANCEL = 0x04  # SUPPORT_HEADER_SIGN in bind/bind_ack/alter_context*/auth3
    RESERVED_1 = 0x08
    CONC_MPX = 0x10
    DID_NOT_EXECUTE = 0x20
    MAYBE = 0x40
    OBJECT_UUID = 0x80


PFC_FIRST_FRAG = 0x01
PFC_LAST_FRAG = 0x02
PFC_SINGLE = 0x03
PFC_SUPPORT_HEADER_SIGN = 0x04
PFC_CONC_MPX = 0x10
PFC_DID_NOT_EXECUTE = 0x20
PFC_OBJECT_UUID = 0x80


class ContextResult(enum.IntEnum):
    """p_cont_def_result_t (C706 12.6.3.1; MS-RPCE 2.2.2.4)."""

    ACCEPTANCE = 0
    USER_REJECTION = 1
    PROVIDER_REJECTION = 2
    NEGOTIATE_ACK = 3


class ProviderReason(enum.IntEnum):
    """p_provider_reason_t (C706 12.6.3.1)."""

    NOT_SPECIFIED = 0
    ABSTRACT_SYNTAX_NOT_SUPPORTED = 1
    PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED = 2
    LOCAL_LIMIT_EXCEEDED = 3


class BindNakReason(enum.IntEnum):
    """p_reject_reason_t of bind_nak (C706 12.6.3.1; MS-RPCE 2.2.2.5)."""

    NOT_SPECIFIED = 0
    TEMPORARY_CONGESTION = 1
    LOCAL_LIMIT_EXCEEDED = 2
    CALLED_PADDR_UNKNOWN = 3
    PROTOCOL_VERSION_NOT_SUPPORTED = 4
    DEFAULT_CONTEXT_NOT_SUPPORTED = 5
    USER_DATA_NOT_READABLE = 6
    NO_PSAP_AVAILABLE = 7
    AUTHENTICATION_TYPE_NOT_RECOGNIZED = 8
    INVALID_CHECKSUM = 9


class BindFeature(enum.IntFlag):
    """BindTimeFeatureNegotiationBitmask (MS-RPCE 2.2.2.14)."""

    SECURITY_CONTEXT_MULTIPLEXING = 0x01
    KEEP_CONNECTION_ON_ORPHAN = 0x02


class SyntaxId(NamedTuple):
    """p_syntax_id_t: an interface or transfer syntax UUID and its version (C706 12.6.3.1).

    On the wire the version is one u32 with the major version in the low 16 bits.
    """

    uuid: uuid.UUID
    major: int = 0
    minor: int = 0

    def __str__(self) -> str:
        return f"{self.uuid} v{self.major}.{self.minor}"


NDR_SYNTAX = SyntaxId(uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860"), 2, 0)  # MS-RPCE 2.2.4.12
NDR64_SYNTAX = SyntaxId(uuid.UUID("71710533-beba-4937-8319-b5dbef9ccc36"), 1, 0)  # MS-RPCE 2.2.5.1
NULL_SYNTAX = SyntaxId(uuid.UUID(int=0), 0, 0)
# Bind time feature negotiation: the first 8 bytes of the UUID (MS-RPCE 3.3.1.5.3).
BIND_TIME_FEATURE_PREFIX = uuid.UUID("6cb71c2c-9812-4540-0000-000000000000").bytes_le[:8]


def bind_time_feature_syntax(features: int) -> SyntaxId:
    """The transfer syntax a client offers to negotiate features (MS-RPCE 2.2.2.14)."""
    data4 = bytes([features & 0xFF]) + bytes(7)
    return SyntaxId(uuid.UUID(bytes_le=BIND_TIME_FEATURE_PREFIX + data4), 1, 0)


def bind_time_features(syntax: SyntaxId) -> int | None:
    """The bitmask if ``syntax`` is a feature negotiation syntax, else None."""
    raw = guid_to_bytes(syntax.uuid)
    if raw[:8] != BIND_TIME_FEATURE_PREFIX:
        return None
    return raw[8]


# --- fault status codes (C706 appendix E; MS-RPCE 3.1.1.5.5, 3.3.3.5) --------------------------
NCA_S_FAULT_ACCESS_DENIED = 0x00000005
NCA_S_FAULT_CANT_PERFORM = 0x000006D8
NCA_S_FAULT_NDR = 0x000006F7  # RPC_X_BAD_STUB_DATA: MUST be used for unmarshal failures
NCA_S_COMM_FAILURE = 0x1C010001
NCA_S_OP_RNG_ERROR = 0x1C010002
NCA_S_UNK_IF = 0x1C010003
NCA_S_WRONG_BOOT_TIME = 0x1C010006
NCA_S_YOU_CRASHED = 0x1C010009
NCA_S_PROTO_ERROR = 0x1C01000B
NCA_S_OUT_ARGS_TOO_BIG = 0x1C010013
NCA_S_SERVER_TOO_BUSY = 0x1C010014
NCA_S_FAULT_STRING_TOO_LONG = 0x1C010015
NCA_S_UNSUPPORTED_TYPE = 0x1C010017
NCA_S_FAULT_INT_DIV_BY_ZERO = 0x1C000001
NCA_S_FAULT_ADDR_ERROR = 0x1C000002
NCA_S_FAULT_FP_DIV_ZERO = 0x1C000003
NCA_S_FAULT_FP_UNDERFLOW = 0x1C000004
NCA_S_FAULT_FP_OVERFLOW = 0x1C000005
NCA_S_FAULT_INVALID_TAG = 0x1C000006
NCA_S_FAULT_INVALID_BOUND = 0x1C000007
NCA_RPC_VERSION_MISMATCH = 0x1C000008
NCA_UNSPEC_REJECT = 0x1C000009
NCA_S_BAD_ACTID = 0x1C00000A
NCA_WHO_ARE_YOU_FAILED = 0x1C00000B
NCA_MANAGER_NOT_ENTERED = 0x1C00000C
NCA_S_FAULT_CANCEL = 0x1C00000D
NCA_S_FAULT_ILL_INST = 0x1C00000E
NCA_S_FAULT_FP_ERROR = 0x1C00000F
NCA_S_FAULT_INT_OVERFLOW = 0x1C000010
NCA_S_FAULT_UNSPEC = 0x1C000012
NCA_S_FAULT_REMOTE_NO_MEMORY = 0x1C00001B
NCA_S_INVALID_PRES_CONTEXT_ID = 0x1C00001C
NCA_S_UNSUPPORTED_AUTHN_LEVEL = 0x1C00001D
NCA_S_INVALID_CHECKSUM = 0x1C00001F
NCA_S_INVALID_CRC = 0x1C000020

# Win32 codes a client reports for fault statuses (MS-RPCE 3.1.1.5.5); unlisted ones pass unmapped.
FAULT_TO_WIN32 = {
    NCA_S_COMM_FAILURE: _hr.RPC_S_COMM_FAILURE,
    NCA_S_OP_RNG_ERROR: _hr.RPC_S_PROCNUM_OUT_OF_RANGE,
    NCA_S_UNK_IF: _hr.RPC_S_UNKNOWN_IF,
    NCA_S_YOU_CRASHED: _hr.RPC_S_CALL_FAILED,
    NCA_S_PROTO_ERROR: _hr.RPC_S_PROTOCOL_ERROR,
    NCA_S_OUT_ARGS_TOO_BIG: _hr.RPC_S_SERVER_OUT_OF_MEMORY,
    NCA_S_SERVER_TOO_BUSY: _hr.RPC_S_SERVER_TOO_BUSY,
    NCA_S_UNSUPPORTED_TYPE: _hr.RPC_S_UNSUPPORTED_TYPE,
    NCA_S_FAULT_INT_DIV_BY_ZERO: _hr.RPC_S_ZERO_DIVIDE,
    NCA_S_FAULT_ADDR_ERROR: _hr.RPC_S_ADDRESS_ERROR,
    NCA_S_FAULT_FP_DIV_ZERO: _hr.RPC_S_FP_DIV_ZERO,
    NCA_S_FAULT_FP_UNDERFLOW: _hr.RPC_S_FP_UNDERFLOW,
    NCA_S_FAULT_FP_OVERFLOW: _hr.RPC_S_FP_OVERFLOW,
    NCA_S_FAULT_INVALID_TAG: _hr.RPC_S_INVALID_TAG,
    NCA_S_FAULT_INVALID_BOUND: _hr.RPC_S_INVALID_BOUND,
    NCA_RPC_VERSION_MISMATCH: _hr.RPC_S_PROTOCOL_ERROR,
    NCA_UNSPEC_REJECT: _hr.RPC_S_CALL_FAILED,
    NCA_S_BAD_ACTID: _hr.RPC_S_CALL_FAILED_DNE,
    NCA_WHO_ARE_YOU_FAILED: _hr.RPC_S_CALL_FAILED,
    NCA_MANAGER_NOT_ENTERED: _hr.RPC_S_CALL_FAILED_DNE,
    NCA_S_FAULT_CANCEL: _hr.RPC_S_CALL_CANCELLED,
    NCA_S_FAULT_ILL_INST: _hr.RPC_S_ADDRESS_ERROR,
    NCA_S_FAULT_FP_ERROR: _hr.RPC_S_FP_OVERFLOW,
    NCA_S_FAULT_INT_OVERFLOW: _hr.RPC_S_ADDRESS_ERROR,
    NCA_S_FAULT_UNSPEC: _hr.RPC_S_CALL_FAILED,
    NCA_S_FAULT_REMOTE_NO_MEMORY: _hr.RPC_S_SERVER_OUT_OF_MEMORY,
    NCA_S_INVALID_PRES_CONTEXT_ID: _hr.RPC_S_PROTOCOL_ERROR,
    NCA_S_UNSUPPORTED_AUTHN_LEVEL: _hr.RPC_S_UNSUPPORTED_AUTHN_LEVEL,
    NCA_S_INVALID_CHECKSUM: _hr.RPC_S_CALL_FAILED_DNE,
    NCA_S_INVALID_CRC: _hr.RPC_S_CALL_FAILED_DNE,
}


def fault_status_to_hresult(status: int) -> int:
    """The HRESULT a client reports for a fault status (MS-RPCE 3.1.1.5.5, MS-ERREF 2.1.2).

    NCA codes map to Win32 codes; Win32 codes become HRESULT_FROM_WIN32; a status that is
    already an HRESULT (DCOM servers fault with RPC_E_* codes), or an NCA code the table leaves
    "not mapped", passes through.
    """
    status &= 0xFFFFFFFF
    win32 = FAULT_TO_WIN32.get(status, status)
    if win32 & 0xFFFF0000:  # an HRESULT already, or an NCA code Windows leaves unmapped
        return win32
    return _hr.hresult_from_win32(win32)


# The fragment size pydcom proposes and accepts. Windows proposes and accepts 5840 on
# ncacn_ip_tcp, and the bind_ack answers the smaller of the two sides (C706 12.6.4.4), so with
# Windows peers (and impacket's 4280) fragments stay theirs; between pydcom peers a call of a
# megabyte takes 16 fragments each way instead of 180. frag_length is 16 bits: 65528 is the
# largest multiple of 8 it holds.
DEFAULT_MAX_FRAG = 65528
MIN_MAX_RECV_FRAG = 64  # below this a fault PDU plus a trailer no longer fits
