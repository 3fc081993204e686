"""HRESULT and Win32 status codes, and the one exception every layer raises: ComError.

Values are those of MS-ERREF 2.1.1 (HRESULT) and 2.2 (Win32). ``HRESULT_FROM_WIN32`` follows
MS-ERREF 2.1.2. This module imports nothing from pydcom, so every layer may use it.
"""

from __future__ import annotations

# --- success codes -------------------------------------------------------------------------
S_OK = 0x00000000
S_FALSE = 0x00000001
CO_S_NOTALLINTERFACES = 0x00080012

# --- generic COM failures (MS-ERREF 2.1.1) -------------------------------------------------
E_NOTIMPL = 0x80004001
E_NOINTERFACE = 0x80004002
E_POINTER = 0x80004003
E_ABORT = 0x80004004
E_FAIL = 0x80004005
E_UNEXPECTED = 0x8000FFFF
E_ACCESSDENIED = 0x80070005
E_OUTOFMEMORY = 0x8007000E
E_INVALIDARG = 0x80070057

# --- registry and activation -----------------------------------------------------------------
REGDB_E_READREGDB = 0x80040150
REGDB_E_WRITEREGDB = 0x80040151
REGDB_E_KEYMISSING = 0x80040152
REGDB_E_INVALIDVALUE = 0x80040153
REGDB_E_CLASSNOTREG = 0x80040154
REGDB_E_IIDNOTREG = 0x80040155
CLASS_E_NOAGGREGATION = 0x80040110
CLASS_E_CLASSNOTAVAILABLE = 0x80040111
CO_E_BAD_SERVER_NAME = 0x80004014
CO_E_WRONG_SERVER_IDENTITY = 0x80004015
CO_E_RUNAS_LOGON_FAILURE = 0x8000401A
CO_E_LAUNCH_PERMSSION_DENIED = 0x8000401B  # sic, as MS-ERREF spells it
CO_E_SERVER_START_TIMEOUT = 0x8000401E
CO_E_SERVER_PAUSED = 0x80004025
CO_E_NOTINITIALIZED = 0x800401F0
CO_E_CLASSSTRING = 0x800401F3
CO_E_OBJNOTREG = 0x800401FB
CO_E_SERVER_EXEC_FAILURE = 0x80080005
CO_E_SERVER_STOPPING = 0x80080008

# --- ORPC ------------------------------------------------------------------------------------
RPC_E_CALL_REJECTED = 0x80010001
RPC_E_SERVER_DIED = 0x80010007
RPC_E_SERVER_DIED_DNE = 0x80010012
RPC_E_SERVERFAULT = 0x80010105
RPC_E_INVALIDMETHOD = 0x80010107
RPC_E_DISCONNECTED = 0x80010108
RPC_E_RETRY = 0x80010109
RPC_E_VERSION_MISMATCH = 0x80010110
RPC_E_INVALID_HEADER = 0x80010111
RPC_E_INVALID_OBJECT = 0x80010114
RPC_E_ACCESS_DENIED = 0x8001011B
RPC_E_INVALID_OBJREF = 0x8001011D
RPC_E_TIMEOUT = 0x8001011F
RPC_E_UNEXPECTED = 0x8001FFFF
MK_E_UNAVAILABLE = 0x800401E3
DISP_E_UNKNOWNINTERFACE = 0x80020001
DISP_E_MEMBERNOTFOUND = 0x80020003
DISP_E_PARAMNOTFOUND = 0x80020004
DISP_E_TYPEMISMATCH = 0x80020005
DISP_E_UNKNOWNNAME = 0x80020006
DISP_E_NONAMEDARGS = 0x80020007
DISP_E_BADVARTYPE = 0x80020008
DISP_E_EXCEPTION = 0x80020009
DISP_E_OVERFLOW = 0x8002000A
DISP_E_BADINDEX = 0x8002000B
DISP_E_BADPARAMCOUNT = 0x8002000E
DISP_E_PARAMNOTOPTIONAL = 0x8002000F
DISP_E_DIVBYZERO = 0x80020012
TYPE_E_ELEMENTNOTFOUND = 0x8002802B
TYPE_E_BADMODULEKIND = 0x800288BD

