"""This machine's name, and whether a server name means this machine.

The name is ``PYDCOM_MACHINE_NAME`` if set, else the host name; ``set_machine_name`` overrides
both. A server name that equals it (case-insensitively, a short name matching the first label
of a qualified one) means this machine. An IP address never does, loopback included: several
services on 127.0.0.x stand for several machines and are reached through the protocol.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket

ENV_MACHINE_NAME = "PYDCOM_MACHINE_NAME"

_name: str | None = None


def machine_name() -> str:
    name = _name
    if name is None:
        name = set_machine_name(None)
    return name


def set_machine_name(name: str | None) -> str:
    """Use ``name`` as this machine's name; ``None`` goes back to the environment or host name."""
    global _name
    _name = name or os.environ.get(ENV_MACHINE_NAME) or socket.gethostname()
    return _name


@functools.lru_cache(maxsize=256)
def is_this_machine(host: str, this_machine: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return False
    except ValueError:
        pass
    a, b = host.casefold().rstrip("."), this_machine.casefold().rstrip(".")
    if a == b:
        return True
    if "." in a and "." in b:
        return False
    return a.split(".", 1)[0] == b.split(".", 1)[0]
