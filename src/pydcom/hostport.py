"""Names written ``host`` or ``host[port]``: the network address of a string binding (MS-DCOM
2.2.19.3), which pydcom also uses to name a machine whose service listens on another port than
the well-known one (MS-RPCE 2.1.1.1). One reader for both."""

from __future__ import annotations

WELL_KNOWN_PORT = 135  # ncacn_ip_tcp's endpoint of the endpoint mapper and the resolver


def split(text: str) -> tuple[str, str | None]:
    """(host, the text in the closing brackets, or None when there are none)."""
    if text.endswith("]"):
        host, bracket, inside = text[:-1].partition("[")
        if bracket:
            return host, inside
    return text, None
