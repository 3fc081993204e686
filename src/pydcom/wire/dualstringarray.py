"""DUALSTRINGARRAY: the network and security bindings of an object resolver or exporter
(MS-DCOM 2.2.19).

Two encodings carry the same content: the packet version inside an OBJREF (2.2.19.1) and the IDL
version, a conformant array of unsigned shorts, as an RPC parameter (2.2.19.2). Both are built
from ``entries()``, the array of unsigned shorts, so they cannot disagree.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from pydcom import hostport
from pydcom.memo import Memo
from pydcom.rpc.addresses import is_loopback
from pydcom.wire.errors import WireError

TOWER_NCACN_IP_TCP = 0x07  # C706 appendix I; MS-RPCE 2.1.1.1
RPC_C_AUTHN_NONE = 0x00
RPC_C_AUTHN_WINNT = 0x0A
RPC_C_AUTHN_GSS_NEGOTIATE = 0x09
_RESERVED = 0xFFFF
MAX_ENTRIES = 0xFFFF
_parsed = Memo(1024)  # (entries, security offset) -> DualStringArray


@dataclass(frozen=True)
class StringBinding:
    """STRINGBINDING (MS-DCOM 2.2.19.3): a protocol tower id and "host" or "host[endpoint]"."""

    tower_id: int
    network_addr: str

    @classmethod
    def tcp(cls, host: str, port: int | None = None) -> "StringBinding":
        return cls(TOWER_NCACN_IP_TCP, host if port is None else f"{host}[{port}]")

    @property
    def host(self) -> str:
        return hostport.split(self.network_addr)[0]

    @property
    def endpoint(self) -> str | None:
        """The part in brackets: a TCP port for ncacn_ip_tcp, or None."""
        return hostport.split(self.network_addr)[1]


@dataclass(frozen=True)
class SecurityBinding:
    """SECURITYBINDING (MS-DCOM 2.2.19.4): an authentication service and a principal name."""

    authn_svc: int
    principal_name: str = ""


@dataclass(frozen=True)
class DualStringArray:
    """DUALSTRINGARRAY (MS-DCOM 2.2.19)."""

    string_bindings: tuple[StringBinding, ...] = ()
    security_bindings: tuple[SecurityBinding, ...] = ()

    # -- the array of unsigned shorts both versions carry -------------------------------------
    def entries(self) -> tuple[list[int], int]:
        """(aStringArray, wSecurityOffset). An empty section is one empty entry and its
        terminator, which makes the smallest array 4 shorts with offset 2 (2.2.19.1). With no
        security that empty entry is a SECURITYBINDING of RPC_C_AUTHN_NONE: "use no security"
        (2.2.19.4, 3.2.4.2). Wireshark 4.0 takes it for the terminator and ends the array one
        short early; the array is right, wNumEntries says where it ends."""
        strings: list[int] = []
        for binding in self.string_bindings:
            if not binding.tower_id:
                raise WireError("a STRINGBINDING with tower id 0 would end the list")
            strings.append(binding.tower_id)
            strings.extend(_utf16z(binding.network_addr))
        strings.extend((0, 0) if not strings else (0,))
        security: list[int] = []
        for binding in self.security_bindings:
            if binding.authn_svc in (RPC_C_AUTHN_NONE, 0xFF):
                raise WireError(f"SECURITYBINDING cannot carry authn service {binding.authn_svc}")
            security.append(binding.authn_svc)
            security.append(_RESERVED)
            security.extend(_utf16z(binding.principal_name))
        security.extend((0, 0) if not security else (0,))
        entries = strings + security
        if len(entries) > MAX_ENTRIES:
            raise WireError("DUALSTRINGARRAY longer than 65535 unsigned shorts")
        return entries, len(strings)

    @classmethod
    def from_entries(cls, entries: list[int] | tuple[int, ...], security_offset: int
                     ) -> "DualStringArray":
        """Parse aStringArray, reading strings up to wSecurityOffset and security after it.
        A machine's few exporters send the same arrays again and again: parsed values (which
        are immutable) are kept by their entries, a bounded number of them."""
        key = (tuple(entries), security_offset)
        found = _parsed.get(key)
        if found is None:
            found = _parsed.keep(key, cls._parse(key[0], security_offset), len(entries))
        return found

    @classmethod
    def _parse(cls, entries: tuple[int, ...], security_offset: int) -> "DualStringArray":
        count = len(entries)
        if not 0 < security_offset <= count:
            raise WireError(f"wSecurityOffset {security_offset} outside the {count} entries")
        strings = []
        i = 0
        while i < security_offset and entries[i]:
            tower = entries[i]
            text, i = _read_utf16z(entries, i + 1, security_offset)
            strings.append(StringBinding(tower, text))
        security = []
        i = security_offset
        while i < count and entries[i]:
            svc = entries[i]
            if i + 1 >= count:
                raise WireError("SECURITYBINDING cut short")
            text, i = _read_utf16z(entries, i + 2, count)
            security.append(SecurityBinding(svc, text))
        return cls(tuple(strings), tuple(security))

    # -- packet version (MS-DCOM 2.2.19.1) ----------------------------------------------------
    def encode(self) -> bytes:
        return self._packet

    @functools.cached_property
    def _packet(self) -> bytes:  # every OBJREF an exporter writes carries the same bindings
        entries, security_offset = self.entries()
        return struct.pack(f"<HH{len(entries)}H", len(entries), security_offset, *entries)

    @classmethod
    def decode(cls, data: bytes, offset: int = 0) -> tuple["DualStringArray", int]:
        """Parse the packet version at ``offset``; return it and the offset after it."""
        if offset + 4 > len(data):
            raise WireError("DUALSTRINGARRAY header cut short")
        count, security_offset = struct.unpack_from("<HH", data, offset)
        end = offset + 4 + 2 * count
        if end > len(data):
            raise WireError(f"DUALSTRINGARRAY of {count} entries runs past the data")
        entries = struct.unpack_from(f"<{count}H", data, offset + 4)
        return cls.from_entries(entries, security_offset), end

    # -- conveniences ---------------------------------------------------------------------------
    @classmethod
    def tcp(cls, hosts: list[str] | tuple[str, ...], port: int | None = None,
            security: tuple[SecurityBinding, ...] = ()) -> "DualStringArray":
        return cls(tuple(StringBinding.tcp(h, port) for h in hosts), security)

    def tcp_bindings(self) -> list[StringBinding]:
        return [b for b in self.string_bindings if b.tower_id == TOWER_NCACN_IP_TCP]

    def seen_from(self, local: str | None, peer: str | None) -> "DualStringArray":
        """These bindings as a caller at ``peer``, who came in on ``local``, is given them: the
        address it used first (it reaches us that way), and loopback addresses left out when
        the caller is not on loopback (they would lead it to itself)."""
        bindings = self.string_bindings
        if peer is not None and not is_loopback(peer):
            bindings = tuple(b for b in bindings if not is_loopback(b.host)) or bindings
        if local is not None:
            bindings = tuple(sorted(bindings, key=lambda b: b.host != local))
        if bindings == self.string_bindings:
            return self
        return DualStringArray(bindings, self.security_bindings)

    def seen_by(self, call) -> "DualStringArray":
        """``seen_from`` the addresses of the connection ``call`` (a CallReceived) came on."""
        connection = call.connection
        if connection is None:
            return self
        return self.seen_from(connection.local[0], connection.peer[0])


def _utf16z(text: str) -> list[int]:
    raw = text.encode("utf-16-le")
    return list(struct.unpack(f"<{len(raw) // 2}H", raw)) + [0]


def _read_utf16z(entries, start: int, limit: int) -> tuple[str, int]:
    """Read a NUL-terminated UTF-16 string from entries[start:limit]; return it and the index
    after the NUL."""
    try:
        end = entries.index(0, start, limit)
    except ValueError:
        raise WireError("unterminated string in DUALSTRINGARRAY") from None
    raw = struct.pack(f"<{end - start}H", *entries[start:end])
    try:
        return raw.decode("utf-16-le"), end + 1
    except UnicodeDecodeError as exc:
        raise WireError(f"bad UTF-16 in DUALSTRINGARRAY: {exc}") from None
