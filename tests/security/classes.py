"""A class served by the security tests' services: it says who calls it."""

from __future__ import annotations

import os
import uuid

import pydcom

GUARDED_CLSID = uuid.UUID("7c0b6d2e-41a9-4f53-8e1d-9b2a6c3f5e01")


@pydcom.coclass(clsid=GUARDED_CLSID, progid="Tests.Guarded")
class Guarded:
    def Add(self, a: int, b: int) -> int:
        return a + b

    def WhoAmI(self) -> str:
        """The caller's account and level, as the server learns them (pydcom.call_security)."""
        security = pydcom.call_security()
        return f"{security.principal}|{security.level}" if security is not None else "none"

    def ProcessId(self) -> int:
        return os.getpid()
