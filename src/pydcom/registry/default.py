"""The process's default registry: the one the activation API uses when given none.

Its path is, in order: what ``use()`` was given, the ``PYDCOM_REGISTRY`` environment variable,
or the per-user file (``%LOCALAPPDATA%\\pydcom\\registry.sqlite3`` on Windows,
``$XDG_DATA_HOME/pydcom/registry.sqlite3`` or ``~/.local/share/pydcom/registry.sqlite3``
elsewhere). It is opened on first use, once, by whichever thread gets there first. The per-user
folder is created when opened, but never the home directory it lies in: an account without one
(a service account's ``/nonexistent``) gets a ComError that says to name a registry file.
"""

from __future__ import annotations

import errno
import os
import threading

from pydcom.hresult import ComError
from pydcom.registry.errors import oserror_hresult
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
        base = os.environ.get("LOCALAPPDATA") or os.path.join(_home(), "AppData", "Local")
    else:
        base = os.environ.get("XDG_DATA_HOME", "")
        if not os.path.isabs(base):  # the XDG spec: a relative path is to be ignored
            base = os.path.join(_home(), ".local", "share")
    return os.path.join(base, "pydcom", FILE_NAME)


def _home() -> str:
    return os.path.expanduser("~")  # "~" itself if there is no HOME and no account entry


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
            _make_per_user_folder(os.path.dirname(path))
    return Registry(path, **options)


def _make_per_user_folder(folder: str) -> None:
    """Create the per-user registry folder (0700), or say in one line why it cannot be."""
    home = _home()
    try:
        if not os.path.isabs(folder):  # "~" stayed "~": no HOME, no account entry
            raise OSError(errno.ENOENT, "this account has no home directory")
        if _inside(folder, home) and not os.path.isdir(home):  # someone else's to create
            raise OSError(errno.ENOENT, f"the home directory {home} does not exist")
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and exc.filename != folder else ""
        raise ComError(oserror_hresult(exc),
                       f"cannot create the per-user registry folder {folder}: {exc.strerror}"
                       f"{where}; set {ENV_REGISTRY} (or the command's --registry) to name "
                       f"a registry file") from None


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


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
