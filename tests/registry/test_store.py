import logging
import sqlite3
import threading
import uuid

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, Registry, schema
from pydcom.registry.errors import CORRUPT, LOCKED

A, B = (uuid.UUID(f"0f8e5c2a-3333-4a2b-9c3d-00000000000{n}") for n in (1, 2))
APP = uuid.UUID("0f8e5c2a-3333-4a2b-9c3d-0000000000ff")


def code_of(fn, *args, **kwargs) -> int:
    with pytest.raises(ComError) as info:
        fn(*args, **kwargs)
    return info.value.hresult


def test_register_persists_and_bumps_the_generation(reg, tmp_path):
    start = reg.snapshot().generation
    reg.register(ClassEntry(A, progid="Demo.A", inproc_server="demo:A", appid=APP))
    reg.set_appid(AppIdEntry(APP, remote_server_name="hostb"))
    assert reg.snapshot().generation == start + 2
    with Registry(tmp_path / "registry.sqlite3") as again:
        assert again.snapshot() == reg.snapshot()
        assert again.snapshot().appid_of(again.snapshot().classes[A]).remote_server_name == "hostb"


def test_unregister_by_progid_or_clsid(reg):
    reg.register(ClassEntry(A, progid="Demo.A"))
    reg.register(ClassEntry(B, progid="Demo.B"))
    assert reg.unregister("Demo.A").clsid == A
    assert reg.unregister(str(B)).clsid == B
    assert dict(reg.snapshot().classes) == {}


def test_a_refused_write_changes_nothing(reg):
    reg.register(ClassEntry(A, progid="Demo.A"))
    before = reg.snapshot()
    assert code_of(reg.unregister, B) == hresult.REGDB_E_CLASSNOTREG
    assert code_of(reg.unregister, "Demo.Nothing") == hresult.CO_E_CLASSSTRING
    assert code_of(reg.register, ClassEntry(B, progid="Demo.A")) == hresult.E_INVALIDARG
    assert code_of(reg.remove_appid, APP) == hresult.REGDB_E_KEYMISSING
    assert reg.refresh() is before


def test_a_transaction_that_raises_midway_leaves_no_trace(reg, tmp_path):
    reg.register(ClassEntry(A, progid="Demo.A"))
    before = reg.snapshot()
    with pytest.raises(RuntimeError):
        with reg.transaction() as txn:
            txn.delete_class(A)
            txn.put_class(ClassEntry(B, progid="Demo.B"))
            raise RuntimeError("crash between two changes")
    assert reg.refresh() is before
    with Registry(tmp_path / "registry.sqlite3") as again:
        assert again.snapshot() == before


def test_what_a_reader_holds_never_changes(reg):
    reg.register(ClassEntry(A, progid="Demo.A", interfaces=[B]))
    held = reg.snapshot()
    entry = held.classes[A]
    reg.register(ClassEntry(A, progid="Demo.A2"))
    reg.unregister(A)
    assert held.classes[A] is entry and entry.progid == "Demo.A" and held.clsid_of("Demo.A") == A
    assert A not in reg.snapshot().classes


def test_other_registries_see_changes_within_the_refresh_interval(tmp_path):
    path = tmp_path / "shared.sqlite3"
    with Registry(path, refresh_interval=3600) as slow, Registry(path, refresh_interval=0) as eager:
        old = slow.snapshot()
        eager.register(ClassEntry(A))
        assert A in eager.snapshot().classes
        assert slow.snapshot() is old  # within its interval: no database access at all
        assert A in slow.refresh().classes  # refresh() sees every committed change
        assert slow.snapshot().generation == eager.snapshot().generation


def test_update_appid_keeps_the_other_fields(reg):
    reg.set_appid(AppIdEntry(APP, name="Demo", launch_permission=["alice"]))
    entry = reg.update_appid(str(APP), remote_server_name="hostc[2000]")
    assert entry == AppIdEntry(APP, name="Demo", launch_permission=["alice"],
                               remote_server_name="hostc[2000]")
    assert reg.update_appid(B, run_as="svc").run_as == "svc"  # created with defaults
    assert reg.remove_appid(B).appid == B


def test_load_entries_merges_or_replaces(reg):
    reg.register(ClassEntry(A, progid="Demo.A"))
    reg.load_entries([ClassEntry(B)], [AppIdEntry(APP)])
    assert set(reg.snapshot().classes) == {A, B}
    reg.load_entries([ClassEntry(B, progid="Demo.A")], [], replace_all=True)
    assert set(reg.snapshot().classes) == {B} and not reg.snapshot().appids
    assert reg.snapshot().clsid_of("Demo.A") == B


