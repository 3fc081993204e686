"""The registry file as the command finds it: another program's database is left untouched; a
registry the account can read but not write is listed, shown and served, and refuses writes; an
account without a home is told, in one line, to name its registry."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

from pydcom.examples.calculator import CALC_CLSID
from pydcom.guid import format_guid
from pydcom.registry import ClassEntry, Registry
from tests.cli.support import assert_failed, pydcom_cli, stop
from tests.registry.accounts import (
    AS_OTHER_ACCOUNT,
    OWNER,
    machine_registry,
    needs_root,
    popen_as_other,
)

OTHER = "{0F8E5C2A-AAAA-4A2B-9C3D-000000000001}"
CALC = format_guid(CALC_CLSID)
CALCULATOR = ClassEntry(CALC, progid="Demo.Calculator",
                        inproc_server="pydcom.examples.calculator:Calculator")


def test_a_database_of_another_program_is_left_untouched(tmp_path):
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO accounts (name) VALUES ('alice')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    assert before[18:20] == b"\x01\x01"  # a rollback journal, as its program chose
    for args in (["list"], ["register", "--clsid", OTHER, "--progid", "Demo.Other"],
                 ["registry", "import", "-"]):
        assert_failed(pydcom_cli(*args, registry=path, stdin=""), "ERROR_BADDB",
                      "not a pydcom registry")
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite3"]


@needs_root
@pytest.mark.parametrize("case", ["folder", "file"])
def test_a_registry_the_account_can_only_read(tmp_path, case):
    path = machine_registry(tmp_path, case, CALCULATOR)
    before = path.read_bytes()

    listed = pydcom_cli("list", registry=path, prefix=AS_OTHER_ACCOUNT)
    assert listed.code == 0 and listed.err == "", listed
    assert f"{CALC}  Demo.Calculator  python pydcom.examples.calculator:Calculator" in listed.out
    shown = pydcom_cli("show", "Demo.Calculator", registry=path, prefix=AS_OTHER_ACCOUNT)
    assert shown.code == 0 and f'clsid = "{CALC}"' in shown.out, shown
    exported = pydcom_cli("registry", "export", "-", registry=path, prefix=AS_OTHER_ACCOUNT)
    assert exported.code == 0 and "Demo.Calculator" in exported.out, exported

    for args in (["register", "--clsid", OTHER, "--progid", "Demo.Other"],
                 ["unregister", "Demo.Calculator"],
                 ["appid", "set", OTHER, "--name", "x"],
                 ["registry", "import", "-"]):
        done = pydcom_cli(*args, registry=path, prefix=AS_OTHER_ACCOUNT, stdin=exported.out)
        assert_failed(done, "E_ACCESSDENIED 0x80070005",
                      f"registry {path} is read-only for this account")
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["registry.sqlite3"]  # no -wal, -shm


@needs_root
def test_serve_on_a_registry_it_can_only_read(tmp_path):
    """The service starts, and serves a class root registers after it started."""
    path = machine_registry(tmp_path, "folder")
    server = popen_as_other(["python", "-m", "pydcom", "--registry", str(path), "serve",
                             "--bind", "127.0.0.1", "--port", "0", "--min-auth-level", "none"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = server.stdout.readline()
        assert "pydcom serve: listening on 127.0.0.1[" in line, (line, server)
        with Registry(path) as root:
            root.register(CALCULATOR)
        result = pydcom_cli("call", CALC, "Add", "2", "3", "--machine", line.split()[-1],
                            registry=tmp_path / "client.sqlite3")
        assert result.out == "5\n", result
    finally:
        stop(server)


# --- the per-user registry of an account without a home ------------------------------------------

NO_HOME = {"HOME": "/nonexistent/x", "XDG_DATA_HOME": None, "PYDCOM_REGISTRY": None}


@pytest.mark.parametrize("args", [["list"], ["register", "--clsid", OTHER],
                                  ["serve", "--bind", "127.0.0.1", "--port", "0"]])
def test_an_account_without_a_home_is_told_to_name_a_registry(args):
    assert not os.path.exists("/nonexistent/x")
    assert_failed(pydcom_cli(*args, **NO_HOME), "ERROR_PATH_NOT_FOUND", "0x80070003",
                  "cannot create the per-user registry folder /nonexistent/x/.local/share/pydcom",
                  "the home directory /nonexistent/x does not exist",
                  "set PYDCOM_REGISTRY (or the command's --registry) to name a registry file")
    assert not os.path.exists("/nonexistent/x")  # nor is the home directory made for it


def test_an_account_without_a_home_may_name_its_registry(tmp_path):
    path = tmp_path / "r.sqlite3"
    named = dict(NO_HOME, PYDCOM_REGISTRY=str(path))
    assert pydcom_cli("register", "--clsid", OTHER, **named).code == 0
    listed = pydcom_cli("list", registry=path, **NO_HOME)
    assert listed.code == 0 and OTHER in listed.out, listed


@needs_root
def test_a_home_the_account_cannot_write(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, OWNER, OWNER)  # rwxr-xr-x, and not the account's
    done = pydcom_cli("list", prefix=AS_OTHER_ACCOUNT, HOME=str(home), XDG_DATA_HOME=None,
                      PYDCOM_REGISTRY=None)
    assert_failed(done, "E_ACCESSDENIED 0x80070005",
                  f"cannot create the per-user registry folder {home}/.local/share/pydcom: "
                  f"Permission denied ({home}/.local)", "PYDCOM_REGISTRY")
    assert list(home.iterdir()) == []
