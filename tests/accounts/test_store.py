"""The accounts file: what it keeps, how it is read strictly, who may read it, and that
concurrent changes all land."""

from __future__ import annotations

import fcntl
import os
import stat
import threading

import pytest

from pydcom import accounts, hresult
from pydcom.accounts import (
    Accounts,
    add_user,
    load_accounts,
    remove_user,
    set_groups,
    set_password,
)
from pydcom.hresult import ComError
from pydcom.ntlm import nt_hash

HEADER = "# pydcom accounts v1\n"


def write(path, text: str | bytes, mode: int = 0o600) -> None:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(data)
    path.chmod(mode)


def test_round_trip(tmp_path):
    path = tmp_path / "accounts"
    add_user(path, "alice", "secret one", ["Users", "Administrators"])
    add_user(path, "bob", "secret two")
    store = load_accounts(path)
    assert len(store) == 2 and "alice" in store and "carol" not in store
    assert store.nt_hash_of("alice", "") == nt_hash("secret one")
    assert store.nt_hash_of("bob", "") == nt_hash("secret two")
    assert store.nt_hash_of("carol", "") is None
    assert store.groups_of("alice") == {"Users", "Administrators"}
    assert store.groups_of("bob") == frozenset() and store.groups_of("carol") == frozenset()
    assert store.users() == [("alice", frozenset({"Users", "Administrators"})),
                             ("bob", frozenset())]
    assert path.read_text().splitlines()[0] == "# pydcom accounts v1"


def test_the_hash_is_ntowfv1_ms_nlmp_4_2_1(tmp_path):
    path = tmp_path / "accounts"
    add_user(path, "User", "Password")
    assert load_accounts(path).nt_hash_of("User", "Domain").hex() == \
        "a4f49c406510bdcab6824ee7c30fd852"
    assert "User::a4f49c406510bdcab6824ee7c30fd852\n" in path.read_text()


def test_names_match_without_case_and_keep_their_spelling(tmp_path):
    path = tmp_path / "accounts"
    add_user(path, "Alice", "pw", ["Remote Users"])
    store = load_accounts(path)
    assert "ALICE" in store and "alice" in store
    assert store.nt_hash_of("aLiCe", "") == nt_hash("pw")
    assert store.groups_of("ALICE") == {"Remote Users"}
    assert store.in_group("alice", "REMOTE USERS") and not store.in_group("alice", "Users")
    assert store.users() == [("Alice", frozenset({"Remote Users"}))]
    with pytest.raises(ComError) as caught:
        add_user(path, "ALICE", "other")
    assert caught.value.hresult == accounts.USER_EXISTS == 0x80070524
    assert "'Alice'" in str(caught.value) and str(path) in str(caught.value)
    with pytest.raises(ComError) as caught:
        add_user(path, "carol", "pw", ["Users", "USERS"])
    assert caught.value.hresult == hresult.E_INVALIDARG


@pytest.mark.parametrize("domain", ["", ".", "HOSTB", "hostb.example.com", "CONTOSO"])
def test_every_domain_names_the_local_accounts(tmp_path, domain):
    path = tmp_path / "accounts"
    add_user(path, "alice", "pw")
    assert load_accounts(path).nt_hash_of("alice", domain) == nt_hash("pw")


def test_a_missing_file_is_an_empty_store(tmp_path):
    path = tmp_path / "accounts"
    assert len(load_accounts(path)) == 0 and load_accounts(path).users() == []
    assert len(Accounts.empty()) == 0 and Accounts.empty().nt_hash_of("x", "") is None
    with pytest.raises(ComError) as caught:
        remove_user(path, "alice")
    assert caught.value.hresult == accounts.NO_SUCH_USER == 0x80070525
    assert not path.exists()  # a refused change writes nothing


def test_a_snapshot_is_immutable(tmp_path):
    store = Accounts.empty()
    with pytest.raises(AttributeError):
        store._by_key = {}
    assert "hash" not in repr(store)


