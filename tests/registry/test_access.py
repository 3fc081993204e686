"""Opening the registry file: what is not a pydcom registry is refused before a byte is
written; a registry this account cannot write is read, follows its writer, refuses writes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import (
    ENV_REGISTRY,
    ClassEntry,
    Registry,
    access,
    open_registry,
    schema,
)
from pydcom.registry.errors import CORRUPT
from tests.registry.accounts import (
    AS_OTHER_ACCOUNT,
    machine_registry,
    needs_root,
    popen_as_other,
)
from tests.runtime.support import subprocess_env

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


# --- a registry this account can read but not write --------------------------------------------

class OtherReader:
    """tests/registry/read_only_reader.py running as the other account."""

    def __init__(self, path) -> None:
        self.process = popen_as_other(["python", "-m", "tests.registry.read_only_reader",
                                       str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, line: str) -> dict:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, f"the reader exited with {self.process.wait(10)}"
        return json.loads(answer)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def entry(n: int, progid: str) -> ClassEntry:
    return ClassEntry(f"{{0F8E5C2A-4444-4A2B-9C3D-00000000000{n}}}", progid=progid)


@needs_root
@pytest.mark.parametrize("case", ["folder", "file"])
def test_a_registry_the_account_cannot_write_is_read_and_follows_the_writer(tmp_path, case):
    path = machine_registry(tmp_path, case, entry(1, "Root.A"))
    reader = OtherReader(path)
    try:
        seen = reader.ask("look")
        assert seen["progids"] == ["Root.A"]
        assert seen["read_only"] == "no write permission on the file"
        # No -wal or -shm: none was open, and the reader makes none, even where it could
        # (files of its own there would make the registry read-only for its writer).
        assert files_in(path.parent) == ["registry.sqlite3"]

        with Registry(path) as root:  # root comes, writes, and goes
            root.register(entry(2, "Root.B"))
        assert reader.ask("look")["progids"] == ["Root.A", "Root.B"]

        with Registry(path) as root:  # root stays: the reader joins its -wal and -shm
            root.register(entry(3, "Root.C"))
            assert reader.ask("look")["progids"] == ["Root.A", "Root.B", "Root.C"]
            root.unregister("Root.A")
            assert reader.ask("look")["progids"] == ["Root.B", "Root.C"]
        assert "registry.sqlite3-wal" in files_in(path.parent)  # kept by the reader's lock
        with Registry(path) as root:
            root.register(entry(4, "Root.D"))
        assert reader.ask("look")["progids"] == ["Root.B", "Root.C", "Root.D"]

        refused = reader.ask("write")
        assert refused["hresult"] == hresult.E_ACCESSDENIED
        assert f"registry {path} is read-only for this account" in refused["error"]
        with Registry(path) as root:
            assert "Reader.Write" not in {e.progid for e in root.snapshot().classes.values()}
    finally:
        reader.close()


@needs_root
def test_a_missing_registry_the_account_cannot_create(tmp_path):
    path = machine_registry(tmp_path, "folder").parent / "absent.sqlite3"
    done = subprocess.run([*AS_OTHER_ACCOUNT, sys.executable, "-c",
                           f"from pydcom.registry import Registry; Registry({str(path)!r})"],
                          env=subprocess_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert "E_ACCESSDENIED" in done.stderr
    assert f"registry {path} does not exist, and this account cannot create it" in done.stderr
    assert not path.exists()


def test_a_file_read_as_it_is_is_read_again_when_a_writer_came_meanwhile(tmp_path, monkeypatch):
    """A writer that comes and goes while the file is read as it is (no writer had it open)
    makes the reader read it again, never keep a half-read state."""
    path = tmp_path / "r.sqlite3"
    with Registry(path) as reg:
        reg.register(entry(1, "Root.A"))
    reads = []
    real_read_state = access.read_state

    def read_state_while_a_writer_comes(conn, current):
        reads.append(real_read_state(conn, current))
        if len(reads) == 1:
            monkeypatch.setattr(access, "read_state", real_read_state)  # the writer's own reads
            with Registry(path) as writer:
                writer.register(entry(2, "Root.B"))
            monkeypatch.setattr(access, "read_state", read_state_while_a_writer_comes)
        return reads[-1]

    monkeypatch.setattr(access, "read_state", read_state_while_a_writer_comes)
    reader = access.ReadOnlyReader(str(path), 1.0, 0.25)
    snapshot = reader.load(None)
    assert [len(read.classes) for read in reads] == [1, 2] and len(snapshot.classes) == 2
    assert not reader.changed()
    monkeypatch.setattr(access, "read_state", real_read_state)
    with Registry(path) as writer:
        writer.register(entry(3, "Root.C"))
    assert reader.changed() and len(reader.load(snapshot).classes) == 3
    assert files_in(tmp_path) == ["r.sqlite3"]  # it read the file as it is throughout
    reader.close()


# --- the per-user folder --------------------------------------------------------------------------

posix_only = pytest.mark.skipif(os.name == "nt", reason="the per-user folder under $HOME")


@posix_only
def test_an_account_without_a_home_gets_a_com_error_not_a_home(monkeypatch):
    monkeypatch.delenv(ENV_REGISTRY)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent/x")
    with pytest.raises(ComError) as info:
        open_registry()
    assert info.value.hresult == hresult.hresult_from_win32(hresult.ERROR_PATH_NOT_FOUND)
    assert "the home directory /nonexistent/x does not exist" in str(info.value)
    assert ENV_REGISTRY in str(info.value)
    assert not os.path.exists("/nonexistent/x")


@posix_only
def test_the_per_user_folder_is_made_in_a_home_or_an_absolute_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_REGISTRY)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")  # the XDG spec: ignore it
    with open_registry() as reg:
        assert reg.path == str(tmp_path / ".local" / "share" / "pydcom" / "registry.sqlite3")
    assert (tmp_path / ".local" / "share" / "pydcom").stat().st_mode & 0o777 == 0o700
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "made" / "data"))  # the spec: create it
    with open_registry() as reg:
        assert reg.path == str(tmp_path / "made" / "data" / "pydcom" / "registry.sqlite3")
