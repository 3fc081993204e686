"""In-process servers: a Python class behind IUnknown and IClassFactory.

``class_object(entry)`` imports the class an entry names (``package.module:Class``) and returns
its class factory. Objects the factory creates are ``InprocObject``s: the Python instance behind
IUnknown, answering ``query_interface`` for IUnknown and the class's declared IIDs (the registry
entry's and the ``@coclass`` ones), counting references, and forwarding every other attribute to
the instance, so ``obj.Add(2, 3)`` calls the Python method. A pointer whose count reached 0 is
disconnected: using it raises ComError(RPC_E_DISCONNECTED) instead of touching a freed object.
"""

from __future__ import annotations

import importlib
import sys
import threading
import uuid
from typing import Any

from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry import ClassEntry
from pydcom.runtime.coclass import coclass_entry
from pydcom.runtime.iids import IID_IClassFactory, IID_IUnknown, as_iid
from pydcom.runtime.unknown import Unknown

_FACTORY_IIDS = frozenset({IID_IUnknown, IID_IClassFactory})


class RefCounted:
    """IUnknown over a fixed set of IIDs, thread-safe; the count starts at 1 (the creator's)."""

    __slots__ = ("_iids", "_refs", "_lock")

    def __init__(self, iids: frozenset[uuid.UUID]) -> None:
        self._iids = iids
        self._refs = 1
        self._lock = threading.Lock()

    def query_interface(self, iid: uuid.UUID | str) -> RefCounted:
        iid = as_iid(iid)
        with self._lock:
            self._check_connected()
            if iid not in self._iids:
                raise ComError(hresult.E_NOINTERFACE, f"{self!r} does not implement {format_guid(iid)}")
            self._refs += 1
        return self

    def add_ref(self) -> int:
        with self._lock:
            self._check_connected()
            self._refs += 1
            return self._refs

    def release(self) -> int:
        with self._lock:
            if self._refs:
                self._refs -= 1
            return self._refs

    def _check_connected(self) -> None:
        if not self._refs:
            raise ComError(hresult.RPC_E_DISCONNECTED, f"{self!r} was released")


class InprocObject(RefCounted):
    """An in-process object: the Python instance behind IUnknown."""

    __slots__ = ("_target",)

    def __init__(self, target: Any, iids: frozenset[uuid.UUID]) -> None:
        RefCounted.__init__(self, iids)
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:  # called only for names the pointer itself lacks
        if not object.__getattribute__(self, "_refs"):
            raise ComError(hresult.RPC_E_DISCONNECTED, f"{self!r} was released")
        return getattr(object.__getattribute__(self, "_target"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN_SLOTS:
            object.__setattr__(self, name, value)
        else:
            self._check_connected()
            setattr(self._target, name, value)

    def __repr__(self) -> str:
        return f"<in-process {type(self._target).__name__} object at 0x{id(self):x}>"


_OWN_SLOTS = frozenset(RefCounted.__slots__ + InprocObject.__slots__)


def unwrap(obj: InprocObject) -> Any:
    """The Python instance behind an in-process pointer."""
    return object.__getattribute__(obj, "_target")


class InprocClassFactory(RefCounted):
    """IClassFactory for one Python class."""

    __slots__ = ("_cls", "_instance_iids")

    def __init__(self, cls: type, instance_iids: frozenset[uuid.UUID]) -> None:
        RefCounted.__init__(self, _FACTORY_IIDS)
        self._cls = cls
        self._instance_iids = instance_iids

    def create_instance(self, iid: uuid.UUID | str = IID_IUnknown,
                        outer: Unknown | None = None) -> InprocObject:
        iid = as_iid(iid)
        with self._lock:
            self._check_connected()
        if outer is not None:
            raise ComError(hresult.CLASS_E_NOAGGREGATION, self._cls.__qualname__)
        if iid not in self._instance_iids:
            raise ComError(hresult.E_NOINTERFACE,
                           f"{self._cls.__qualname__} does not implement {format_guid(iid)}")
        try:
            target = self._cls()
        except ComError:
            raise
        except Exception as exc:
            raise ComError(hresult.E_FAIL, f"{self._cls.__qualname__}() raised "
                           f"{type(exc).__name__}: {exc}") from exc
        return InprocObject(target, self._instance_iids)

    def lock_server(self, lock: bool) -> None:
        server_locks.change(1 if lock else -1)

    def __repr__(self) -> str:
        return f"<class factory of {self._cls.__qualname__} at 0x{id(self):x}>"


class _ServerLocks:
    """IClassFactory::LockServer count of this process (a Python server is never unloaded,
    so the count is only kept, for the hosting code that decides when a server may exit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def change(self, delta: int) -> None:
        with self._lock:
            if self.count + delta < 0:
                raise ComError(hresult.E_UNEXPECTED, "lock_server(False) without lock_server(True)")
            self.count += delta


server_locks = _ServerLocks()

# CLSID -> (the entry it was loaded for, the class, the IIDs its objects answer to). A new
# snapshot's entry is usually the same object, else compared by value; a changed entry reloads.
_loaded: dict[uuid.UUID, tuple[ClassEntry, type, frozenset[uuid.UUID]]] = {}


def class_object(entry: ClassEntry, iid: uuid.UUID = IID_IClassFactory) -> InprocClassFactory:
    """The class factory of an in-process class, as ``iid`` (IClassFactory or IUnknown)."""
    if iid not in _FACTORY_IIDS:
        raise ComError(hresult.E_NOINTERFACE,
                       f"the class object of {format_guid(entry.clsid)} does not implement "
                       f"{format_guid(iid)}")
    loaded = _loaded.get(entry.clsid)
    if loaded is None or (loaded[0] is not entry and loaded[0] != entry):
        cls = load_class(entry.inproc_server or "", entry.python_path)
        declared = coclass_entry(cls)
        iids = {IID_IUnknown, *entry.interfaces, *(declared.interfaces if declared else ())}
        loaded = _loaded[entry.clsid] = (entry, cls, frozenset(iids))
    return InprocClassFactory(loaded[1], loaded[2])


_sys_path_lock = threading.Lock()


def load_class(path: str, folder: str | None = None) -> type:
    """Import ``package.module:Class``, from ``folder`` first when one is given (the folder the
    registration recorded: it goes on ``sys.path``, as pywin32 does with PythonCOMPath).

    HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND) if the module does not exist, CO_E_SERVER_EXEC_FAILURE
    if importing it raises, CLASS_E_CLASSNOTAVAILABLE if it has no such class.
    """
    module_name, _, qualname = path.partition(":")
    if folder:
        with _sys_path_lock:  # sys.path is the process's: one check-and-insert at a time
            if folder not in sys.path:
                sys.path.insert(0, folder)
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            where = f"in {folder} or the Python path" if folder else "on the Python path"
            raise ComError(hresult.hresult_from_win32(hresult.ERROR_MOD_NOT_FOUND),
                           f"in-process server {path}: no module {exc.name} {where}") from None
        raise _exec_failure(path, exc) from exc
    except Exception as exc:
        raise _exec_failure(path, exc) from exc
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise ComError(hresult.CLASS_E_CLASSNOTAVAILABLE,
                       f"in-process server {path}: {module_name} has no class {qualname}")
    return obj


def _exec_failure(path: str, exc: BaseException) -> ComError:
    return ComError(hresult.CO_E_SERVER_EXEC_FAILURE,
                    f"in-process server {path}: importing it raised {type(exc).__name__}: {exc}")
