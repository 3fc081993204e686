"""Opening the registry file without harming it.

``inspect`` tells what the file is before anything writes to it, so a foreign or damaged file
is refused exactly as it was: not switched to WAL mode, no -wal or -shm created beside it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pydcom.registry import schema


def connect_read_only(path: str, busy_timeout: float, immutable: bool = False) -> sqlite3.Connection:
    """A ``mode=ro`` connection (``immutable=1`` too if asked): it can never write the file."""
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    return sqlite3.connect(f"{Path(os.path.abspath(path)).as_uri()}?{query}", uri=True,
                           timeout=busy_timeout, isolation_level=None, check_same_thread=False)


def inspect(path: str, busy_timeout: float) -> int:
    """The schema version of the registry at ``path``, 0 if the file is missing or empty (free
    to become one); ComError for any other file (``schema.classify``). Writes nothing."""
    try:
        if os.stat(path).st_size == 0:
            return 0
    except FileNotFoundError:
        return 0
    # A mode=ro connection would create the -wal and -shm of a WAL file nobody has open; then
    # every commit is in the file itself, read as it is. A writer coming meanwhile changes the
    # file only when it closes, and ``schema.migrate`` checks again, under the write lock.
    conn = connect_read_only(path, busy_timeout, immutable=_quiescent(path))
    try:
        conn.execute("BEGIN")
        try:
            return schema.classify(conn, path)
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()


def _quiescent(path: str) -> bool:
    """A WAL file no connection has open: its header says WAL (bytes 18-19 are 2) and no -wal
    exists, as the last connection to close removed it."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
    except OSError:
        return False  # let SQLite say what is wrong with it
    return 2 in header[18:20] and not _wal_exists(path)


def _wal_exists(path: str) -> bool:
    return os.path.exists(path + "-wal")
