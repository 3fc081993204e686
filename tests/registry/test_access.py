"""Opening the registry file: what is not a pydcom registry is refused before a byte is written."""

from __future__ import annotations

import sqlite3

import pytest

from pydcom.hresult import ComError
from pydcom.registry import ClassEntry, Registry, schema
from pydcom.registry.errors import CORRUPT

OTHER_APP = 0x12345678


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def foreign_database(path, journal: str = "delete", application_id: int = 0) -> bytes:
    """An SQLite database of another program; returns its bytes."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute(f"PRAGMA application_id = {application_id}")
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO accounts (name) VALUES ('alice')")
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("journal", ["delete", "wal"])
@pytest.mark.parametrize("application_id", [0, OTHER_APP])
def test_a_foreign_database_is_refused_before_anything_is_written(tmp_path, journal,
                                                                 application_id):
    path = tmp_path / "other.sqlite3"
    before = foreign_database(path, journal, application_id)
    with pytest.raises(ComError) as info:
        Registry(path)
    assert info.value.hresult == CORRUPT
    assert "not a pydcom registry" in str(info.value)
    assert path.read_bytes() == before  # header bytes 18-19 (the journal mode) included
    assert files_in(tmp_path) == ["other.sqlite3"]  # no -wal, -shm or -journal made


def test_a_foreign_database_another_program_has_open(tmp_path):
    """Its tables may still be only in its -wal: the check reads through it and writes neither
    file (the -shm is shared memory that every reader of the -wal takes a slot in)."""
    path = tmp_path / "other.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=wal")
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute("CREATE TABLE accounts (id)")
    try:
        data = [path, tmp_path / "other.sqlite3-wal"]
        before = [file.read_bytes() for file in data]
        with pytest.raises(ComError) as info:
            Registry(path)
        assert info.value.hresult == CORRUPT
        assert [file.read_bytes() for file in data] == before
    finally:
        holder.close()


@pytest.mark.parametrize("content", [b"", b"not a database " * 200])
def test_only_an_empty_file_becomes_a_registry(tmp_path, content):
    path = tmp_path / "r.sqlite3"
    path.write_bytes(content)
    if content:
        with pytest.raises(ComError):
            Registry(path)
        assert path.read_bytes() == content and files_in(tmp_path) == ["r.sqlite3"]
        return
    with Registry(path) as reg:
        reg.register(ClassEntry("{0F8E5C2A-3333-4A2B-9C3D-000000000001}"))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    conn.close()


def test_an_empty_sqlite_database_becomes_a_registry(tmp_path):
    path = tmp_path / "r.sqlite3"
    sqlite3.connect(path).execute("PRAGMA journal_mode=wal").fetchall()  # header only, no table
    with Registry(path) as reg:
        assert reg.snapshot().generation == 0