# --- Win32 codes (MS-ERREF 2.2); use hresult_from_win32() to carry them as HRESULTs -----------
ERROR_FILE_NOT_FOUND = 0x002
ERROR_PATH_NOT_FOUND = 0x003
ERROR_ACCESS_DENIED = 0x005
ERROR_OUTOFMEMORY = 0x00E
ERROR_LOCK_VIOLATION = 0x021
ERROR_NOT_SUPPORTED = 0x032
ERROR_MOD_NOT_FOUND = 0x07E
ERROR_BADDB = 0x3F1
ERROR_USER_EXISTS = 0x524
ERROR_NO_SUCH_USER = 0x525
ERROR_LOGON_FAILURE = 0x52E
RPC_S_INVALID_BINDING = 0x6A6
RPC_S_PROTSEQ_NOT_SUPPORTED = 0x6A7
RPC_S_UNKNOWN_IF = 0x6B5
RPC_S_OUT_OF_RESOURCES = 0x6B9
RPC_S_SERVER_UNAVAILABLE = 0x6BA
RPC_S_SERVER_TOO_BUSY = 0x6BB
RPC_S_SERVER_OUT_OF_MEMORY = 0x6BD
RPC_S_CALL_FAILED = 0x6BE
RPC_S_CALL_FAILED_DNE = 0x6BF
RPC_S_PROTOCOL_ERROR = 0x6C0
RPC_S_UNSUPPORTED_TRANS_SYN = 0x6C2
RPC_S_UNSUPPORTED_TYPE = 0x6C4
RPC_S_INVALID_TAG = 0x6C5
RPC_S_INVALID_BOUND = 0x6C6
RPC_S_UNKNOWN_AUTHN_TYPE = 0x6CD
RPC_S_PROCNUM_OUT_OF_RANGE = 0x6D1
RPC_S_UNKNOWN_AUTHN_SERVICE = 0x6D3
EPT_S_CANT_PERFORM_OP = 0x6D8
EPT_S_NOT_REGISTERED = 0x6D9
RPC_S_CANNOT_SUPPORT = 0x6E4
RPC_S_ZERO_DIVIDE = 0x6E7
RPC_S_ADDRESS_ERROR = 0x6E8
RPC_S_FP_DIV_ZERO = 0x6E9
RPC_S_FP_UNDERFLOW = 0x6EA
RPC_S_FP_OVERFLOW = 0x6EB
RPC_X_BAD_STUB_DATA = 0x6F7
RPC_S_CALL_CANCELLED = 0x71A
RPC_S_COMM_FAILURE = 0x71C
RPC_S_UNSUPPORTED_AUTHN_LEVEL = 0x71D
RPC_S_SEC_PKG_ERROR = 0x721
RPC_S_INVALID_OBJECT = 0x76C
OR_INVALID_OXID = 0x776
OR_INVALID_OID = 0x777
OR_INVALID_SET = 0x778


def hresult_from_win32(code: int) -> int:
    """HRESULT_FROM_WIN32 (MS-ERREF 2.1.2): 0x8007xxxx for a nonzero Win32 code."""
    code &= 0xFFFFFFFF
    if code == 0 or code & 0x80000000:
        return code
    return 0x80070000 | (code & 0xFFFF)


# Named as HRESULTs because that is how a COM caller meets them.
HRESULT_RPC_S_SERVER_UNAVAILABLE = hresult_from_win32(RPC_S_SERVER_UNAVAILABLE)  # 0x800706BA
HRESULT_RPC_S_CALL_FAILED = hresult_from_win32(RPC_S_CALL_FAILED)  # 0x800706BE
HRESULT_RPC_S_PROTOCOL_ERROR = hresult_from_win32(RPC_S_PROTOCOL_ERROR)  # 0x800706C0

