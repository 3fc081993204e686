"""``pydcom users`` run as a real command, the password piped on stdin."""

from __future__ import annotations

import stat
import subprocess
import sys

from pydcom.accounts import load_accounts
from pydcom.ntlm import nt_hash
from tests.cli.support import assert_failed, assert_refused, pydcom_cli
from tests.runtime.support import subprocess_env


def users(path, *args: str, stdin: str | None = None, **env: str | None):
    return pydcom_cli("users", *args, "--accounts", str(path), stdin=stdin,
                      PYDCOM_ACCOUNTS=None, **env)


def test_add_list_passwd_groups_remove(tmp_path):
    path = tmp_path / "accounts"
    done = users(path, "add", "alice", "--group", "Users", "--group", "Admins",
                 stdin="first secret\n")
    assert (done.code, done.out, done.err) == (0, "added user alice\n", "")
    assert users(path, "add", "Bob", stdin="second secret").code == 0  # no newline: fine
    store = load_accounts(path)
    assert store.nt_hash_of("alice", "") == nt_hash("first secret")
    assert store.nt_hash_of("bob", "") == nt_hash("second secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    listed = users(path, "list")
    assert listed.code == 0
    assert listed.out.splitlines() == ["USER   GROUPS", "alice  Admins,Users", "Bob    -"]

    assert users(path, "passwd", "ALICE", stdin="third secret\r\n").code == 0
    assert users(path, "groups", "bob", "--group", "Operators").code == 0
    store = load_accounts(path)
    assert store.nt_hash_of("alice", "") == nt_hash("third secret")
    assert store.groups_of("alice") == {"Users", "Admins"}  # passwd keeps them
    assert store.groups_of("bob") == {"Operators"}

    assert users(path, "remove", "alice").out == "removed user alice\n"
    assert [name for name, _ in load_accounts(path).users()] == ["Bob"]
    text = path.read_text()
    assert "secret" not in text and nt_hash("second secret").hex() in text
    assert nt_hash("second secret").hex() not in users(path, "list").out


def test_what_cannot_be_done_exits_1_in_one_line(tmp_path):
    path = tmp_path / "accounts"
    assert users(path, "add", "alice", stdin="pw\n").code == 0
    assert_failed(users(path, "add", "ALICE", stdin="pw\n"),
                  "pydcom users add:", "ERROR_USER_EXISTS", "already in")
    assert_failed(users(path, "remove", "carol"), "pydcom users remove:", "ERROR_NO_SUCH_USER")
    assert_failed(users(path, "passwd", "carol", stdin="pw\n"),
                  "pydcom users passwd:", "no user 'carol'")
    assert_failed(users(path, "add", "bob", stdin=""),
                  "pydcom users add: an empty password is refused")
    assert_failed(users(path, "add", "bob", stdin="\n"), "an empty password is refused")
    assert_failed(users(path, "passwd", "alice", stdin="one\ntwo\n"),
                  "pydcom users passwd: stdin must hold one line")
    assert load_accounts(path).nt_hash_of("alice", "") == nt_hash("pw")  # unchanged
    assert "bob" not in load_accounts(path)

    path.chmod(0o644)
    assert_failed(users(path, "list"), "pydcom users list:", "E_ACCESSDENIED",
                  f"chmod 600 {path}")
    path.write_text("# pydcom accounts v1\nalice:\n")
    path.chmod(0o600)
    assert_failed(users(path, "add", "bob", stdin="pw\n"), "pydcom users add:",
                  f"accounts file {path}, line 2")


def test_a_wrong_command_line_exits_2_in_one_line(tmp_path):
    path = tmp_path / "accounts"
    assert_refused(users(path, "add", "a:b", stdin="pw\n"),
                   "pydcom users add: argument NAME", "contains ':' or ','")
    assert_refused(users(path, "add", "alice", "--group", "x,y", stdin="pw\n"),
                   "pydcom users add: argument --group")
    assert_refused(users(path, "add", "alice", "--group", "Users", "--group", "USERS",
                         stdin="pw\n"), "pydcom users add:", "given twice")
    assert_refused(users(path, "add", stdin="pw\n"), "pydcom users add:")
    assert_refused(users(path, "rename", "alice"), "pydcom users:")
    assert_refused(users(path, "remove", " alice"), "pydcom users remove: argument NAME")
    assert not path.exists()


def test_the_default_file_follows_the_environment(tmp_path):
    named = tmp_path / "named"
    done = pydcom_cli("users", "add", "alice", stdin="pw\n", PYDCOM_ACCOUNTS=str(named))
    assert done.code == 0 and "alice" in load_accounts(named)

    registry = tmp_path / "machine" / "registry.sqlite3"
    registry.parent.mkdir()
    done = pydcom_cli("users", "add", "bob", stdin="pw\n", PYDCOM_ACCOUNTS=None,
                      PYDCOM_REGISTRY=str(registry))
    assert done.code == 0 and "bob" in load_accounts(tmp_path / "machine" / "accounts")

    done = pydcom_cli("users", "add", "carol", registry=tmp_path / "r.sqlite3", stdin="pw\n",
                      PYDCOM_ACCOUNTS=None)
    assert done.code == 0 and "carol" in load_accounts(tmp_path / "accounts")


def test_processes_adding_at_once_all_land(tmp_path):
    path = tmp_path / "accounts"
    argv = [sys.executable, "-m", "pydcom", "users", "add", "--accounts", str(path)]
    processes = []
    try:
        for number in range(4):
            (tmp_path / f"pw{number}").write_text(f"pw{number}\n")
            with open(tmp_path / f"pw{number}", "rb") as password:  # each its own, all at once
                processes.append(subprocess.Popen(
                    [*argv, f"user{number}"], stdin=password, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, env=subprocess_env(PYDCOM_ACCOUNTS=None)))
        for process in processes:
            _, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
    finally:  # a hung lock is what this probes: none is left running
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    store = load_accounts(path)
    assert all(store.nt_hash_of(f"user{n}", "") == nt_hash(f"pw{n}") for n in range(4))
