"""What the security tests share: a client runtime of their own, always closed."""

from __future__ import annotations

import contextlib
import uuid

from pydcom.rpc.security import ClientAuth
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.iids import IID_IDispatch
from pydcom.wire.orpc import orpcthis
from pydcom.wire.remunknown import RemQueryInterfaceRequest


@contextlib.contextmanager
def runtime(auth: ClientAuth | None):
    """A ClientRuntime authenticating with ``auth`` (None: not at all)."""
    client = ClientRuntime(connect_timeout=2, auth=auth)
    try:
        yield client
    finally:
        client.close()


def rem_query_interface(ipid: uuid.UUID) -> bytes:
    """A well-formed RemQueryInterface request (MS-DCOM 3.1.1.5.6.1.1) for IDispatch on
    ``ipid``: what a refused caller sends, so that the refusal is the only thing wrong."""
    return RemQueryInterfaceRequest(orpcthis(), ipid, 1, 1, [IID_IDispatch]).encode()