def test_wal_mode_and_schema_version(reg):
    conn = sqlite3.connect(reg.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    conn.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "newer.sqlite3"
    Registry(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    assert code_of(Registry, path) == hresult.hresult_from_win32(hresult.ERROR_NOT_SUPPORTED)


def test_migrations_run_in_order_and_keep_the_data(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    with Registry(path) as old:
        old.register(ClassEntry(A, progid="Demo.A"))
    current = schema.SCHEMA_VERSION
    steps = dict(schema.MIGRATIONS)
    steps[current + 1] = ("CREATE TABLE note (text TEXT)", "INSERT INTO note VALUES ('next')")
    monkeypatch.setattr(schema, "MIGRATIONS", steps)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    with Registry(path) as new:
        assert new.snapshot().clsid_of("Demo.A") == A
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == current + 1
    assert conn.execute("SELECT text FROM note").fetchall() == [("next",)]
    conn.close()


def test_a_version_1_registry_gains_the_python_path_column(tmp_path):
    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in schema.MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("INSERT INTO class (clsid, name, inproc_server, threading_model, interfaces) "
                 f"VALUES ('{{{str(A).upper()}}}', '', 'demo.calc:Calc', 'Both', '[]')")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.close()
    with Registry(path) as reg:
        entry = reg.snapshot().classes[A]
        assert entry.inproc_server == "demo.calc:Calc" and entry.python_path is None
        reg.register(ClassEntry(B, inproc_server="m:C", python_path="/srv/classes"))
        assert reg.snapshot().classes[B].python_path == "/srv/classes"


def test_a_failing_migration_leaves_the_old_version(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    with Registry(path) as old:
        old.register(ClassEntry(A))
    current = schema.SCHEMA_VERSION
    steps = dict(schema.MIGRATIONS)
    steps[current + 1] = ("CREATE TABLE note (text TEXT)", "INSERT INTO nowhere VALUES (1)")
    monkeypatch.setattr(schema, "MIGRATIONS", steps)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    assert code_of(Registry, path) == hresult.REGDB_E_WRITEREGDB
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == current
    assert not conn.execute("SELECT * FROM sqlite_master WHERE name = 'note'").fetchall()
    conn.close()


def test_corrupt_and_foreign_files_are_refused_and_left_alone(tmp_path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database at all" * 100)
    assert code_of(Registry, garbage) == CORRUPT
    assert garbage.read_bytes() == b"this is not a database at all" * 100
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    assert code_of(Registry, foreign) == CORRUPT


def test_an_entry_edited_into_nonsense_is_reported_as_corruption(reg):
    reg.register(ClassEntry(A, progid="Demo.A"))
    conn = sqlite3.connect(reg.path)
    conn.execute("UPDATE class SET progid = '9 not a progid'")
    conn.commit()
    conn.close()
    assert code_of(Registry, reg.path) == CORRUPT


def test_a_missing_folder_is_a_clear_error(tmp_path):
    assert code_of(Registry, tmp_path / "no" / "such" / "r.sqlite3") == \
        hresult.hresult_from_win32(hresult.ERROR_PATH_NOT_FOUND)


def test_a_locked_database_refuses_writes_but_serves_reads(tmp_path):
    path = tmp_path / "locked.sqlite3"
    with Registry(path, busy_timeout=0.1) as reg:
        reg.register(ClassEntry(A))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert code_of(reg.register, ClassEntry(B)) == LOCKED
            assert A in reg.refresh().classes  # WAL: readers are not blocked by a writer
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        reg.register(ClassEntry(B))
        assert set(reg.snapshot().classes) == {A, B}


def test_readers_keep_the_last_good_state_when_a_check_fails(tmp_path, caplog, monkeypatch):
    path = tmp_path / "flaky.sqlite3"
    with Registry(path, refresh_interval=0) as reg, Registry(path) as writer:
        reg.register(ClassEntry(A))
        good = reg.snapshot()
        writer.register(ClassEntry(B))

        def broken(conn):
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(schema, "load", broken)
        with caplog.at_level(logging.WARNING, logger="pydcom.registry"):
            assert reg.snapshot() is good  # a reader gets the last good state, not an error
        assert "keeping generation" in caplog.text
        monkeypatch.undo()
        assert B in reg.snapshot().classes  # the next check loads what the failed one missed


def test_closed_registry_serves_its_last_snapshot_and_refuses_writes(tmp_path):
    reg = Registry(tmp_path / "r.sqlite3", refresh_interval=0)
    reg.register(ClassEntry(A))
    reg.close()
    assert A in reg.snapshot().classes
    assert code_of(reg.register, ClassEntry(B)) == hresult.E_UNEXPECTED


def test_concurrent_writers_in_one_process_lose_nothing(reg):
    def add(n: int) -> None:
        for i in range(25):
            reg.register(ClassEntry(uuid.UUID(int=n * 1000 + i + 1)))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(reg.refresh().classes) == 100