_MESSAGES = {
    S_OK: "The operation completed successfully",
    S_FALSE: "Success (S_FALSE)",
    CO_S_NOTALLINTERFACES: "Not all the requested interfaces were available",
    E_NOTIMPL: "Not implemented",
    E_NOINTERFACE: "No such interface supported",
    E_POINTER: "Invalid pointer",
    E_ABORT: "Operation aborted",
    E_FAIL: "Unspecified error",
    E_UNEXPECTED: "Catastrophic failure",
    E_ACCESSDENIED: "Access is denied",
    E_OUTOFMEMORY: "Not enough memory resources are available",
    E_INVALIDARG: "The parameter is incorrect",
    REGDB_E_READREGDB: "Could not read key from registry",
    REGDB_E_WRITEREGDB: "Could not write key to registry",
    REGDB_E_KEYMISSING: "Could not find the key in the registry",
    REGDB_E_INVALIDVALUE: "Invalid value for registry",
    REGDB_E_CLASSNOTREG: "Class not registered",
    REGDB_E_IIDNOTREG: "Interface not registered",
    CLASS_E_NOAGGREGATION: "Class does not support aggregation",
    CLASS_E_CLASSNOTAVAILABLE: "ClassFactory cannot supply requested class",
    CO_E_BAD_SERVER_NAME: "Invalid remote server name",
    CO_E_SERVER_START_TIMEOUT: "The server did not start in time",
    CO_E_NOTINITIALIZED: "CoInitialize has not been called",
    CO_E_CLASSSTRING: "Invalid class string",
    CO_E_OBJNOTREG: "Object is not registered",
    CO_E_SERVER_EXEC_FAILURE: "Server execution failed",
    CO_E_SERVER_STOPPING: "Object server is stopping",
    RPC_E_SERVER_DIED: "The server died",
    RPC_E_SERVERFAULT: "The server threw an exception",
    RPC_E_INVALIDMETHOD: "The method called does not exist",
    RPC_E_DISCONNECTED: "The object invoked has disconnected from its clients",
    RPC_E_VERSION_MISMATCH: "The version of OLE on the client and server machines does not match",
    RPC_E_INVALID_HEADER: "OLE received a packet with an invalid header",
    RPC_E_INVALID_OBJECT: "The requested object does not exist",
    RPC_E_ACCESS_DENIED: "Access denied",
    RPC_E_INVALID_OBJREF: "The marshaled interface data packet (OBJREF) has an invalid format",
    RPC_E_TIMEOUT: "This operation returned because the timeout period expired",
    RPC_E_UNEXPECTED: "An internal error occurred",
    DISP_E_UNKNOWNINTERFACE: "Unknown interface",
    DISP_E_MEMBERNOTFOUND: "Member not found",
    DISP_E_PARAMNOTFOUND: "Parameter not found",
    DISP_E_TYPEMISMATCH: "Type mismatch",
    DISP_E_UNKNOWNNAME: "Unknown name",
    DISP_E_NONAMEDARGS: "Does not support named arguments",
    DISP_E_BADVARTYPE: "Bad variable type",
    DISP_E_EXCEPTION: "Exception occurred",
    DISP_E_OVERFLOW: "Out of present range",
    DISP_E_BADINDEX: "Invalid index",
    DISP_E_BADPARAMCOUNT: "Invalid number of parameters",
    DISP_E_PARAMNOTOPTIONAL: "Parameter not optional",
    DISP_E_DIVBYZERO: "Division by zero",
    TYPE_E_ELEMENTNOTFOUND: "Element not found",
    TYPE_E_BADMODULEKIND: "Module is of the wrong kind for the operation",
}

_WIN32_MESSAGES = {
    ERROR_FILE_NOT_FOUND: "The system cannot find the file specified",
    ERROR_PATH_NOT_FOUND: "The system cannot find the path specified",
    ERROR_ACCESS_DENIED: "Access is denied",
    ERROR_OUTOFMEMORY: "Not enough storage is available to complete this operation",
    ERROR_LOCK_VIOLATION: "The process cannot access the file because another process has locked a portion of the file",
    ERROR_NOT_SUPPORTED: "The request is not supported",
    ERROR_MOD_NOT_FOUND: "The specified module could not be found",
    ERROR_BADDB: "The configuration registry database is corrupt",
    ERROR_USER_EXISTS: "The specified account already exists",
    ERROR_NO_SUCH_USER: "The specified account does not exist",
    ERROR_LOGON_FAILURE: "The user name or password is incorrect",
    RPC_S_INVALID_BINDING: "The binding handle is invalid",
    RPC_S_UNKNOWN_IF: "The interface is unknown",
    RPC_S_OUT_OF_RESOURCES: "Not enough resources are available to complete this operation",
    RPC_S_SERVER_UNAVAILABLE: "The RPC server is unavailable",
    RPC_S_SERVER_TOO_BUSY: "The RPC server is too busy to complete this operation",
    RPC_S_SERVER_OUT_OF_MEMORY: "The server has insufficient memory to complete this operation",
    RPC_S_CALL_FAILED: "The remote procedure call failed",
    RPC_S_CALL_FAILED_DNE: "The remote procedure call failed and did not execute",
    RPC_S_PROTOCOL_ERROR: "A remote procedure call (RPC) protocol error occurred",
    RPC_S_UNSUPPORTED_TRANS_SYN: "The transfer syntax is not supported by the RPC server",
    RPC_S_UNSUPPORTED_TYPE: "The universal unique identifier (UUID) type is not supported",
    RPC_S_INVALID_TAG: "The tag is invalid",
    RPC_S_INVALID_BOUND: "The array bounds are invalid",
    RPC_S_UNKNOWN_AUTHN_TYPE: "The authentication type is unknown",
    RPC_S_PROCNUM_OUT_OF_RANGE: "The procedure number is out of range",
    RPC_S_UNKNOWN_AUTHN_SERVICE: "The authentication service is unknown",
    EPT_S_CANT_PERFORM_OP: "The server endpoint cannot perform the operation",
    RPC_S_CANNOT_SUPPORT: "The requested operation is not supported",
    RPC_S_ZERO_DIVIDE: "The RPC server attempted an integer division by zero",
    RPC_S_ADDRESS_ERROR: "An addressing error occurred in the RPC server",
    RPC_S_FP_DIV_ZERO: "A floating-point operation at the RPC server caused a division by zero",
    RPC_S_FP_UNDERFLOW: "A floating-point underflow occurred at the RPC server",
    RPC_S_FP_OVERFLOW: "A floating-point overflow occurred at the RPC server",
    RPC_X_BAD_STUB_DATA: "The stub received bad data",
    RPC_S_CALL_CANCELLED: "The remote procedure call was cancelled",
    RPC_S_COMM_FAILURE: "A communications failure occurred during a remote procedure call",
    RPC_S_UNSUPPORTED_AUTHN_LEVEL: "The requested authentication level is not supported",
    RPC_S_SEC_PKG_ERROR: "A security package-specific error occurred",
    RPC_S_INVALID_OBJECT: "The object universal unique identifier (UUID) was not found",
    OR_INVALID_OXID: "The object exporter specified was not found",
    OR_INVALID_OID: "The object specified was not found",
    OR_INVALID_SET: "The object resolver set was not found",
}

