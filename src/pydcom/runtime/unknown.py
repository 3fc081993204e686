"""The IUnknown and IClassFactory protocols every interface pointer implements.

In-process objects (``pydcom.runtime.inproc``) and the proxies of remote objects answer the
same small set of methods, so a caller never needs to know which one it holds.
"""

from __future__ import annotations

import uuid
from typing import Protocol, runtime_checkable

from pydcom.runtime.iids import IID_IUnknown


@runtime_checkable
class Unknown(Protocol):
    """IUnknown. ``query_interface`` returns a new reference or raises ComError(E_NOINTERFACE);
    ``add_ref`` and ``release`` return the new count. Once the count reaches 0 the pointer is
    disconnected: ``query_interface`` and ``add_ref`` raise ComError(RPC_E_DISCONNECTED) and a
    further ``release`` returns 0."""

    def query_interface(self, iid: uuid.UUID | str) -> Unknown: ...

    def add_ref(self) -> int: ...

    def release(self) -> int: ...


@runtime_checkable
class ClassFactory(Unknown, Protocol):
    """IClassFactory. ``create_instance`` returns a new object's ``iid`` (one reference);
    CLASS_E_NOAGGREGATION for an ``outer`` the class cannot be aggregated into.
    ``lock_server(True)`` keeps the server running until a matching ``lock_server(False)``."""

    def create_instance(self, iid: uuid.UUID | str = IID_IUnknown,
                        outer: Unknown | None = None) -> Unknown: ...

    def lock_server(self, lock: bool) -> None: ...
