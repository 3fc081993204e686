"""ServerInfo: the machine an activation should run on (COSERVERINFO)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydcom.registry import parse_machine_name
from pydcom.rpc.security import ClientAuth


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """A machine named ``host`` or ``host[port]`` (string-binding style; port 135 by default).

    Two ServerInfos are equal when they name the same host and port. CO_E_BAD_SERVER_NAME for a
    name of any other form. ``auth`` (the COAUTHINFO role) is what the activation and every
    later call to that machine authenticate with; without it, the process's own credentials
    (PYDCOM_USER) are used.
    """

    name: str = field(compare=False)
    auth: ClientAuth | None = field(default=None, compare=False, repr=False)
    host: str = field(init=False)
    port: int = field(init=False)

    def __post_init__(self) -> None:
        host, port = parse_machine_name(self.name)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "port", port)

    def __str__(self) -> str:
        return f"{self.host}[{self.port}]"
