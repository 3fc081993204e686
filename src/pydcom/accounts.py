"""This machine's accounts: the users the activation service's NTLM acceptor knows, their
groups and their NT hashes (NTOWFv1, MS-NLMP 3.3.1), never their passwords, in one text file.

The file (``default_accounts_path()``) is UTF-8 text, one account a line::

    # pydcom accounts v1
    # NAME:GROUP,GROUP:NT-HASH
    alice:Administrators,Users:a4f49c406510bdcab6824ee7c30fd852
    bob::8846f7eaee8fb117ad06bdd830b7586c

The first line names the format and its version. After it, blank lines and lines whose first
non-blank character is ``#`` are comments; every other line is a name, its groups separated by
commas (none: nothing between the colons) and the 32 hexadecimal digits of the NT hash. A name
(of a user or a group) is 1 to 256 characters with no ``:``, ``,`` or control character, no
blank at either end and no ``#`` first. Anything else is refused, naming the file and the line.

The file holds secrets: an NT hash is enough to log on with NTLM. It must be open to its owner
only (mode 0600); one that others may read or write is refused, as ssh refuses a private key.
Changes (``add_user``, ``remove_user``, ``set_password``, ``set_groups``) hold an exclusive lock
on ``<file>.lock``, read the file, write a new one (mode 0600) beside it and rename it over the
old one, so a reader sees either version, never half of one, and concurrent changes all land.
Comment lines and the other accounts' lines are kept as they were.

A long-running service holds an ``AccountsSource``, which re-reads the file when it changes.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager, suppress
from typing import NamedTuple

from pydcom import hresult
from pydcom.hresult import ComError, hresult_from_win32
from pydcom.ntlm import nt_hash
from pydcom.ntlm.crypto import windows_upper
from pydcom.registry.errors import oserror_hresult

ENV_ACCOUNTS = "PYDCOM_ACCOUNTS"
FILE_NAME = "accounts"
HEADER = "# pydcom accounts v1"
MAX_NAME = 256
MAX_FILE_SIZE = 16 * 1024 * 1024
DEFAULT_LOCK_TIMEOUT = 10.0  # seconds a change waits for another writer

USER_EXISTS = hresult_from_win32(hresult.ERROR_USER_EXISTS)  # 0x80070524
NO_SUCH_USER = hresult_from_win32(hresult.ERROR_NO_SUCH_USER)  # 0x80070525
CORRUPT = hresult_from_win32(hresult.ERROR_BADDB)  # 0x800703F1
LOCKED = hresult_from_win32(hresult.ERROR_LOCK_VIOLATION)  # 0x80070021

_HASH = re.compile(r"[0-9a-fA-F]{32}")
_VERSION = re.compile(r"#\s*pydcom accounts v(\S+)\s*")
_log = logging.getLogger("pydcom.accounts")


class _Account(NamedTuple):
    name: str
    groups: tuple[str, ...]
    nt_hash: bytes


def _key(name: str) -> str:
    """Names match as on Windows: upper-cased one character at a time."""
    return windows_upper(name)


def check_name(name: object, what: str = "user name") -> str:
    """``name`` if it may name a user or a group, else ComError E_INVALIDARG saying why."""
    if not isinstance(name, str):
        raise ComError(hresult.E_INVALIDARG, f"a {what} is text, not {type(name).__name__}")
    if not name:
        raise ComError(hresult.E_INVALIDARG, f"a {what} must not be empty")
    why = None
    if len(name) > MAX_NAME:
        why = f"is longer than {MAX_NAME} characters"
    elif ":" in name or "," in name:
        why = "contains ':' or ','"
    elif any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        why = "contains a control character"
    elif name != name.strip():
        why = "begins or ends with a blank"
    elif name.startswith("#"):
        why = "begins with '#'"
    else:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            why = "is not valid Unicode text"
    if why:
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise ComError(hresult.E_INVALIDARG, f"{what} {shown!r} {why}")
    return name


def check_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """``groups`` as a tuple if each may name a group and none is given twice (in any case)."""
    if isinstance(groups, str):
        raise ComError(hresult.E_INVALIDARG, "groups are a list of names, not one string")
    checked: dict[str, str] = {}
    for group in groups:
        check_name(group, "group name")
        if _key(group) in checked:
            raise ComError(hresult.E_INVALIDARG, f"group {group!r} is given twice")
        checked[_key(group)] = group
    return tuple(checked.values())


class Accounts:
    """An immutable snapshot of the accounts: nothing a reader holds changes under it.

    This is a standalone machine: every account is local, and a client's domain, whatever it
    wrote (empty, ".", this machine's name or any other), names this machine's accounts, as a
    Windows workgroup machine treats the domain of a local logon. User and group names match
    without regard to case, as on Windows.
    """

    __slots__ = ("_by_key",)

    def __init__(self, accounts: Iterable[_Account] = ()) -> None:
        by_key: dict[str, _Account] = {}
        for account in accounts:
            by_key[_key(account.name)] = account
        object.__setattr__(self, "_by_key", by_key)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Accounts is immutable")

    @classmethod
    def empty(cls) -> Accounts:
        return cls()

    def nt_hash_of(self, user: str, domain: str = "") -> bytes | None:
        """The 16-byte NT hash of ``user``, or None; ``domain`` is not asked (see the class).
        The signature of ``ntlm.Acceptor``'s lookup."""
        account = self._by_key.get(_key(user))
        return None if account is None else account.nt_hash

    def groups_of(self, user: str) -> frozenset[str]:
        """The groups of ``user`` as the file spells them; none for an unknown user."""
        account = self._by_key.get(_key(user))
        return frozenset() if account is None else frozenset(account.groups)

    def in_group(self, user: str, group: str) -> bool:
        """Whether ``user`` is in ``group``, names compared without regard to case."""
        return _key(group) in {_key(g) for g in self.groups_of(user)}

    def users(self) -> list[tuple[str, frozenset[str]]]:
        """(name, groups) of every user, by name."""
        return [(a.name, frozenset(a.groups))
                for _, a in sorted(self._by_key.items())]

    def __contains__(self, user: object) -> bool:
        return isinstance(user, str) and _key(user) in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        return f"<Accounts: {len(self)} users>"


# --- reading ---------------------------------------------------------------------------------

def _os_error(exc: OSError, path: str) -> ComError:
    return ComError(oserror_hresult(exc, fallback=hresult.E_FAIL),
                    f"accounts file {path}: {exc.strerror or exc}")


def _corrupt(path: str, line: int, what: str) -> ComError:
    return ComError(CORRUPT, f"accounts file {path}, line {line}: {what}")


def _read(path: str) -> bytes | None:
    """The file's bytes, None if there is no file; refuses one that others may read."""
    try:
        # O_NONBLOCK: a FIFO put there must not hang the reader; regular files ignore it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _os_error(exc, path) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ComError(hresult.E_FAIL, f"accounts file {path} is not a regular file")
        if os.name != "nt" and info.st_mode & 0o077:
            raise ComError(hresult.E_ACCESSDENIED,
                           f"accounts file {path} is open to others than its owner (mode "
                           f"{stat.S_IMODE(info.st_mode):04o}); it holds secrets: chmod 600 {path}")
        data = file.read(MAX_FILE_SIZE + 1)
    if len(data) > MAX_FILE_SIZE:
        raise ComError(CORRUPT, f"accounts file {path} is larger than {MAX_FILE_SIZE} bytes")
    return data


def _parse(data: bytes, path: str) -> tuple[list[str], dict[str, tuple[int, _Account]]]:
    """The file's lines (without their newlines) and its accounts by key, each with the index
    of its line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _corrupt(path, data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines[-1] == "":
        lines.pop()  # the last line's newline
    if not lines or lines[0] != HEADER:
        version = _VERSION.fullmatch(lines[0]) if lines else None
        if version:
            raise _corrupt(path, 1, f"format version v{version[1]}; this pydcom reads v1")
        raise _corrupt(path, 1, f"the first line must be {HEADER!r}")
    found: dict[str, tuple[int, _Account]] = {}
    for index, line in enumerate(lines[1:], 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 3:
            raise _corrupt(path, index + 1, f"expected NAME:GROUPS:NT-HASH, found "
                                            f"{len(fields)} field{'s' * (len(fields) != 1)}")
        name, groups, hash_text = fields
        try:
            check_name(name)
            groups = check_groups(groups.split(",") if groups else ())
        except ComError as exc:
            raise _corrupt(path, index + 1, exc.detail) from None
        if not _HASH.fullmatch(hash_text):
            raise _corrupt(path, index + 1, "the NT hash is not 32 hexadecimal digits")
        if _key(name) in found:
            raise _corrupt(path, index + 1,
                           f"user {name!r} is also on line {found[_key(name)][0] + 1}")
        found[_key(name)] = (index, _Account(name, groups, bytes.fromhex(hash_text)))
    return lines, found


def load_accounts(path: str | os.PathLike[str]) -> Accounts:
    """The accounts in ``path``: none if there is no such file; ComError if it is malformed
    (HRESULT_FROM_WIN32(ERROR_BADDB), naming the line) or open to others (E_ACCESSDENIED)."""
    path = os.fspath(path)
    data = _read(path)
    if data is None:
        return Accounts.empty()
    return Accounts(account for _, account in _parse(data, path)[1].values())


# --- writing ---------------------------------------------------------------------------------

@contextmanager
def _locked(path: str, timeout: float):
    """An exclusive lock on ``<path>.lock``: the file itself is replaced, its lock file is not."""
    try:
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _os_error(exc, f"{path}.lock") from None
    try:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ComError(LOCKED, f"accounts file {path} is locked by another writer "
                                           f"(waited {timeout:g} s)") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write(path: str, lines: list[str]) -> None:
    """Replace ``path`` by ``lines`` at once: a 0600 file beside it, synced, then renamed."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                     suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as file:
            file.write("".join(f"{line}\n" for line in lines).encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    with suppress(OSError):  # the rename itself, durable; not every system can sync a folder
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


Edit = Callable[[list[str], dict[str, tuple[int, _Account]]], None]


def _change(path: str | os.PathLike[str], edit: Edit, timeout: float) -> None:
    """Under the lock: read the file (none is an empty one), let ``edit`` change its lines (or
    raise, and nothing is written), write it back."""
    path = os.fspath(path)
    with _locked(path, timeout):
        data = _read(path)
        lines, found = ([HEADER], {}) if data is None else _parse(data, path)
        edit(lines, found)
        try:
            _write(path, lines)
        except OSError as exc:
            raise _os_error(exc, path) from None


def _line(name: str, groups: tuple[str, ...], hash_value: bytes) -> str:
    return f"{name}:{','.join(groups)}:{hash_value.hex()}"


def _hash(password: object) -> bytes:
    if not isinstance(password, str) or not password:
        raise ComError(hresult.E_INVALIDARG, "the password must not be empty")
    return nt_hash(password)


def _existing(found: dict[str, tuple[int, _Account]], name: str, path: str) -> tuple[int, _Account]:
    if _key(name) not in found:
        raise ComError(NO_SUCH_USER, f"no user {name!r} in {path}")
    return found[_key(name)]


def add_user(path: str | os.PathLike[str], name: str, password: str, groups: Iterable[str] = (),
             *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Add an account; HRESULT_FROM_WIN32(ERROR_USER_EXISTS) if there is one of that name."""
    check_name(name)
    groups = check_groups(groups)
    hash_value = _hash(password)

    def edit(lines, found):
        if _key(name) in found:
            raise ComError(USER_EXISTS, f"user {found[_key(name)][1].name!r} is already in "
                                        f"{os.fspath(path)}")
        lines.append(_line(name, groups, hash_value))

    _change(path, edit, timeout)


def remove_user(path: str | os.PathLike[str], name: str, *,
                timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Remove an account; HRESULT_FROM_WIN32(ERROR_NO_SUCH_USER) if there is none."""
    def edit(lines, found):
        index, _ = _existing(found, name, os.fspath(path))
        del lines[index]

    _change(path, edit, timeout)


def set_password(path: str | os.PathLike[str], name: str, password: str, *,
                 timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Change an account's NT hash, keeping its groups."""
    hash_value = _hash(password)

    def edit(lines, found):
        index, account = _existing(found, name, os.fspath(path))
        lines[index] = _line(account.name, account.groups, hash_value)

    _change(path, edit, timeout)


def set_groups(path: str | os.PathLike[str], name: str, groups: Iterable[str], *,
               timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Replace an account's groups, keeping its NT hash."""
    groups = check_groups(groups)

    def edit(lines, found):
        index, account = _existing(found, name, os.fspath(path))
        lines[index] = _line(account.name, groups, account.nt_hash)

    _change(path, edit, timeout)


# --- for a long-running service --------------------------------------------------------------

class AccountsSource:
    """The accounts as a service sees them: ``current()`` is a snapshot of the file as it is
    now, so that ``pydcom users add`` takes effect without a restart.

    The file is read when its identity, time, size or mode (``st_ino``, ``st_mtime_ns``,
    ``st_size``, ``st_mode``) changed since the last call: one ``stat`` a call otherwise. The
    first read happens here and raises ComError if the file is malformed or open to others;
    later, such a file is logged once (a warning) and the last good snapshot is kept. A file
    that disappears is an empty store, as for ``load_accounts``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._accounts = load_accounts(self.path)

    def _stat(self) -> tuple | None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return ("error", exc.errno)  # load_accounts will say what; the stamp only differs
        return (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)

    def current(self) -> Accounts:
        with self._lock:
            stamp = self._stat()
            if stamp == self._stamp:
                return self._accounts
            self._stamp = stamp
            try:
                self._accounts = load_accounts(self.path)
            except ComError as exc:
                _log.warning("%s; keeping the %d accounts read before", exc, len(self._accounts))
            else:
                _log.info("accounts file %s read: %d accounts", self.path, len(self._accounts))
            return self._accounts


def default_accounts_path(registry: str | os.PathLike[str] | None = None) -> str:
    """``$PYDCOM_ACCOUNTS``, else the file ``accounts`` in the folder of the registry file:
    ``registry`` if given, else the default registry (``$PYDCOM_REGISTRY`` or the per-user
    file), so that a command and a service given the same registry find the same accounts."""
    env = os.environ.get(ENV_ACCOUNTS)
    if env:
        return env
    if registry is None:
        # Here, not at the top: the registry package is more than reading accounts needs.
        from pydcom.registry.default import default_path
        registry = default_path()
    return os.path.join(os.path.dirname(os.fspath(registry)), FILE_NAME)
