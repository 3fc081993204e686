"""Opening the registry file without harming it, and reading one this account cannot write.

``inspect`` tells what the file is before anything writes to it, so a foreign or damaged file
is refused exactly as it was: not switched to WAL mode, no -wal or -shm created beside it.
``write_denied`` tells whether this account may write the registry. A ``Registry`` it may write
reads through a ``Reader``; one it may not, through a ``ReadOnlyReader``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import schema
from pydcom.registry.errors import (
    LOCKED,
    SQLITE_CANTOPEN,
    SQLITE_READONLY,
    primary_code,
)
from pydcom.registry.snapshot import Snapshot

_READS_PER_LOAD = 3  # how often a read-only load tries again after meeting a writer


def connect_read_only(path: str, busy_timeout: float,
                      immutable: bool = False) -> sqlite3.Connection:
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
    # mode=ro would create the -wal and -shm of a WAL file that lacks them (see ReadOnlyReader);
    # read such a file as it is. A writer coming meanwhile changes the file only when it
    # closes, and a writer's schema.migrate checks again, under the write lock.
    conn = connect_read_only(path, busy_timeout, immutable=_wal_mode(path) and not _in_use(path))
    try:
        conn.execute("BEGIN")
        try:
            return schema.classify(conn, path)
        finally:
            if conn.in_transaction:  # some failures end the transaction themselves
                conn.execute("COMMIT")
    finally:
        conn.close()


def write_denied(path: str) -> str | None:
    """Why this account cannot write the registry at ``path``, or None if it can."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(path):
        return None if _may_write(folder) else f"no write permission on its folder {folder}"
    if not _may_write(path):
        return "no write permission on the file"
    if not _may_write(folder):  # WAL writes through a -wal and -shm beside the file
        return f"no write permission on its folder {folder}, where SQLite keeps its -wal and -shm"
    return None


def _may_write(path: str) -> bool:
    """As SQLite's open() will find: by the effective ids where the system can ask so."""
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def state_of(conn: sqlite3.Connection, current: Snapshot | None) -> Snapshot:
    """The database's state as a snapshot (in the caller's transaction): ``current`` itself if
    its generation is the committed one, else loaded and built anew."""
    generation = schema.generation(conn)
    if current is not None and current.generation == generation:
        return current
    classes, appids = schema.load(conn)
    return Snapshot.build(generation, classes, appids)


def read_state(conn: sqlite3.Connection, current: Snapshot | None) -> Snapshot:
    """The committed state, read in one read transaction."""
    conn.execute("BEGIN")
    try:
        return state_of(conn, current)
    finally:
        if conn.in_transaction:  # some failures end the transaction themselves
            conn.execute("COMMIT")


class Reader:
    """Reads through one connection; ``PRAGMA data_version`` tells of other connections' commits."""

    def __init__(self, conn: sqlite3.Connection, poll_timeout: float) -> None:
        self.conn = conn
        self._poll_timeout = poll_timeout
        self._version: int | None = None

    def changed(self) -> bool:
        return self._data_version() != self._version

    def load(self, current: Snapshot | None) -> Snapshot:
        first = self._version is None
        version = self._data_version()  # before loading: a commit during the load is seen next time
        snapshot = read_state(self.conn, current)
        self._version = version
        if first:  # the first load may wait as a writer would; later checks never block long
            self.conn.execute(f"PRAGMA busy_timeout = {int(self._poll_timeout * 1000)}")
        return snapshot

    def _data_version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        self.conn.close()


