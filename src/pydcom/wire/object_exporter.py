"""IObjectExporter (the OXID resolver, MS-DCOM 3.1.2.5.1): parameter lists of its six methods.

A native RPC interface: no ORPCTHIS/ORPCTHAT, an error_status_t return (here the last [out]).
"""

from __future__ import annotations

from pydcom import ndr
from pydcom.rpc.constants import SyntaxId
from pydcom.wire.ids import IID_IObjectExporter
from pydcom.wire.orpc import COMVERSION, DUALSTRINGARRAY, IPID, OID, OXID, SETID

SYNTAX = SyntaxId(IID_IObjectExporter, 0, 0)
OP_RESOLVE_OXID, OP_SIMPLE_PING, OP_COMPLEX_PING, OP_SERVER_ALIVE = 0, 1, 2, 3
OP_RESOLVE_OXID2, OP_SERVER_ALIVE2 = 4, 5


class ResolveOxidRequest(ndr.Params):
    """MS-DCOM 3.1.2.5.1.1 / 3.1.2.5.1.5 [in] (the same for ResolveOxid2)"""
    pOxid = ndr.ref(OXID)
    cRequestedProtseqs = ndr.u16
    arRequestedProtseqs = ndr.ref(ndr.conformant(ndr.u16, size_is="cRequestedProtseqs"))


class ResolveOxidResponse(ndr.Params):
    """MS-DCOM 3.1.2.5.1.1 [out]"""
    ppdsaOxidBindings = ndr.ref(ndr.unique(DUALSTRINGARRAY))
    pipidRemUnknown = ndr.ref(IPID)
    pAuthnHint = ndr.ref(ndr.u32)
    status = ndr.error_status_t


class ResolveOxid2Response(ndr.Params):
    """MS-DCOM 3.1.2.5.1.5 [out]"""
    ppdsaOxidBindings = ndr.ref(ndr.unique(DUALSTRINGARRAY))
    pipidRemUnknown = ndr.ref(IPID)
    pAuthnHint = ndr.ref(ndr.u32)
    pComVersion = ndr.ref(COMVERSION)
    status = ndr.error_status_t


class SimplePingRequest(ndr.Params):
    """MS-DCOM 3.1.2.5.1.2 [in]"""
    pSetId = ndr.ref(SETID)


class StatusResponse(ndr.Params):
    """The [out] of SimplePing and ServerAlive: the status alone (MS-DCOM 3.1.2.5.1.2,
    3.1.2.5.1.4). The private local interface's methods answer the same."""
    status = ndr.error_status_t


class ComplexPingRequest(ndr.Params):
    """MS-DCOM 3.1.2.5.1.3 [in]"""
    pSetId = ndr.ref(SETID)
    SequenceNum = ndr.u16
    cAddToSet = ndr.u16
    cDelFromSet = ndr.u16
    AddToSet = ndr.unique(ndr.conformant(OID, size_is="cAddToSet"))
    DelFromSet = ndr.unique(ndr.conformant(OID, size_is="cDelFromSet"))


class ComplexPingResponse(ndr.Params):
    """MS-DCOM 3.1.2.5.1.3 [out]"""
    pSetId = ndr.ref(SETID)
    pPingBackoffFactor = ndr.ref(ndr.u16)
    status = ndr.error_status_t


class ServerAlive2Response(ndr.Params):
    """MS-DCOM 3.1.2.5.1.6 [out]. After an odd number of shorts in aStringArray, 2 zero bytes
    align pReserved (C706 14.2.2). Wireshark 4.0 reads pReserved and the status as 8 bytes
    right after the array, unaligned, and calls those 2 bytes a "Long frame": its mistake."""
    pComVersion = ndr.ref(COMVERSION)
    ppdsaOrBindings = ndr.ref(ndr.unique(DUALSTRINGARRAY))
    pReserved = ndr.ref(ndr.u32)
    status = ndr.error_status_t


class EmptyRequest(ndr.Params):
    """A method with no [in] parameters (ServerAlive, ServerAlive2: MS-DCOM 3.1.2.5.1.4, .6)."""
