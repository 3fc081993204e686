"""Every bad input: one line on stderr, the registry as it was; exit status 2 for a wrong
command line, 1 for a command that could not be done."""

from __future__ import annotations

import sqlite3

import pytest

from pydcom.registry import Registry
from tests.cli.support import assert_failed, assert_refused, pydcom_cli, state

CALC = "{5E0C3A8E-2F1B-4D7A-9C61-0B8F4E2D7A01}"
OTHER = "{0F8E5C2A-AAAA-4A2B-9C3D-000000000001}"


@pytest.fixture
def path(tmp_path):
    """A registry holding the sample Calculator, registered through the CLI."""
    path = tmp_path / "cli.sqlite3"
    assert pydcom_cli("register", "tests.runtime.sample_classes:Calculator", registry=path).code == 0
    return path


@pytest.mark.parametrize("args, needles", [
    (["register", "--clsid", "not-a-guid"], ["CO_E_CLASSSTRING", "not-a-guid"]),
    (["register", "--clsid", OTHER, "--appid", "{123}"], ["E_INVALIDARG", "AppID"]),
    (["register", "--clsid", OTHER, "--interface", "x"], ["interface IID"]),
    (["register", "--clsid", OTHER, "--treat-as", "zz"], ["CO_E_CLASSSTRING"]),
    (["show", "{5E0C3A8E-2F1B-4D7A-9C61}"], ["CO_E_CLASSSTRING", "not a GUID"]),
    (["unregister", "{zz}"], ["CO_E_CLASSSTRING"]),
    (["appid", "set", "nope", "--name", "x"], ["AppID 'nope' is not a GUID"]),
    (["appid", "show", "{00000000}"], ["not a GUID"]),
])
def test_malformed_guids(path, args, needles):
    before = state(path)
    assert_refused(pydcom_cli(*args, registry=path), *needles)
    assert state(path).generation == before.generation


@pytest.mark.parametrize("args, needles", [
    (["show", "No.Such.Class"], ["CO_E_CLASSSTRING", "No.Such.Class"]),
    (["unregister", "No.Such.Class"], ["CO_E_CLASSSTRING"]),
    (["show", OTHER], ["REGDB_E_CLASSNOTREG", "0x80040154"]),
    (["unregister", OTHER], ["REGDB_E_CLASSNOTREG"]),
    (["appid", "show", OTHER], ["REGDB_E_KEYMISSING"]),
    (["appid", "remove", OTHER], ["REGDB_E_KEYMISSING"]),
])
def test_unknown_names(path, args, needles):
    before = state(path)
    assert_failed(pydcom_cli(*args, registry=path), *needles)
    assert state(path).generation == before.generation


@pytest.mark.parametrize("target, status, needles", [
    ("tests.runtime.no_such_module:X", 1, ["ERROR_MOD_NOT_FOUND", "no_such_module"]),
    ("tests.runtime.broken_module:X", 1, ["CO_E_SERVER_EXEC_FAILURE", "refuses to import"]),
    ("tests.runtime.sample_classes:Missing", 1, ["CLASS_E_CLASSNOTAVAILABLE", "Missing"]),
    ("not an import path", 2, ["E_INVALIDARG", "package.module:Class", "register"]),
    ("tests.runtime.sample_classes:Plain", 2, ["no @pydcom.coclass metadata; give --clsid"]),
])
def test_import_paths_that_do_not_import(path, target, status, needles):
    before = state(path)
    assert_refused(pydcom_cli("register", target, registry=path), *needles, status=status)
    if not target.endswith(":Plain"):  # with --clsid, a class without metadata is fine
        assert_refused(pydcom_cli("register", "--clsid", OTHER, "--python", target,
                                  registry=path), status=status)
    assert state(path).generation == before.generation


def test_a_progid_another_class_has(path):
    before = state(path)
    assert_failed(pydcom_cli("register", "--clsid", OTHER, "--progid", "Test.Calculator.1",
                             registry=path), "already names")
    assert state(path) == before