def test_changes_keep_the_rest(tmp_path):
    path = tmp_path / "accounts"
    write(path, HEADER + "# who may activate\n\nalice:Users:" + "00" * 16 + "\n")
    add_user(path, "bob", "pw", ["Users"])
    set_password(path, "ALICE", "new")
    set_groups(path, "bob", ["Operators"])
    store = load_accounts(path)
    assert store.nt_hash_of("alice", "") == nt_hash("new")
    assert store.groups_of("alice") == {"Users"}
    assert store.nt_hash_of("bob", "") == nt_hash("pw")
    assert store.groups_of("bob") == {"Operators"}
    remove_user(path, "Alice")
    assert path.read_text() == HEADER + "# who may activate\n\nbob:Operators:" + \
        nt_hash("pw").hex() + "\n"
    for change in (lambda: set_password(path, "alice", "x"), lambda: set_groups(path, "x", []),
                   lambda: remove_user(path, "alice")):
        with pytest.raises(ComError) as caught:
            change()
        assert caught.value.hresult == accounts.NO_SUCH_USER


def test_the_file_has_hashes_not_passwords_and_mode_0600(tmp_path):
    path = tmp_path / "accounts"
    add_user(path, "alice", "correct horse battery staple")
    set_password(path, "alice", "Tr0ub4dor&3")
    text = path.read_text()
    assert "horse" not in text and "Tr0ub4dor" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts", "accounts.lock"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_a_file_others_may_open_is_refused(tmp_path, mode):
    path = tmp_path / "accounts"
    write(path, HEADER, mode)
    for attempt in (lambda: load_accounts(path), lambda: add_user(path, "alice", "pw")):
        with pytest.raises(ComError) as caught:
            attempt()
        assert caught.value.hresult == hresult.E_ACCESSDENIED
        assert f"chmod 600 {path}" in str(caught.value) and f"{mode:04o}" in str(caught.value)
    assert path.read_text() == HEADER  # not rewritten


MALFORMED = [
    ("", 1, "the first line must be '# pydcom accounts v1'"),
    ("alice::" + "00" * 16 + "\n", 1, "the first line must be"),
    ("# pydcom accounts v2\n", 1, "format version v2; this pydcom reads v1"),
    (HEADER + "alice\n", 2, "expected NAME:GROUPS:NT-HASH, found 1 field"),
    (HEADER + "\n# c\nalice:x:y:" + "00" * 16 + "\n", 4, "found 4 fields"),
    (HEADER + "alice::1234\n", 2, "not 32 hexadecimal digits"),
    (HEADER + "alice::" + "zz" * 16 + "\n", 2, "not 32 hexadecimal digits"),
    (HEADER + ":Users:" + "00" * 16 + "\n", 2, "must not be empty"),
    (HEADER + " alice::" + "00" * 16 + "\n", 2, "begins or ends with a blank"),
    (HEADER + "alice:Users,:" + "00" * 16 + "\n", 2, "group name must not be empty"),
    (HEADER + "alice:a,A:" + "00" * 16 + "\n", 2, "group 'A' is given twice"),
    (HEADER + "a" * 257 + "::" + "00" * 16 + "\n", 2, "longer than 256"),
    (HEADER + "alice::" + "00" * 16 + "\n#\nALICE::" + "11" * 16 + "\n", 4,
     "user 'ALICE' is also on line 2"),
    (HEADER.encode() + b"\n\xff::" + b"00" * 16 + b"\n", 3, "not UTF-8"),
]


@pytest.mark.parametrize(("text", "line", "needle"), MALFORMED)
def test_a_malformed_line_is_named(tmp_path, text, line, needle):
    path = tmp_path / "accounts"
    write(path, text)
    with pytest.raises(ComError) as caught:
        load_accounts(path)
    assert caught.value.hresult == accounts.CORRUPT == 0x800703F1
    assert f"accounts file {path}, line {line}: " in str(caught.value)
    assert needle in str(caught.value)
    assert "00" * 16 not in str(caught.value)  # a hash is never quoted


