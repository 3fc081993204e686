"""Exit statuses a script can rely on: 2 for a wrong command line, 1 for a command that could not
be done; every failure one line naming the subcommand."""

from __future__ import annotations

import socket

import pydcom
from tests.cli.support import assert_failed, assert_refused, pydcom_cli

OTHER = "{0F8E5C2A-AAAA-4A2B-9C3D-000000000001}"


def test_version():
    done = pydcom_cli("--version")
    assert done.code == 0 and done.out.strip() == f"pydcom {pydcom.__version__}"


def test_help_documents_the_exit_statuses_and_verbose():
    top = pydcom_cli("--help")
    assert top.code == 0
    assert "exit status" in top.out and "1 the command could not be done" in top.out
    assert "2 the command line is wrong" in top.out
    serve = pydcom_cli("serve", "--help")
    assert "-v, --verbose" in serve.out and "activation" in serve.out.split("--verbose", 1)[1]


def test_argument_errors_name_the_subcommand(tmp_path):
    registry = tmp_path / "r.sqlite3"
    assert_refused(pydcom_cli("register", "--clsid", "nope", registry=registry),
                   "pydcom register: argument --clsid", "CO_E_CLASSSTRING")
    assert_refused(pydcom_cli("appid", "set", OTHER, "--remote-server", "a[0]", registry=registry),
                   "pydcom appid set: argument --remote-server", "CO_E_BAD_SERVER_NAME")
    assert_refused(pydcom_cli("call", "Demo.Calculator", "Add", "--machine", "x y",
                              registry=registry), "pydcom call: argument --machine")
    assert_refused(pydcom_cli("show", "9.not.progid", registry=registry),
                   "pydcom show: argument", "is not a ProgID")
    assert not registry.exists()  # a usage error opens nothing


def test_serve_names_the_option_that_is_wrong(tmp_path):
    for option, value, needle in (("--grace", "-1", "--grace -1 must be zero or more"),
                                  ("--ping-period", "0", "--ping-period 0 must be positive"),
                                  ("--ping-period", "10", "--ping-period 10 is under the 120 s"),
                                  ("--start-timeout", "-2", "--start-timeout -2 must be positive"),
                                  ("--port", "70000", "--port 70000 is not 0-65535")):
        assert_refused(pydcom_cli("serve", option, value, registry=tmp_path / "r.sqlite3"),
                       f"pydcom serve: {needle}")


def test_serve_on_an_address_in_use_names_it(tmp_path):
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.5", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        done = pydcom_cli("serve", "--bind", "127.0.0.5", "--port", str(port),
                          registry=tmp_path / "r.sqlite3")
        assert_failed(done, f"cannot listen on 127.0.0.5[{port}]", "in use")
    finally:
        holder.close()


def test_a_runtime_failure_is_status_1(tmp_path):
    assert_failed(pydcom_cli("show", "No.Such.Class", registry=tmp_path / "r.sqlite3"),
                  "pydcom show:", "No.Such.Class")