class ReadOnlyReader:
    """Reads a registry this account cannot write, such as a machine-wide one root writes,
    without ever creating a file beside it.

    SQLite reads a WAL file through the -wal and -shm beside it. While some connection has the
    file open they exist, and a ``mode=ro`` connection joins them even if it cannot write them;
    once joined, its lock keeps the last writer to close from removing them. While none has it
    open they are absent, and every commit is in the file itself: the last connection to close
    copied them there. ``mode=ro`` would then create the -wal and -shm, which this account may
    not do where it cannot write the folder, and must not do where it can: files of its own
    there would make the registry read-only for its writer. So the file is read as it is, with
    ``immutable=1``. That flag says the file never changes, untrue here, so it is used only under
    guards: only while no -wal exists (a writer creates one before it writes anything); a new
    connection for each load (an immutable one never rereads a page); and a load counts only if
    the file's stat and the -wal's absence are the same after it as before. A check looks at
    those same facts: a -wal means a writer came (join it), a new stat that one came and went.
    """

    def __init__(self, path: str, busy_timeout: float, poll_timeout: float) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._poll_timeout = poll_timeout
        self._joined: Reader | None = None
        self._seen: tuple[int, ...] | None = None  # the file's stat at the last load as it is

    def changed(self) -> bool:
        if self._joined is not None:
            return self._joined.changed()
        return _wal_exists(self.path) or _file_state(self.path) != self._seen

    def load(self, current: Snapshot | None) -> Snapshot:
        for _ in range(_READS_PER_LOAD):
            if self._joined is None and _in_use(self.path):
                self._join()
            if self._joined is not None:
                return self._joined.load(current)
            snapshot = self._read_as_is(current)
            if snapshot is not None:
                return snapshot
        if _wal_exists(self.path) and not _in_use(self.path):
            raise ComError(hresult.REGDB_E_READREGDB,
                           f"registry {self.path} cannot be read now: it has a -wal but no -shm, "
                           f"which this account does not create; its writer opening it mends that")
        raise ComError(LOCKED, f"registry {self.path} changed each time it was read")

    def _join(self) -> None:
        """Read through a ``mode=ro`` connection to the writer's -wal and -shm from now on."""
        conn = connect_read_only(self.path, self._busy_timeout)
        try:  # the first read opens the -wal and -shm (should the writer have just left and
            # this account may write the folder, SQLite creates them: a window of microseconds)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            if primary_code(exc) not in _NO_SHM:
                raise
            if _in_use(self.path):
                raise ComError(hresult.E_ACCESSDENIED,
                               f"registry {self.path} cannot be read by this account: its "
                               f"writer's -wal or -shm cannot be opened ({exc})") from exc
            return  # the writer left meanwhile: the file as it is holds everything
        except BaseException:
            conn.close()
            raise
        self._joined = Reader(conn, self._poll_timeout)

    def _read_as_is(self, current: Snapshot | None) -> Snapshot | None:
        """The state in the file itself, or None if a writer came by while it was read."""
        before = _file_state(self.path)
        if _wal_exists(self.path):
            return None
        conn = connect_read_only(self.path, self._busy_timeout, immutable=True)
        try:
            snapshot = read_state(conn, current)
        except (sqlite3.Error, ComError):
            if self._untouched_since(before):
                raise  # a true failure, not a page a passing writer changed under the read
            return None
        finally:
            conn.close()
        if not self._untouched_since(before):
            return None
        self._seen = before
        return snapshot

    def _untouched_since(self, before: tuple[int, ...] | None) -> bool:
        return not _wal_exists(self.path) and _file_state(self.path) == before

    def close(self) -> None:
        if self._joined is not None:
            self._joined.close()


_NO_SHM = (SQLITE_READONLY, SQLITE_CANTOPEN)  # what SQLite says when it cannot open the -shm


def _wal_mode(path: str) -> bool:
    """Whether the file's header says WAL mode: bytes 18-19 are 2 (1: a rollback journal)."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
    except OSError:
        return False  # let SQLite say what is wrong with it
    return 2 in header[18:20]


def _in_use(path: str) -> bool:
    """Whether the -wal and -shm of some connection are there to be joined."""
    return _wal_exists(path) and os.path.exists(path + "-shm")


def _wal_exists(path: str) -> bool:
    return os.path.exists(path + "-wal")


def _file_state(path: str) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns
