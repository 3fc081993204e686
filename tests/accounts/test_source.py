"""AccountsSource: what a running service holds; a change to the file shows in its next
snapshot, a bad file leaves the last good one in place."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from pydcom import accounts
from pydcom.accounts import AccountsSource, add_user, remove_user
from pydcom.hresult import ComError
from pydcom.ntlm import nt_hash


def replace_with(path, text: str, mode: int = 0o600) -> None:
    """Put ``text`` in place as an editor that renames its copy does."""
    temporary = path.with_name("edited")
    temporary.write_text(text)
    temporary.chmod(mode)
    os.replace(temporary, path)


def test_a_change_shows_in_the_next_snapshot(tmp_path):
    path = tmp_path / "accounts"
    source = AccountsSource(path)
    before = source.current()
    assert len(before) == 0
    add_user(path, "alice", "pw")
    after = source.current()
    assert after.nt_hash_of("alice", "") == nt_hash("pw")
    assert len(before) == 0  # a snapshot already handed out does not change
    add_user(path, "bob", "pw")
    remove_user(path, "alice")
    assert [name for name, _ in source.current().users()] == ["bob"]


def test_an_unchanged_file_is_not_read_again(tmp_path, monkeypatch):
    path = tmp_path / "accounts"
    add_user(path, "alice", "pw")
    source = AccountsSource(path)
    reads = []
    real = accounts.load_accounts
    monkeypatch.setattr(accounts, "load_accounts", lambda p: reads.append(p) or real(p))
    first = source.current()
    assert source.current() is first and reads == []
    add_user(path, "bob", "pw")
    assert "bob" in source.current() and len(reads) == 1


def test_a_bad_file_keeps_the_last_good_snapshot_and_is_logged_once(tmp_path, caplog):
    path = tmp_path / "accounts"
    add_user(path, "alice", "pw")
    source = AccountsSource(path)
    good = source.current()
    caplog.set_level(logging.WARNING, logger="pydcom.accounts")
    replace_with(path, "# pydcom accounts v1\nalice:Users\n")
    assert source.current() is good and source.current() is good
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "line 2" in warnings[0].getMessage() and "keeping the 1 accounts" in \
        warnings[0].getMessage()
    replace_with(path, "# pydcom accounts v1\nbob::" + nt_hash("x").hex() + "\n")
    assert [name for name, _ in source.current().users()] == ["bob"]


def test_a_file_opened_to_others_keeps_the_last_good_snapshot(tmp_path, caplog):
    path = tmp_path / "accounts"
    add_user(path, "alice", "pw")
    source = AccountsSource(path)
    good = source.current()
    caplog.set_level(logging.WARNING, logger="pydcom.accounts")
    path.chmod(0o644)  # the mode is part of what the source watches
    assert source.current() is good
    assert "chmod 600" in caplog.text
    path.chmod(0o600)
    assert "alice" in source.current()


def test_a_removed_file_is_an_empty_store(tmp_path):
    path = tmp_path / "accounts"
    add_user(path, "alice", "pw")
    source = AccountsSource(path)
    assert "alice" in source.current()
    path.unlink()
    assert len(source.current()) == 0


def test_a_bad_file_at_start_is_refused(tmp_path):
    path = tmp_path / "accounts"
    path.write_text("alice::" + "00" * 16 + "\n")
    path.chmod(0o600)
    with pytest.raises(ComError) as caught:
        AccountsSource(path)
    assert caught.value.hresult == accounts.CORRUPT


def test_readers_on_many_threads_see_whole_snapshots(tmp_path):
    path = tmp_path / "accounts"
    source = AccountsSource(path)
    stop = threading.Event()
    seen: list[int] = []
    failures: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                snapshot = source.current()
                users = snapshot.users()
                assert all(snapshot.nt_hash_of(name, "") == nt_hash(name) for name, _ in users)
                seen.append(len(users))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for number in range(20):
            add_user(path, f"user{number}", f"user{number}")
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=10)
    assert failures == [] and not any(reader.is_alive() for reader in readers)
    assert len(source.current()) == 20 and seen
