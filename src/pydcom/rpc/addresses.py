"""This machine's addresses: what a wildcard listening address stands for when a server names
itself to clients (a binding of ``0.0.0.0`` reaches nobody), and which addresses are loopback.

Loopback addresses reach only this machine, so they are advertised only when the machine has no
other (a test namespace, say), and never to a caller on another machine.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
_IF_INET6 = "/proc/net/if_inet6"
_SCOPE_GLOBAL = 0x00


def is_wildcard(host: str) -> bool:
    """``0.0.0.0``, ``::`` or empty: every address of the machine."""
    return host in ("", "0.0.0.0", "::")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``; False for other names, which may name anything."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def interface_addresses() -> list[str]:
    """The IPv4 address of each interface that has one, then global IPv6 addresses."""
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:  # no IPv4 address, or the interface went away
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    try:
        with open(_IF_INET6, encoding="ascii") as table:
            for line in table:
                fields = line.split()
                if len(fields) >= 4 and int(fields[3], 16) == _SCOPE_GLOBAL:
                    found.append(str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))))
    except OSError:  # no IPv6 in this kernel or namespace
        pass
    return list(dict.fromkeys(found))


def advertised(host: str) -> list[str]:
    """The addresses a server listening on ``host`` names to its clients: ``host`` itself, or for
    a wildcard the machine's addresses of its family (both for ``::``, which is dual-stack),
    loopback ones only when there is nothing else."""
    if not is_wildcard(host):
        return [host]
    addresses = [a for a in interface_addresses() if host == "::" or ":" not in a]
    outside = [a for a in addresses if not is_loopback(a)]
    return outside or addresses or ["127.0.0.1"]
