"""The error information ORPC extension (MS-DCOM 2.2.21.1-2.2.21.3): a failure's source and
description, carried beside the HRESULT in the ORPCTHAT of a response.

The ORPCTHAT's extensions (2.2.13.4) hold an ORPC_EXTENT (2.2.13.1) whose id is
CLSID_ERROR_EXTENSION and whose data is an OBJREF (2.2.21.1). pydcom, as Windows, sends an
OBJREF_CUSTOM (2.2.18.6) with the unmarshaler CLSID_ErrorObject; its pObjectData is the error
object (2.2.21.2), a packet of little-endian fields::

    dwVersion u32 (0) · dwHelpContext u32 · iid (16)
    dwSourceSignature u32 · [Source: ErrorInfoString]
    dwDescriptionSignature u32 · [Description: ErrorInfoString]
    dwHelpFileSignature u32 · [HelpFile: ErrorInfoString]

A signature is 0xFFFFFFFF when its string follows and 0 when it does not. An ErrorInfoString
(2.2.21.3) is dwMax u32 (UTF-16 code units, the terminating NUL included) · dwOffSet u32 (0) ·
dwActual u32 (= dwMax) · Name (dwMax code units). impacket types dwActual as a 16-byte IID
(SPEC-NOTES §9 row 16); it is a u32.
"""

from __future__ import annotations

import logging
import struct
import uuid
from dataclasses import dataclass

from pydcom import ndr
from pydcom.guid import GUID_NULL
from pydcom.wire.errors import WireError
from pydcom.wire.ids import CLSID_ERROR_EXTENSION, CLSID_ErrorObject, IID_IErrorInfo
from pydcom.wire.objref import ObjRefCustom, decode_objref
from pydcom.wire.orpc import ORPC_EXTENT, ORPC_EXTENT_ARRAY, ORPCTHAT

log = logging.getLogger("pydcom.wire")

STRING_PRESENT = 0xFFFFFFFF  # a dw*Signature whose ErrorInfoString follows (2.2.21.2)
STRING_ABSENT = 0x00000000
# The longest string read or written, in UTF-16 code units with the NUL: a client must not let
# a peer's count decide how much it allocates, and no useful message is longer.
MAX_STRING_UNITS = 0x10000

_U32 = struct.Struct("<I")


class ErrorObjectData(ndr.Struct):
    """MS-DCOM 2.2.21.2: the fixed start of the error object, before the three strings."""
    dwVersion = ndr.u32
    dwHelpContext = ndr.u32
    iid = ndr.GUID


class ErrorInfoString(ndr.Struct):
    """MS-DCOM 2.2.21.3: the counts of one string; its Name, dwMax UTF-16 code units ending in
    a NUL, follows them."""
    dwMax = ndr.u32
    dwOffSet = ndr.u32
    dwActual = ndr.u32


@dataclass(frozen=True)
class ErrorInfo:
    """What IErrorInfo tells of a failure: the failing interface, who raised it (``source``),
    what it said (``description``) and where help is; a string that is None is not sent."""

    iid: uuid.UUID = GUID_NULL
    source: str | None = None
    description: str | None = None
    help_file: str | None = None
    help_context: int = 0

    def encode(self) -> bytes:
        """The error object's packet (2.2.21.2), the pObjectData of its OBJREF_CUSTOM."""
        parts = [ErrorObjectData(0, self.help_context & 0xFFFFFFFF, self.iid).encode()]
        for text in (self.source, self.description, self.help_file):
            if text is None:
                parts.append(_U32.pack(STRING_ABSENT))
                continue
            name = _utf16(text) + b"\0\0"
            units = len(name) // 2
            parts += [_U32.pack(STRING_PRESENT), ErrorInfoString(units, 0, units).encode(), name]
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> "ErrorInfo":
        """Read an error object's packet; WireError if it is not one. Bytes after HelpFile
        are ignored (the extent pads its data to 8 bytes)."""
        data = bytes(data)
        if len(data) < 24:
            raise WireError("error object shorter than its fixed fields")
        head = ErrorObjectData.decode(data[:24])
        if head.dwVersion != 0:
            raise WireError(f"error object version {head.dwVersion}, not 0")
        strings: list[str | None] = []
        offset = 24
        for field in ("Source", "Description", "HelpFile"):
            signature, offset = _signature(data, offset, field)
            if signature == STRING_ABSENT:
                strings.append(None)
                continue
            text, offset = _string(data, offset, field)
            strings.append(text)
        return cls(head.iid, *strings, help_context=head.dwHelpContext)

    def objref(self) -> ObjRefCustom:
        """The OBJREF_CUSTOM (2.2.18.6, 2.2.21.2) that carries the error object, marshaled as
        IErrorInfo: Windows reads it as a reference to an IErrorInfo object (MS-DCOM <15>)."""
        return ObjRefCustom(IID_IErrorInfo, CLSID_ErrorObject, self.encode())

    def extent(self) -> ORPC_EXTENT:
        """The error information extension (2.2.21.1) as an ORPC_EXTENT (2.2.13.1): size is
        the OBJREF's length, data the OBJREF zero-padded to a multiple of 8."""
        data = self.objref().encode()
        return ORPC_EXTENT(CLSID_ERROR_EXTENSION, len(data), data + bytes(-len(data) % 8))

    def orpcthat(self) -> ORPCTHAT:
        """An ORPCTHAT carrying this error: one extent in an array of (1+1)&~1 = 2, the second
        NULL (2.2.13.2)."""
        return ORPCTHAT(0, ORPC_EXTENT_ARRAY(1, 0, [self.extent(), None]))


