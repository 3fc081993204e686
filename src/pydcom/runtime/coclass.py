"""``@coclass``: the registration metadata of a Python class, read by ``pydcom register``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from pydcom.hresult import ComError
from pydcom.registry import ClassEntry, check_import_path
from pydcom.runtime.iids import IID_IDispatch

T = TypeVar("T", bound=type)

COCLASS_ATTRIBUTE = "__pydcom_coclass__"


def coclass(clsid: str | uuid.UUID, progid: str | None = None, *,
            version_independent_progid: str | None = None, name: str | None = None,
            threading: str = "both",
            interfaces: Iterable[str | uuid.UUID] = (IID_IDispatch,),
            appid: str | uuid.UUID | None = None) -> Callable[[T], T]:
    """Declare a class a COM class: its CLSID, ProgIDs, threading model and the IIDs its objects
    answer besides IUnknown (IDispatch unless told otherwise: a Python object is late-bound).

    The class itself is returned unchanged; its ``ClassEntry`` is ``coclass_entry(cls)``, with
    ``inproc_server`` set to the class's import path when it has one. Bad metadata raises
    ComError when the class is defined.
    """
    def decorate(cls: T) -> T:
        entry = ClassEntry(clsid=clsid, name=cls.__name__ if name is None else name,
                           progid=progid, version_independent_progid=version_independent_progid,
                           inproc_server=_import_path(cls), appid=appid,
                           threading_model=threading, interfaces=tuple(interfaces))
        setattr(cls, COCLASS_ATTRIBUTE, entry)
        return cls
    return decorate


def coclass_entry(cls: type) -> ClassEntry | None:
    """The metadata ``@coclass`` gave this very class (a subclass does not inherit it)."""
    entry = cls.__dict__.get(COCLASS_ATTRIBUTE)
    return entry if isinstance(entry, ClassEntry) else None


def _import_path(cls: type) -> str | None:
    """``module:Qualified.Name``, or None for a class no import can reach (defined in a function)."""
    try:
        return check_import_path(f"{cls.__module__}:{cls.__qualname__}")
    except ComError:
        return None
