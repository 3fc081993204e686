"""GUIDs as text and as bytes.

A GUID is held as ``uuid.UUID``. On the wire (NDR and OBJREF) it is Data1 u32, Data2 u16, Data3 u16
little-endian, then Data4's 8 bytes as they are (MS-DTYP 2.3.4), which is ``UUID.bytes_le``.
In text, Windows writes ``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`` in upper case; both that form and
the bare form are accepted on input.
"""

from __future__ import annotations

import re
import uuid

from pydcom.memo import Memo

GUID_NULL = uuid.UUID(int=0)

_GUID_TEXT = re.compile(
    r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?\Z"
)


def parse_guid(text: str | uuid.UUID) -> uuid.UUID:
    """Parse ``{...}`` or bare GUID text; a UUID passes through. ValueError on anything else."""
    if isinstance(text, uuid.UUID):
        return text
    if not isinstance(text, str):
        raise ValueError(f"not a GUID: {text!r}")
    match = _GUID_TEXT.match(text.strip())
    if match is None or (text.strip().startswith("{") != text.strip().endswith("}")):
        raise ValueError(f"not a GUID: {text!r}")
    return uuid.UUID(match.group(1))


def is_guid_text(text: str) -> bool:
    try:
        parse_guid(text)
    except ValueError:
        return False
    return True


def format_guid(value: uuid.UUID) -> str:
    """The registry form Windows uses: braces, upper case."""
    return "{" + str(value).upper() + "}"


# uuid.UUID construction and its bytes_le property cost microseconds each, and the same IIDs and
# IPIDs come back all the time: both directions are memoized.
_from_bytes = Memo(65536)  # 16 bytes -> UUID
_to_bytes = Memo(65536)  # UUID's integer -> 16 bytes


def guid_to_bytes(value: uuid.UUID) -> bytes:
    """MS-DTYP 2.3.4 wire form (16 bytes): ``value.bytes_le``. AttributeError if ``value`` is
    not a UUID."""
    number = value.int
    raw = _to_bytes.get(number)
    if raw is None:
        raw = _to_bytes.keep(number, value.bytes_le)
    return raw


def guid_from_bytes(data: bytes) -> uuid.UUID:
    value = _from_bytes.get(data)
    if value is None:
        data = bytes(data)
        value = _from_bytes.keep(data, uuid.UUID(bytes_le=data))
    return value