@pytest.mark.parametrize("args, needles", [
    (["register", "--clsid", OTHER, "--progid", "9Bad"], ["is not a ProgID"]),
    (["register", "--clsid", OTHER, "--threading", "single"], ["threading model"]),
    (["register", "--clsid", OTHER, "--command", ""], ["local server command"]),
    (["register", "--clsid", OTHER, "--treat-as", OTHER], ["TreatAs itself"]),
    (["register", "tests.runtime.sample_classes:Calculator", "--python", "a.b:C"], ["not both"]),
    (["register"], ["give MODULE:CLASS or --clsid"]),
    (["appid", "set", OTHER, "--remote-server", "host[99999]"], ["CO_E_BAD_SERVER_NAME"]),
    (["appid", "set", OTHER], ["nothing to set"]),
    (["appid", "set", OTHER, "--remote-server", "a", "--no-remote-server"], ["not allowed"]),
    (["appid"], ["required"]),
    (["register", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["frobnicate"], ["invalid choice"]),
    (["--busy-timeout", "soon", "list"], ["invalid float"]),
])
def test_bad_values_and_usage(path, args, needles):
    before = state(path)
    assert_refused(pydcom_cli(*args, registry=path), *needles)
    assert state(path) == before


def test_a_locked_database(path):
    before = state(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        done = pydcom_cli("register", "--clsid", OTHER, "--busy-timeout", "0.2", registry=path)
        assert_failed(done, "locked", "0x80070021")
        assert pydcom_cli("list", registry=path).code == 0  # readers are not blocked
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert state(path) == before


@pytest.mark.parametrize("content", [b"not a database " * 200, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_database_is_refused_and_untouched(tmp_path, content):
    path = tmp_path / "corrupt.sqlite3"
    path.write_bytes(content)
    for args in (["list"], ["register", "--clsid", OTHER], ["registry", "export", "-"]):
        assert_failed(pydcom_cli(*args, registry=path), "ERROR_BADDB")
    assert path.read_bytes() == content


def test_a_database_of_something_else(tmp_path):
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id)")
    conn.commit()
    conn.close()
    assert_failed(pydcom_cli("list", registry=path), "not a pydcom registry")


def test_a_missing_folder(tmp_path):
    assert_failed(pydcom_cli("list", registry=tmp_path / "no" / "r.sqlite3"),
                   "ERROR_PATH_NOT_FOUND")


@pytest.mark.parametrize("text, needles", [
    ("[[class]\n", ["not valid TOML"]),
    ("[[class]]\nclsid = 'nope'\n", ["[[class]] #1", "CO_E_CLASSSTRING"]),
    ("[[class]]\nclsid = '" + OTHER + "'\nprogid = 'Test.Calculator.1'\n", ["already names"]),
    ("[[appid]]\nappid = '" + OTHER + "'\nremote = 'x'\n", ["unknown key(s) remote"]),
])
def test_bad_import_files(path, tmp_path, text, needles):
    before = state(path)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert_failed(pydcom_cli("registry", "import", str(bad), registry=path), *needles)
    assert state(path) == before


def test_unreadable_import_and_export_files(path, tmp_path):
    before = state(path)
    assert_failed(pydcom_cli("registry", "import", str(tmp_path / "absent.toml"), registry=path),
                   "cannot read")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert_failed(pydcom_cli("registry", "import", str(binary), registry=path), "not UTF-8")
    assert_failed(pydcom_cli("registry", "export", str(tmp_path / "no" / "x.toml"),
                              registry=path), "cannot write")
    assert state(path) == before
    with Registry(path) as reg:
        assert reg.snapshot().clsid_of("Test.Calculator") is not None


def test_a_bad_file_with_replace_changes_nothing(path, tmp_path):
    before = state(path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[class]]\nclsid = '" + OTHER + "'\n[[class]]\nclsid = 'broken'\n")
    assert_failed(pydcom_cli("registry", "import", "--replace", str(bad), registry=path),
                   "[[class]] #2")
    assert state(path) == before
