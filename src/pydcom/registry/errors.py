"""SQLite failures as the HRESULTs a COM caller would meet for the same registry trouble.

Every SQLite call in this package runs inside ``sqlite_errors(...)``, so no ``sqlite3`` exception
leaves the registry: a caller sees one ``ComError`` with a true HRESULT and a readable detail.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from pydcom import hresult
from pydcom.hresult import ComError, hresult_from_win32

# SQLite primary result codes (sqlite3.h); Python >= 3.11 exposes them on the exception.
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_CORRUPT, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 14, 26

LOCKED = hresult_from_win32(hresult.ERROR_LOCK_VIOLATION)
CORRUPT = hresult_from_win32(hresult.ERROR_BADDB)


def primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(exc).lower()  # Python 3.10: only the message tells
    for needle, value in (("locked", SQLITE_BUSY), ("readonly", SQLITE_READONLY),
                          ("not a database", SQLITE_NOTADB), ("malformed", SQLITE_CORRUPT),
                          ("unable to open", SQLITE_CANTOPEN)):
        if needle in text:
            return value
    return None


def translate(exc: sqlite3.Error, path: str, writing: bool) -> ComError:
    """The ComError that says what went wrong with the registry database at ``path``."""
    code = primary_code(exc)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return ComError(LOCKED, f"registry {path} is locked by another writer ({exc})")
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return ComError(hresult.E_ACCESSDENIED, f"registry {path} cannot be written ({exc})")
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return ComError(CORRUPT, f"registry {path} is not a valid database ({exc})")
    if code == SQLITE_CANTOPEN:
        return ComError(hresult.E_ACCESSDENIED, f"registry {path} cannot be opened ({exc})")
    failure = hresult.REGDB_E_WRITEREGDB if writing else hresult.REGDB_E_READREGDB
    return ComError(failure, f"registry {path}: {exc}")


def oserror_hresult(exc: OSError, fallback: int = hresult.REGDB_E_WRITEREGDB) -> int:
    """The HRESULT for a file or folder that could not be made or opened (the registry's, by
    default, whose other failures are ``fallback``; the accounts file's too)."""
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return hresult_from_win32(hresult.ERROR_PATH_NOT_FOUND)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return hresult.E_ACCESSDENIED
    return fallback


@contextmanager
def sqlite_errors(path: str, writing: bool) -> Iterator[None]:
    """Turn any ``sqlite3.Error`` raised in the block into a ComError (see ``translate``)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path, writing) from exc