@pytest.mark.parametrize("name", ["", "a:b", "a,b", "a\nb", "tab\there", " alice", "alice ",
                                  "#alice", "x" * 257, "\udc80"])
def test_a_bad_name_is_refused_before_anything_is_written(tmp_path, name):
    path = tmp_path / "accounts"
    for attempt in (lambda: add_user(path, name, "pw"), lambda: add_user(path, "ok", "pw", [name])):
        with pytest.raises(ComError) as caught:
            attempt()
        assert caught.value.hresult == hresult.E_INVALIDARG
    assert not path.exists()


def test_an_empty_password_is_refused(tmp_path):
    with pytest.raises(ComError) as caught:
        add_user(tmp_path / "accounts", "alice", "")
    assert caught.value.hresult == hresult.E_INVALIDARG and "empty" in str(caught.value)


def test_names_of_256_characters_and_beyond_ascii_are_accepted(tmp_path):
    path = tmp_path / "accounts"
    add_user(path, "a" * 256, "pw")
    add_user(path, "Jürgen Straße", "pw", ["Benutzer"])
    store = load_accounts(path)
    assert "A" * 256 in store and "JÜRGEN STRAßE" in store


def test_sixteen_threads_adding_at_once_all_land(tmp_path):
    path = tmp_path / "accounts"
    start = threading.Barrier(16)
    failures: list[BaseException] = []

    def add(number: int) -> None:
        try:
            start.wait(timeout=10)
            add_user(path, f"user{number}", f"password {number}", [f"group{number % 3}"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    store = load_accounts(path)
    assert len(store) == 16
    assert all(store.nt_hash_of(f"user{n}", "") == nt_hash(f"password {n}") for n in range(16))
    assert sorted(os.listdir(tmp_path)) == ["accounts", "accounts.lock"]  # no temporary left


def test_a_writer_that_holds_the_lock_is_waited_for_then_named(tmp_path):
    path = tmp_path / "accounts"
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ComError) as caught:
            add_user(path, "alice", "pw", timeout=0.2)
        assert caught.value.hresult == accounts.LOCKED
        assert "locked by another writer" in str(caught.value)
    finally:
        os.close(fd)
    add_user(path, "alice", "pw", timeout=0.2)
    assert "alice" in load_accounts(path)


def test_the_default_path(tmp_path, monkeypatch):
    from pydcom.registry.default import default_path
    monkeypatch.setenv("PYDCOM_ACCOUNTS", str(tmp_path / "mine"))
    assert accounts.default_accounts_path() == str(tmp_path / "mine")
    assert accounts.default_accounts_path(tmp_path / "r.sqlite3") == str(tmp_path / "mine")
    monkeypatch.delenv("PYDCOM_ACCOUNTS")
    monkeypatch.setenv("PYDCOM_REGISTRY", str(tmp_path / "reg" / "r.sqlite3"))
    assert accounts.default_accounts_path() == str(tmp_path / "reg" / "accounts")
    assert accounts.default_accounts_path(tmp_path / "x" / "r.sqlite3") == \
        str(tmp_path / "x" / "accounts")
    monkeypatch.delenv("PYDCOM_REGISTRY")
    assert accounts.default_accounts_path() == \
        os.path.join(os.path.dirname(default_path()), "accounts")


def test_the_new_codes_have_names():
    assert hresult.name_of(accounts.USER_EXISTS) == "HRESULT_FROM_WIN32(ERROR_USER_EXISTS)"
    assert hresult.name_of(accounts.NO_SUCH_USER) == "HRESULT_FROM_WIN32(ERROR_NO_SUCH_USER)"
    assert "account already exists" in str(ComError(accounts.USER_EXISTS))
