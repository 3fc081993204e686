"""The verification trailer a client may append to a request stub (MS-RPCE 2.2.2.13).

It sits after the stub data in the last fragment, before the auth padding: an 8-byte signature
and a list of commands, the last flagged SEC_VT_COMMAND_END. pydcom starts it on a 4-byte
boundary, where Samba's reader looks for it; scapy puts it right after the stub, and MS-RPCE
2.2.2.13 tells a server to search for the signature rather than assume where it is. A server
that does not know where the stub ends searches from the end, at any offset; a match counts
only if the commands parse exactly to the end of the stub.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

SIGNATURE = bytes.fromhex("8ae31371 02f43671".replace(" ", ""))
COMMAND_BITMASK_1 = 0x0001
COMMAND_PCONTEXT = 0x0002
COMMAND_HEADER2 = 0x0003
COMMAND_END = 0x4000
COMMAND_MUST_PROCESS = 0x8000
_KNOWN = {COMMAND_BITMASK_1, COMMAND_PCONTEXT, COMMAND_HEADER2}
_COMMAND = struct.Struct("<HH")
_SEARCH_WINDOW = 1024  # a trailer is far shorter; bounds the search on large stubs


class VerificationCommand(NamedTuple):
    """One SEC_VT command: its number (without flags), its flags, and its body."""

    command: int
    flags: int
    body: bytes


class VerificationTrailer(NamedTuple):
    commands: tuple[VerificationCommand, ...]

    @property
    def has_unknown_must_process(self) -> bool:
        """An unknown command flagged MUST_PROCESS: the server must reject the call (status 5)."""
        return any(c.flags & COMMAND_MUST_PROCESS and c.command not in _KNOWN for c in self.commands)


def _parse_commands(data: bytes, offset: int) -> tuple[VerificationCommand, ...] | None:
    commands = []
    end = len(data)
    while offset + 4 <= end:
        value, length = _COMMAND.unpack_from(data, offset)
        body_end = offset + 4 + length
        if body_end > end:
            return None
        commands.append(VerificationCommand(value & 0x3FFF, value & 0xC000, data[offset + 4:body_end]))
        offset = body_end
        if value & COMMAND_END:
            return tuple(commands) if offset == end else None
    return None


def split_verification_trailer(stub: bytes) -> tuple[bytes, VerificationTrailer | None]:
    """Return the stub without its trailer, and the trailer if there is one."""
    start = max(0, len(stub) - _SEARCH_WINDOW)
    at = stub.rfind(SIGNATURE, start)
    while at >= 0:
        commands = _parse_commands(stub, at + 8)
        if commands is not None:
            return stub[:at], VerificationTrailer(commands)
        at = stub.rfind(SIGNATURE, start, at)
    return stub, None


def encode_verification_trailer(commands: list[VerificationCommand], stub_length: int) -> bytes:
    """Alignment padding plus the trailer, to append after a stub of ``stub_length`` bytes."""
    parts = [bytes(-stub_length % 4), SIGNATURE]
    for i, command in enumerate(commands):
        flags = command.flags | (COMMAND_END if i == len(commands) - 1 else 0)
        parts.append(_COMMAND.pack(command.command | flags, len(command.body)))
        parts.append(command.body)
    return b"".join(parts)
