"""OBJREF: the marshaled form of an interface pointer (MS-DCOM 2.2.18).

An OBJREF is a hand-marshaled packet, little-endian, with no NDR headers: a 24-byte header
(signature "MEOW", flags, iid) and one of four bodies. ``decode_objref`` returns one of the four
classes below; each has ``encode()``.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from pydcom.guid import GUID_NULL, guid_from_bytes, guid_to_bytes
from pydcom.wire.dualstringarray import DualStringArray
from pydcom.wire.errors import WireError

OBJREF_SIGNATURE = 0x574F454D  # "MEOW"
OBJREF_STANDARD = 0x1
OBJREF_HANDLER = 0x2
OBJREF_CUSTOM = 0x4
OBJREF_EXTENDED = 0x8
SORF_NOPING = 0x1000  # MS-DCOM 2.2.18.2
EXTENDED_SIGNATURE = 0x4E535956  # MS-DCOM 2.2.18.7
# A server marshaling a new interface pointer gives 5 public references (MS-DCOM 3.1.1.5.1).
DEFAULT_PUBLIC_REFS = 5

_HEADER = struct.Struct("<II16s")
_STDOBJREF = struct.Struct("<IIQQ16s")
_CUSTOM = struct.Struct("<16sII")


@dataclass(frozen=True)
class StdObjRef:
    """STDOBJREF (MS-DCOM 2.2.18.2): references, OXID, OID and IPID of one interface pointer."""

    flags: int
    public_refs: int
    oxid: int
    oid: int
    ipid: uuid.UUID

    SIZE = 40

    @property
    def no_ping(self) -> bool:
        return bool(self.flags & SORF_NOPING)

    def encode(self) -> bytes:
        return _STDOBJREF.pack(self.flags, self.public_refs, self.oxid, self.oid,
                              guid_to_bytes(self.ipid))

    @classmethod
    def decode(cls, data: bytes, offset: int = 0) -> "StdObjRef":
        if offset + 40 > len(data):
            raise WireError("STDOBJREF cut short")
        flags, refs, oxid, oid, ipid = _STDOBJREF.unpack_from(data, offset)
        return cls(flags, refs, oxid, oid, guid_from_bytes(ipid))


def _header(flags: int, iid: uuid.UUID) -> bytes:
    if iid == GUID_NULL:
        raise WireError("an OBJREF's iid must not be GUID_NULL (MS-DCOM 2.2.18)")
    return _HEADER.pack(OBJREF_SIGNATURE, flags, guid_to_bytes(iid))


@dataclass(frozen=True)
class ObjRefStandard:
    """OBJREF_STANDARD (MS-DCOM 2.2.18.4): STDOBJREF + the object resolver's bindings."""

    iid: uuid.UUID
    std: StdObjRef
    resolver: DualStringArray

    def encode(self) -> bytes:
        return _header(OBJREF_STANDARD, self.iid) + self.std.encode() + self.resolver.encode()


@dataclass(frozen=True)
class ObjRefHandler:
    """OBJREF_HANDLER (MS-DCOM 2.2.18.5): as standard, plus the CLSID of a client-side handler."""

    iid: uuid.UUID
    std: StdObjRef
    clsid: uuid.UUID
    resolver: DualStringArray

    def encode(self) -> bytes:
        return (_header(OBJREF_HANDLER, self.iid) + self.std.encode() + guid_to_bytes(self.clsid)
                + self.resolver.encode())


@dataclass(frozen=True)
class ObjRefCustom:
    """OBJREF_CUSTOM (MS-DCOM 2.2.18.6): an unmarshaler's CLSID and its opaque data.

    ``reserved`` may be anything and is ignored on receipt; Windows writes the size of the data
    plus 8 there, and some clients are said to need that, so it is the default.
    """

    iid: uuid.UUID
    clsid: uuid.UUID
    object_data: bytes
    reserved: int | None = None

    def encode(self) -> bytes:
        reserved = len(self.object_data) + 8 if self.reserved is None else self.reserved
        return (_header(OBJREF_CUSTOM, self.iid)
                + _CUSTOM.pack(guid_to_bytes(self.clsid), 0, reserved) + self.object_data)


