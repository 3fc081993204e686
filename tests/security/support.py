"""What the security tests share: a client runtime of their own, always closed."""

from __future__ import annotations

import contextlib

from pydcom.rpc.security import ClientAuth
from pydcom.runtime.client import ClientRuntime


@contextlib.contextmanager
def runtime(auth: ClientAuth | None):
    """A ClientRuntime authenticating with ``auth`` (None: not at all)."""
    client = ClientRuntime(connect_timeout=2, auth=auth)
    try:
        yield client
    finally:
        client.close()