_WIN32_NAMES = {
    value: name
    for name, value in list(globals().items())
    if name.isupper() and isinstance(value, int) and value in _WIN32_MESSAGES
    and name.startswith(("ERROR_", "RPC_S_", "RPC_X_", "EPT_S_", "OR_"))
}

_NAMES = {
    value: name
    for name, value in list(globals().items())
    if name.isupper() and isinstance(value, int) and not name.startswith(("_", "HRESULT_"))
    and (value & 0x80000000 or name.startswith(("S_", "CO_S_")))
}


def name_of(hresult: int) -> str:
    """The symbolic name of an HRESULT, or its hex form when it has none here."""
    hresult &= 0xFFFFFFFF
    name = _NAMES.get(hresult)
    if name:
        return name
    if hresult & 0xFFFF0000 == 0x80070000 and (hresult & 0xFFFF) in _WIN32_MESSAGES:
        return f"HRESULT_FROM_WIN32({_WIN32_NAMES[hresult & 0xFFFF]})"
    return f"0x{hresult:08X}"


def label_of(hresult: int) -> str:
    """How logs write an HRESULT: "S_OK", else its name and hex, "REGDB_E_CLASSNOTREG
    (0x80040154)" (the hex alone when it has no name here)."""
    hresult &= 0xFFFFFFFF
    name = name_of(hresult)
    if hresult == S_OK or name.startswith("0x"):
        return name
    return f"{name} (0x{hresult:08X})"


def message_of(hresult: int) -> str:
    """A readable message for an HRESULT (for HRESULT_FROM_WIN32 codes, the Win32 message)."""
    hresult &= 0xFFFFFFFF
    if hresult in _MESSAGES:
        return _MESSAGES[hresult]
    if hresult & 0xFFFF0000 == 0x80070000:
        return _WIN32_MESSAGES.get(hresult & 0xFFFF, "Unknown error")
    return "Unknown error"


class ComError(Exception):
    """A COM failure: ``hresult`` is the unsigned 32-bit HRESULT, ``detail`` says what failed.

    ``str(err)`` reads like ``Class not registered (REGDB_E_CLASSNOTREG 0x80040154): {clsid}``.
    A failure a remote server explained (its error information, MS-DCOM 2.2.21) also has
    ``source`` (who raised it, e.g. the exception's type) and ``description`` (what it said);
    both are None otherwise.
    """

    source: str | None = None
    description: str | None = None

    def __init__(self, hresult: int, detail: str = "", *, source: str | None = None,
                 description: str | None = None) -> None:
        self.hresult = hresult & 0xFFFFFFFF
        self.detail = detail
        # Set only when given, so that a subclass that set its own (DispatchError) keeps them.
        if source is not None:
            self.source = source
        if description is not None:
            self.description = description
        super().__init__(self.hresult, detail)

    @property
    def name(self) -> str:
        return name_of(self.hresult)

    def __str__(self) -> str:
        text = f"{message_of(self.hresult)} ({self.name} 0x{self.hresult:08X})"
        return f"{text}: {self.detail}" if self.detail else text

    def __repr__(self) -> str:
        return f"ComError(0x{self.hresult:08X}, {self.detail!r})"

    def __reduce__(self):  # picklable across processes
        if self.source is None and self.description is None:
            return (type(self), (self.hresult, self.detail))
        return (type(self), (self.hresult, self.detail),
                {"source": self.source, "description": self.description})
