"""The process's default registry: the one the activation API uses when given none.

Its path is, in order: what ``use()`` was given, the ``PYDCOM_REGISTRY`` environment variable,
or the per-user file (``%LOCALAPPDATA%\\pydcom\\registry.sqlite3`` on Windows,
``$XDG_DATA_HOME/pydcom/registry.sqlite3`` or ``~/.local/share/pydcom/registry.sqlite3``
elsewhere). It is opened on first use, once, by whichever thread gets there first.
"""

from __future__ import annotations

import os
import threading

from pydcom.registry.store import Registry

ENV_REGISTRY = "PYDCOM_REGISTRY"
FILE_NAME = "registry.sqlite3"

_lock = threading.Lock()
_registry: Registry | None = None
_path: str | None = None


def default_path() -> str:
    """Where the default registry lives when ``use()`` named none."""
    env = os.environ.get(ENV_REGISTRY)
    if env:
        return env
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
    else:
        base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "pydcom", FILE_NAME)


def use(target: str | os.PathLike[str] | Registry | None) -> None:
    """Make ``target`` (a path, opened lazily, or an open Registry) the process default.

    ``None`` goes back to ``PYDCOM_REGISTRY`` or the per-user file. The previous default is not
    closed: snapshots and callers still holding it keep working.
    """
    global _registry, _path
    with _lock:
        if isinstance(target, Registry):
            _registry, _path = target, target.path
        else:
            _registry, _path = None, None if target is None else os.fspath(target)


def open_registry(path: str | os.PathLike[str] | None = None, **options: float) -> Registry:
    """Open ``path``, or the default path (creating the per-user folder if that is the one)."""
    if path is None:
        path = default_path()
        if not os.environ.get(ENV_REGISTRY):
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    return Registry(path, **options)


def default_registry() -> Registry:
    """The process default Registry, opened now if this is its first use."""
    global _registry
    registry = _registry
    if registry is not None:
        return registry
    with _lock:
        if _registry is None:
            _registry = open_registry(_path)
        return _registry