@dataclass(frozen=True)
class DataElement:
    """DATAELEMENT (MS-DCOM 2.2.18.8): a marshaled envoy context, padded to 8 bytes."""

    data_id: uuid.UUID
    data: bytes

    def encode(self) -> bytes:
        if not self.data or self.data_id == GUID_NULL:
            raise WireError("a DATAELEMENT needs a context id and data")
        rounded = (len(self.data) + 7) & ~7
        return (self.data_id.bytes_le + struct.pack("<II", len(self.data), rounded) + self.data
                + bytes(rounded - len(self.data)))


@dataclass(frozen=True)
class ObjRefExtended:
    """OBJREF_EXTENDED (MS-DCOM 2.2.18.7): standard fields plus one envoy context element."""

    iid: uuid.UUID
    std: StdObjRef
    resolver: DualStringArray
    element: DataElement

    def encode(self) -> bytes:
        return b"".join((_header(OBJREF_EXTENDED, self.iid), self.std.encode(),
                         struct.pack("<I", EXTENDED_SIGNATURE), self.resolver.encode(),
                         struct.pack("<II", 1, EXTENDED_SIGNATURE), self.element.encode()))


ObjRef = ObjRefStandard | ObjRefHandler | ObjRefCustom | ObjRefExtended


def decode_objref(data: bytes) -> ObjRef:
    """Parse an OBJREF. WireError (the caller's RPC_E_INVALID_OBJREF) on any malformation."""
    data = bytes(data)
    if len(data) < 24:
        raise WireError("OBJREF shorter than its header")
    signature, flags, iid_bytes = _HEADER.unpack_from(data)
    if signature != OBJREF_SIGNATURE:
        raise WireError(f"OBJREF signature 0x{signature:08x} is not MEOW")
    iid = guid_from_bytes(iid_bytes)  # interfaces repeat: memoized
    if iid == GUID_NULL:
        raise WireError("OBJREF iid is GUID_NULL")
    if flags == OBJREF_STANDARD:
        std = StdObjRef.decode(data, 24)
        resolver, end = DualStringArray.decode(data, 64)
        return ObjRefStandard(iid, std, resolver)
    if flags == OBJREF_HANDLER:
        std = StdObjRef.decode(data, 24)
        if len(data) < 80:
            raise WireError("OBJREF_HANDLER cut short")
        clsid = uuid.UUID(bytes_le=data[64:80])
        resolver, _ = DualStringArray.decode(data, 80)
        return ObjRefHandler(iid, std, clsid, resolver)
    if flags == OBJREF_CUSTOM:
        if len(data) < 48:
            raise WireError("OBJREF_CUSTOM cut short")
        clsid, _extension, reserved = _CUSTOM.unpack_from(data, 24)
        return ObjRefCustom(iid, guid_from_bytes(clsid), data[48:], reserved)
    if flags == OBJREF_EXTENDED:
        std = StdObjRef.decode(data, 24)
        if len(data) < 68 or struct.unpack_from("<I", data, 64)[0] != EXTENDED_SIGNATURE:
            raise WireError("OBJREF_EXTENDED Signature1 missing")
        resolver, offset = DualStringArray.decode(data, 68)
        if offset + 8 + 24 > len(data):
            raise WireError("OBJREF_EXTENDED cut short")
        count, signature2 = struct.unpack_from("<II", data, offset)
        if count != 1 or signature2 != EXTENDED_SIGNATURE:
            raise WireError(f"OBJREF_EXTENDED with nElms {count}, Signature2 0x{signature2:x}")
        data_id = uuid.UUID(bytes_le=data[offset + 8:offset + 24])
        size, rounded = struct.unpack_from("<II", data, offset + 24)
        start = offset + 32
        if not size or rounded != (size + 7) & ~7 or start + rounded > len(data):
            raise WireError("OBJREF_EXTENDED DATAELEMENT sizes are inconsistent")
        return ObjRefExtended(iid, std, resolver, DataElement(data_id, data[start:start + size]))
    raise WireError(f"OBJREF flags 0x{flags:x} name no known form")
