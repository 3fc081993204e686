"""pydcom call: one automation call from the shell against a real service (MS-OAUT 3.1.4)."""

from __future__ import annotations

import pytest

from pydcom.examples.calculator import CALC_CLSID
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.service.service import Service

from .support import assert_failed, assert_refused, pydcom_cli

HOST = "127.0.0.4"


@pytest.fixture(scope="module")
def machine():
    service = Service(StaticClassStore([
        ClassEntry(CALC_CLSID, python="pydcom.examples.calculator:Calculator")]), [HOST], 0)
    try:
        yield f"{HOST}[{service.start().port}]"
    finally:
        service.close()


def call(machine, registry, *args):
    return pydcom_cli("call", str(CALC_CLSID), *args, "--machine", machine, registry=registry)


def test_a_method_call_prints_its_result_as_a_literal(machine, tmp_path):
    registry = tmp_path / "r.sqlite3"
    assert call(machine, registry, "Add", "2", "3").out == "5\n"
    assert call(machine, registry, "Echo", "[1, 'a', 2.5, None, True]").out == \
        "[1, 'a', 2.5, None, True]\n"
    assert call(machine, registry, "Divide", "7.0", "2").out == "3.5\n"


def test_properties_get_and_put(machine, tmp_path):
    registry = tmp_path / "r.sqlite3"
    assert call(machine, registry, "Memory", "--get").out == "0\n"
    put = call(machine, registry, "Memory", "--put", "7")
    assert put.code == 0 and put.out == ""
    assert call(machine, registry, "Memory").out == "0\n"  # each call makes a new object


def test_a_progid_the_registry_knows(machine, tmp_path):
    registry = tmp_path / "r.sqlite3"
    assert pydcom_cli("register", "--clsid", str(CALC_CLSID), "--progid", "Demo.Calculator",
                      registry=registry).code == 0
    result = pydcom_cli("call", "Demo.Calculator", "Multiply", "6", "7", "--machine", machine,
                        registry=registry)
    assert result.out == "42\n", result


def test_failures_are_one_line_with_the_hresult(machine, tmp_path):
    registry = tmp_path / "r.sqlite3"
    assert_failed(call(machine, registry, "Divide", "1", "0"), "DISP_E_EXCEPTION",
                   "ZeroDivisionError")
    assert_failed(call(machine, registry, "NoSuchMember"), "NoSuchMember",
                   "DISP_E_UNKNOWNNAME")
    assert_failed(call(machine, registry, "Add", "1"), "DISP_E_BADPARAMCOUNT")


def test_usage_errors(machine, tmp_path):
    registry = tmp_path / "r.sqlite3"
    assert_refused(call(machine, registry, "Add", "two", "3"), "argument 1", "not a Python literal")
    assert_refused(call(machine, registry, "Memory", "1", "--get"), "take no method arguments")
    assert_refused(call(machine, registry, "not-a-name"), "is not a name")
    assert_failed(pydcom_cli("call", "No.Such.Class", "Add", registry=tmp_path / "r.sqlite3"),
                  "No.Such.Class")
    assert_refused(call(machine, registry, "Memory", "--get", "--put", "1"), "not allowed")
