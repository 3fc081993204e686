"""``Registry``: the registry database of one file, read through immutable snapshots.

Reading: ``snapshot()`` returns the current ``Snapshot``, held in one attribute and replaced whole
when the database changes. A hot read is a clock read and an attribute load; it touches SQLite
only when ``refresh_interval`` has passed since the last check, and then one thread checks
(``PRAGMA data_version``, then the generation counter) for all. Changes committed by this
``Registry`` are visible at once; changes by other processes within ``refresh_interval``.
``refresh()`` checks now, for a caller that must not act on a stale view. A registry this
account cannot write is read the same way, through a ``mode=ro`` connection, or from the file
as it is while no process has it open (``access.ReadOnlyReader``).

Writing: ``transaction()`` is one ``BEGIN IMMEDIATE`` transaction; the new state is validated by
building its snapshot before COMMIT, so a bad input or a failure leaves the database as it was.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry import access, schema
from pydcom.registry.errors import sqlite_errors
from pydcom.registry.model import AppIdEntry, ClassEntry
from pydcom.registry.snapshot import Snapshot

log = logging.getLogger("pydcom.registry")

DEFAULT_BUSY_TIMEOUT = 5.0
DEFAULT_REFRESH_INTERVAL = 0.05
_POLL_BUSY_TIMEOUT = 0.25  # a background check never blocks readers longer than this


class Transaction:
    """The changes of one write transaction, seen against the state it started from."""

    def __init__(self, base: Snapshot) -> None:
        self.base = base
        self._classes = dict(base.classes)
        self._appids = dict(base.appids)
        self._dirty_classes: set[uuid.UUID] = set()
        self._dirty_appids: set[uuid.UUID] = set()
        self._cleared = False

    def clsid_of(self, clsid_or_progid: str | uuid.UUID) -> uuid.UUID:
        return self.base.clsid_of(clsid_or_progid)

    def get_class(self, clsid: uuid.UUID) -> ClassEntry | None:
        return self._classes.get(clsid)

    def get_appid(self, appid: uuid.UUID) -> AppIdEntry | None:
        return self._appids.get(appid)

    def put_class(self, entry: ClassEntry) -> None:
        self._classes[entry.clsid] = entry
        self._dirty_classes.add(entry.clsid)

    def put_appid(self, entry: AppIdEntry) -> None:
        self._appids[entry.appid] = entry
        self._dirty_appids.add(entry.appid)

    def delete_class(self, clsid: uuid.UUID) -> ClassEntry:
        entry = self._classes.pop(clsid, None)
        if entry is None:
            raise ComError(hresult.REGDB_E_CLASSNOTREG, format_guid(clsid))
        self._dirty_classes.add(clsid)
        return entry

    def delete_appid(self, appid: uuid.UUID) -> AppIdEntry:
        entry = self._appids.pop(appid, None)
        if entry is None:
            raise ComError(hresult.REGDB_E_KEYMISSING, f"no AppID {format_guid(appid)}")
        self._dirty_appids.add(appid)
        return entry

    def clear(self) -> None:
        self._classes.clear()
        self._appids.clear()
        self._cleared = True

    def _commit(self, conn: sqlite3.Connection) -> Snapshot:
        """Validate by building the new snapshot, then write what changed."""
        generation = schema.bump_generation(conn)
        snapshot = Snapshot.build(generation, self._classes.values(), self._appids.values())
        if self._cleared:
            schema.delete_all(conn)
            self._dirty_classes.update(self._classes)
            self._dirty_appids.update(self._appids)
        for clsid in self._dirty_classes:
            if clsid in self._classes:
                schema.put_class(conn, self._classes[clsid])
            else:
                schema.delete_class(conn, format_guid(clsid))
        for appid in self._dirty_appids:
            if appid in self._appids:
                schema.put_appid(conn, self._appids[appid])
            else:
                schema.delete_appid(conn, format_guid(appid))
        return snapshot


class Registry:
    """The class registry stored in the SQLite file at ``path`` (created if missing).

    An account that can read the file but not write it, or not its folder, gets a read-only
    registry: it reads and refreshes as any other, and a write raises E_ACCESSDENIED.
    ``read_only`` says why, or is None.

    Safe to share between threads. Not across ``fork()``: a child process opens its own.
    """

    def __init__(self, path: str | os.PathLike[str], *,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 refresh_interval: float = DEFAULT_REFRESH_INTERVAL) -> None:
        self.path = os.fspath(path)
        self.refresh_interval = refresh_interval
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise ComError(hresult.hresult_from_win32(hresult.ERROR_PATH_NOT_FOUND),
                           f"registry {self.path}: no folder {folder}")
        self._write_lock = threading.Lock()   # one writer transaction of this process at a time
        self._refresh_lock = threading.Lock()  # owns _reader and the refresh bookkeeping
        self._install_lock = threading.Lock()  # held only to compare and swap _snapshot
        self._write_conn: sqlite3.Connection | None = None
        self._reader: access.Reader | access.ReadOnlyReader | None = None  # None once closed
        self.read_only: str | None = None
        poll_timeout = min(busy_timeout, _POLL_BUSY_TIMEOUT)
        try:
            with sqlite_errors(self.path, writing=False):  # writes nothing: a foreign file stays
                version = access.inspect(self.path, busy_timeout)
            self.read_only = access.write_denied(self.path)
            if self.read_only is None:
                with sqlite_errors(self.path, writing=True):
                    self._write_conn = schema.connect(self.path, busy_timeout)
                    schema.migrate(self._write_conn, self.path)
                    self._reader = access.Reader(schema.connect(self.path, busy_timeout),
                                                 poll_timeout)
            elif version < schema.SCHEMA_VERSION:
                raise ComError(hresult.E_ACCESSDENIED, self._cannot_create(version))
            else:
                self._reader = access.ReadOnlyReader(self.path, busy_timeout, poll_timeout)
            with sqlite_errors(self.path, writing=False):
                self._snapshot = self._reader.load(None)
        except BaseException:
            self.close()
            raise
        self._checked_at = time.monotonic()
        self._fresh_until = self._checked_at + refresh_interval
        log.debug("opened registry %s at generation %d%s", self.path, self._snapshot.generation,
                  " read-only" if self.read_only else "")

    def _cannot_create(self, version: int) -> str:
        if version:
            return (f"registry {self.path} has schema version {version}, this pydcom needs "
                    f"{schema.SCHEMA_VERSION}, and this account cannot upgrade it "
                    f"({self.read_only})")
        if os.path.exists(self.path):
            return (f"registry {self.path} is empty, and this account cannot write it "
                    f"({self.read_only})")
        return (f"registry {self.path} does not exist, and this account cannot create it "
                f"({self.read_only})")

    # --- reading -------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current snapshot: at most ``refresh_interval`` behind other processes' commits."""
        now = time.monotonic()
        if now < self._fresh_until:
            return self._snapshot
        return self._check(now)

    def refresh(self) -> Snapshot:
        """A snapshot that shows every change committed before this call."""
        return self._check(time.monotonic())

    def _check(self, started: float) -> Snapshot:
        with self._refresh_lock:
            if self._checked_at >= started or self._reader is None:
                return self._snapshot  # another thread checked after we were called, or closed
            checked_at = time.monotonic()
            try:
                with sqlite_errors(self.path, writing=False):
                    if self._reader.changed():  # the reader notes what it saw only once loaded
                        self._install(self._reader.load(self._snapshot))
            except ComError as exc:  # keep serving the last good state; readers never fail here
                log.warning("registry check failed, keeping generation %d: %s",
                            self._snapshot.generation, exc)
            self._checked_at = checked_at
            self._fresh_until = checked_at + self.refresh_interval
            return self._snapshot

    def _install(self, snapshot: Snapshot) -> None:
        """Replace the current snapshot if ``snapshot`` is newer (from a check or a commit)."""
        with self._install_lock:
            if snapshot.generation > self._snapshot.generation:
                self._snapshot = snapshot

    # --- writing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._write_lock:
            conn = self._writer()
            with sqlite_errors(self.path, writing=True):
                conn.execute("BEGIN IMMEDIATE")
            try:
                with sqlite_errors(self.path, writing=True):
                    txn = Transaction(access.state_of(conn, self._snapshot))
                yield txn
                with sqlite_errors(self.path, writing=True):
                    snapshot = txn._commit(conn)
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self._install(snapshot)  # never waits for a reader's check of the database

    def register(self, entry: ClassEntry) -> None:
        """Add the class, or replace the registration with the same CLSID."""
        with self.transaction() as txn:
            txn.put_class(entry)

    def unregister(self, clsid_or_progid: str | uuid.UUID) -> ClassEntry:
        """Remove the class and return what it was. REGDB_E_CLASSNOTREG if there is none."""
        with self.transaction() as txn:
            return txn.delete_class(txn.clsid_of(clsid_or_progid))

    def set_appid(self, entry: AppIdEntry) -> None:
        """Add the AppID, or replace the one with the same GUID."""
        with self.transaction() as txn:
            txn.put_appid(entry)

    def update_appid(self, appid: str | uuid.UUID, **changes: Any) -> AppIdEntry:
        """Change some fields of an AppID (created with defaults if missing), atomically."""
        with self.transaction() as txn:
            key = AppIdEntry(appid).appid
            entry = replace(txn.get_appid(key) or AppIdEntry(key), **changes)
            txn.put_appid(entry)
        return entry

    def remove_appid(self, appid: str | uuid.UUID) -> AppIdEntry:
        with self.transaction() as txn:
            return txn.delete_appid(AppIdEntry(appid).appid)

    def load_entries(self, classes: Iterable[ClassEntry], appids: Iterable[AppIdEntry], *,
                     replace_all: bool = False) -> None:
        """Write many entries in one transaction; with ``replace_all`` they become the registry."""
        with self.transaction() as txn:
            if replace_all:
                txn.clear()
            for entry in classes:
                txn.put_class(entry)
            for appid in appids:
                txn.put_appid(appid)

    # --- lifetime ------------------------------------------------------------------------

    def _writer(self) -> sqlite3.Connection:
        if self._reader is None:
            raise ComError(hresult.E_UNEXPECTED, f"registry {self.path} is closed")
        if self._write_conn is None:
            raise ComError(hresult.E_ACCESSDENIED,
                           f"registry {self.path} is read-only for this account ({self.read_only})")
        return self._write_conn

    def close(self) -> None:
        """Close the database; snapshots already taken stay valid."""
        with self._write_lock, self._refresh_lock:
            if self._write_conn is not None:
                self._write_conn.close()
            if self._reader is not None:
                self._reader.close()
            self._write_conn = self._reader = None

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.path!r})"
