"""The registry file as the command finds it: another program's database is left untouched."""

from __future__ import annotations

import sqlite3

from tests.cli.support import assert_failed, pydcom_cli

OTHER = "{0F8E5C2A-AAAA-4A2B-9C3D-000000000001}"


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
