"""The SQLite layout of the registry, its versions, and rows <-> entries.

``PRAGMA user_version`` is the schema version and ``PRAGMA application_id`` marks the file as
a pydcom registry. ``MIGRATIONS[n]`` holds the statements that take version n-1 to n; ``migrate``
runs the missing ones in one transaction, so a database is at one version or the next, never
between. Every write transaction bumps ``meta.generation``, which names the state a snapshot shows.
"""

from __future__ import annotations

import json
import sqlite3

from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry.errors import CORRUPT
from pydcom.registry.model import AppIdEntry, ClassEntry

APPLICATION_ID = 0x50594443  # "PYDC"
SCHEMA_VERSION = 2

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT INTO meta (key, value) VALUES ('generation', 0)",
        """CREATE TABLE class (
            clsid TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            progid TEXT,
            vi_progid TEXT,
            inproc_server TEXT,
            local_server TEXT,
            appid TEXT,
            threading_model TEXT NOT NULL,
            interfaces TEXT NOT NULL,          -- JSON list of GUID text
            treat_as TEXT)""",
        """CREATE TABLE appid (
            appid TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            remote_server_name TEXT,
            activate_at_storage INTEGER NOT NULL,
            launch_permission TEXT,            -- JSON list of account names, NULL = default
            access_permission TEXT,
            run_as TEXT)""",
    ),
    2: (
        "ALTER TABLE class ADD COLUMN python_path TEXT",  # the folder of inproc_server's module
    ),
}

CLASS_COLUMNS = ("clsid, name, progid, vi_progid, inproc_server, local_server, appid, "
                 "threading_model, interfaces, treat_as, python_path")
APPID_COLUMNS = ("appid, name, remote_server_name, activate_at_storage, launch_permission, "
                 "access_permission, run_as")


def connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal, busy timeout."""
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the database to SCHEMA_VERSION, or refuse one that is not a pydcom registry."""
    if classify(conn, path) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = classify(conn, path)  # again: another process may have changed it meanwhile
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def classify(conn: sqlite3.Connection, path: str) -> int:
    """The registry's schema version, 0 for an empty database (free to become a registry);
    ComError for a database of something else or of a newer pydcom. Only reads."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if app_id == 0:  # every version of the schema sets the marker with its first table
        if version or conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise ComError(CORRUPT, f"{path} is an SQLite database but not a pydcom registry")
    elif app_id != APPLICATION_ID:
        raise ComError(CORRUPT, f"{path} is not a pydcom registry (application_id 0x{app_id:08X})")
    if version > SCHEMA_VERSION:
        raise ComError(hresult.hresult_from_win32(hresult.ERROR_NOT_SUPPORTED),
                       f"registry {path} has schema version {version}; this pydcom "
                       f"knows versions up to {SCHEMA_VERSION}")
    return version


def generation(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]


def bump_generation(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
    return generation(conn)


def load(conn: sqlite3.Connection) -> tuple[list[ClassEntry], list[AppIdEntry]]:
    """Every entry; call inside a transaction so the two tables come from one state."""
    try:
        classes = [_class_from_row(row) for row in
                   conn.execute(f"SELECT {CLASS_COLUMNS} FROM class ORDER BY clsid")]
        appids = [_appid_from_row(row) for row in
                  conn.execute(f"SELECT {APPID_COLUMNS} FROM appid ORDER BY appid")]
    except (ComError, ValueError, TypeError) as exc:  # a row edited by hand into nonsense
        raise ComError(CORRUPT, f"the registry holds an invalid entry: {exc}") from exc
    return classes, appids


def put_class(conn: sqlite3.Connection, e: ClassEntry) -> None:
    conn.execute(f"INSERT OR REPLACE INTO class ({CLASS_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
        format_guid(e.clsid), e.name, e.progid, e.version_independent_progid, e.inproc_server,
        e.local_server, _opt_guid(e.appid), e.threading_model.value,
        json.dumps([format_guid(i) for i in e.interfaces]), _opt_guid(e.treat_as), e.python_path))


def put_appid(conn: sqlite3.Connection, a: AppIdEntry) -> None:
    conn.execute(f"INSERT OR REPLACE INTO appid ({APPID_COLUMNS}) VALUES (?,?,?,?,?,?,?)", (
        format_guid(a.appid), a.name, a.remote_server_name, int(a.activate_at_storage),
        _opt_json(a.launch_permission), _opt_json(a.access_permission), a.run_as))


def delete_class(conn: sqlite3.Connection, clsid_text: str) -> None:
    conn.execute("DELETE FROM class WHERE clsid = ?", (clsid_text,))


def delete_appid(conn: sqlite3.Connection, appid_text: str) -> None:
    conn.execute("DELETE FROM appid WHERE appid = ?", (appid_text,))


def delete_all(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM class")
    conn.execute("DELETE FROM appid")


def _class_from_row(row: tuple) -> ClassEntry:
    (clsid, name, progid, vi_progid, inproc, local, appid, threading, interfaces, treat_as,
     python_path) = row
    return ClassEntry(clsid=clsid, name=name, progid=progid, version_independent_progid=vi_progid,
                      inproc_server=inproc, local_server=local, appid=appid,
                      threading_model=threading, interfaces=tuple(json.loads(interfaces)),
                      treat_as=treat_as, python_path=python_path)


def _appid_from_row(row: tuple) -> AppIdEntry:
    appid, name, remote, at_storage, launch, access, run_as = row
    return AppIdEntry(appid=appid, name=name, remote_server_name=remote,
                      activate_at_storage=bool(at_storage), launch_permission=_from_json(launch),
                      access_permission=_from_json(access), run_as=run_as)


def _opt_guid(value) -> str | None:
    return None if value is None else format_guid(value)


def _opt_json(value: tuple[str, ...] | None) -> str | None:
    return None if value is None else json.dumps(list(value))


def _from_json(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))
