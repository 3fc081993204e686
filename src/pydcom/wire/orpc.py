"""The ORPC structures every DCOM call carries (MS-DCOM 2.2.11-2.2.24), declared in NDR.

Conversions to and from the packet forms (OBJREF, the packet DUALSTRINGARRAY) live here too, so
that a caller holds ``ObjRef`` and ``DualStringArray`` values and never raw arrays.
"""

from __future__ import annotations

import uuid

from pydcom import ndr
from pydcom.wire.dualstringarray import DualStringArray
from pydcom.wire.errors import WireError
from pydcom.wire.ids import COM_MAJOR_VERSION, COM_MINOR_VERSION
from pydcom.wire.objref import ObjRef, decode_objref

OXID = OID = SETID = ndr.u64  # MS-DCOM 2.2.1, 2.2.2, 2.2.10
IPID = CID = CLSID = IID = ndr.GUID  # MS-DCOM 2.2.5-2.2.9


class COMVERSION(ndr.Struct):
    """MS-DCOM 2.2.11"""
    MajorVersion = ndr.u16
    MinorVersion = ndr.u16


CURRENT_VERSION = COMVERSION(COM_MAJOR_VERSION, COM_MINOR_VERSION)


class ORPC_EXTENT(ndr.Struct):
    """MS-DCOM 2.2.13.1: ``size`` counts the data's bytes without padding; ``data`` holds
    (size+7)&~7 of them. Extents of an unknown id are ignored; the well-known ones (the error
    information, the context) are 2.2.21."""
    id = ndr.GUID
    size = ndr.u32
    data = ndr.conformant(ndr.u8, size_is=lambda s: (s.size + 7) & ~7)


class ORPC_EXTENT_ARRAY(ndr.Struct):
    """MS-DCOM 2.2.13.2: ``size`` counts the non-NULL extents; the array holds (size+1)&~1
    pointers, a NULL one making an odd count even."""
    size = ndr.u32
    reserved = ndr.u32
    extent = ndr.unique(ndr.conformant(ndr.unique(ORPC_EXTENT),
                                       size_is=lambda s: (s.size + 1) & ~1))


class ORPCTHIS(ndr.Struct):
    """MS-DCOM 2.2.13.3: the implicit first [in] parameter of every ORPC call."""
    version = COMVERSION
    flags = ndr.u32
    reserved1 = ndr.u32
    cid = ndr.GUID
    extensions = ndr.unique(ORPC_EXTENT_ARRAY)


class ORPCTHAT(ndr.Struct):
    """MS-DCOM 2.2.13.4: the implicit first [out] parameter of every ORPC call."""
    flags = ndr.u32
    extensions = ndr.unique(ORPC_EXTENT_ARRAY)


class MInterfacePointer(ndr.Struct):
    """MS-DCOM 2.2.14: an OBJREF as a counted byte array."""
    ulCntData = ndr.u32
    abData = ndr.conformant(ndr.u8, size_is="ulCntData")


class DUALSTRINGARRAY(ndr.Struct):
    """MS-DCOM 2.2.19.2 (IDL version)."""
    wNumEntries = ndr.u16
    wSecurityOffset = ndr.u16
    aStringArray = ndr.conformant(ndr.u16, size_is="wNumEntries")


class STDOBJREF(ndr.Struct):
    """MS-DCOM 2.2.18.3 (IDL version)."""
    flags = ndr.u32
    cPublicRefs = ndr.u32
    oxid = OXID
    oid = OID
    ipid = IPID


class REMINTERFACEREF(ndr.Struct):
    """MS-DCOM 2.2.23"""
    ipid = IPID
    cPublicRefs = ndr.u32
    cPrivateRefs = ndr.u32


class REMQIRESULT(ndr.Struct):
    """MS-DCOM 2.2.24"""
    hResult = ndr.HRESULT
    std = STDOBJREF


PMInterfacePointer = ndr.unique(MInterfacePointer)  # MS-DCOM 2.2.15, 2.2.16


def orpcthis(cid: bytes | uuid.UUID | None = None,
             version: COMVERSION = CURRENT_VERSION) -> ORPCTHIS:
    """A fresh ORPCTHIS: flags 0, a causality id (its 16 wire bytes or a UUID; a random one
    unless given), no extensions."""
    if cid is None:
        cid = uuid.uuid4()
    elif not isinstance(cid, uuid.UUID):
        cid = uuid.UUID(bytes_le=bytes(cid))
    return ORPCTHIS(version, 0, 0, cid, None)


def interface_pointer(objref: ObjRef) -> MInterfacePointer:
    data = objref.encode()
    return MInterfacePointer(len(data), data)


def objref_of(pointer: MInterfacePointer) -> ObjRef:
    """The OBJREF inside an MInterfacePointer; WireError if it is not a valid one."""
    if pointer is None:
        raise WireError("NULL interface pointer")
    return decode_objref(pointer.abData)


def dualstringarray_ndr(value: DualStringArray) -> DUALSTRINGARRAY:
    entries, security_offset = value.entries()
    return DUALSTRINGARRAY(len(entries), security_offset, entries)


def dualstringarray_of(value: DUALSTRINGARRAY) -> DualStringArray:
    return DualStringArray.from_entries(value.aStringArray, value.wSecurityOffset)