def error_info_of(orpcthat: ORPCTHAT | None) -> ErrorInfo | None:
    """The error information in a response's ORPCTHAT, or None. Extents of other ids are
    ignored (MS-DCOM 2.2.13.1); so is an error extension that cannot be read, since the HRESULT
    alone still tells the failure."""
    array = orpcthat.extensions if orpcthat is not None else None
    for extent in (array.extent or ()) if array is not None else ():
        if extent is None or extent.id != CLSID_ERROR_EXTENSION:
            continue
        try:
            objref = decode_objref(extent.data[:extent.size])
            if not isinstance(objref, ObjRefCustom) or objref.clsid != CLSID_ErrorObject:
                raise WireError(f"error extension holds {type(objref).__name__}, "
                                "not a CLSID_ErrorObject OBJREF_CUSTOM")
            return ErrorInfo.decode(objref.object_data)
        except (WireError, ndr.NdrError) as exc:
            log.debug("ignoring an error information extension that cannot be read: %s", exc)
    return None


def _utf16(text: str) -> bytes:
    """``text`` as UTF-16LE, cut to fit MAX_STRING_UNITS with its NUL (never inside a
    surrogate pair); lone surrogates are replaced rather than refused."""
    raw = text.encode("utf-16-le", "replace")
    limit = 2 * (MAX_STRING_UNITS - 1)
    if len(raw) > limit:
        raw = raw[:limit]
        if 0xD8 <= raw[-1] <= 0xDB:  # the last unit is a high surrogate without its pair
            raw = raw[:-2]
    return raw


def _signature(data: bytes, offset: int, field: str) -> tuple[int, int]:
    """A dw*Signature at ``offset`` and the offset after it. The packet (2.2.21.2) puts fields
    back to back; a sender that aligns each signature to 4, as NDR would after a string of odd
    length, is read too."""
    for at in (offset, offset + (-offset % 4)):
        if at + 4 <= len(data):
            (signature,) = _U32.unpack_from(data, at)
            if signature in (STRING_PRESENT, STRING_ABSENT):
                return signature, at + 4
        if at % 4 == 0:
            break
    raise WireError(f"error object has no valid {field} signature at offset {offset}")


def _string(data: bytes, offset: int, field: str) -> tuple[str, int]:
    """An ErrorInfoString at ``offset`` (2.2.21.3): its text, up to the first NUL, and the
    offset after it."""
    if offset + 12 > len(data):
        raise WireError(f"error object {field} cut short")
    counts = ErrorInfoString.decode(data[offset:offset + 12])
    units = counts.dwMax
    if counts.dwOffSet != 0 or counts.dwActual != units:
        raise WireError(f"error object {field} counts max {units}, offset {counts.dwOffSet}, "
                        f"actual {counts.dwActual}")
    if units > MAX_STRING_UNITS:
        raise WireError(f"error object {field} of {units} characters is over the limit")
    start = offset + 12
    end = start + 2 * units
    if end > len(data):
        raise WireError(f"error object {field} of {units} characters cut short")
    text = data[start:end].decode("utf-16-le", "replace")
    return text.split("\0", 1)[0], end
