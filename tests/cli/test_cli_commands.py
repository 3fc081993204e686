"""Every command doing its job."""

from __future__ import annotations

import pytest

from pydcom.registry import from_toml
from tests.cli.support import pydcom_cli, state
from tests.runtime.sample_classes import APPID, CALC_CLSID, IID_ICALC, IID_OTHER

CALC = "{5E0C3A8E-2F1B-4D7A-9C61-0B8F4E2D7A01}"
REMOTE = "{0F8E5C2A-9999-4A2B-9C3D-000000000001}"
PLAIN = "{0F8E5C2A-9999-4A2B-9C3D-000000000002}"
EXE = "{0F8E5C2A-9999-4A2B-9C3D-000000000003}"
APP = "{5E0C3A8E-2F1B-4D7A-9C61-0B8F4E2D7A04}"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "cli.sqlite3"


def test_register_a_coclass_then_show_list_unregister(path):
    done = pydcom_cli("register", "tests.runtime.sample_classes:Calculator", registry=path)
    assert done.code == 0 and CALC in done.out and "Test.Calculator.1" in done.out
    entry = state(path).classes[CALC_CLSID]
    assert entry.inproc_server == "tests.runtime.sample_classes:Calculator"
    assert entry.appid == APPID and IID_ICALC in entry.interfaces

    for key in (CALC, "Test.Calculator.1", "test.calculator"):
        shown = pydcom_cli("show", key, registry=path)
        assert shown.code == 0
        assert from_toml(shown.out)[0] == [entry]

    listing = pydcom_cli("list", registry=path)
    assert listing.code == 0
    assert CALC in listing.out and "python tests.runtime.sample_classes:Calculator" in listing.out

    gone = pydcom_cli("unregister", "Test.Calculator", registry=path)
    assert gone.code == 0 and CALC in gone.out
    assert CALC_CLSID not in state(path).classes


def test_register_overrides_the_metadata(path):
    other_app = "{0F8E5C2A-9999-4A2B-9C3D-0000000000AA}"
    done = pydcom_cli("register", "tests.runtime.sample_classes:Calculator", "--appid", other_app,
                      "--interface", str(IID_OTHER), "--threading", "apartment", registry=path)
    assert done.code == 0, done.err
    entry = state(path).classes[CALC_CLSID]
    assert str(entry.appid).upper() in other_app and IID_OTHER in entry.interfaces
    assert IID_ICALC in entry.interfaces and entry.threading_model.value == "Apartment"


def test_register_by_hand(path):
    done = pydcom_cli("register", "--clsid", PLAIN, "--progid", "Test.Plain.2",
                      "--vi-progid", "Test.Plain", "--name", "Plain thing",
                      "--python", "tests.runtime.sample_classes:Plain",
                      "--interface", str(IID_OTHER), "--threading", "Free", registry=path)
    assert done.code == 0, done.err
    exe = pydcom_cli("register", "--clsid", EXE, "--progid", "Test.Exe",
                     "--command", "/usr/bin/env test-server --embedding", registry=path)
    assert exe.code == 0, exe.err
    snap = state(path)
    plain = snap.classes[snap.clsid_of("Test.Plain")]
    assert plain.name == "Plain thing" and plain.inproc_server.endswith(":Plain")
    assert plain.interfaces == (IID_OTHER,) and plain.threading_model.value == "Free"
    assert snap.classes[snap.clsid_of("Test.Exe")].local_server.startswith("/usr/bin/env")


def test_a_class_that_lives_on_another_machine(path):
    assert pydcom_cli("register", "--clsid", REMOTE, "--progid", "Test.Remote", "--appid", APP,
                      registry=path).code == 0
    done = pydcom_cli("appid", "set", APP, "--remote-server", "hostb[4135]", registry=path)
    assert done.code == 0 and 'remote_server_name = "hostb[4135]"' in done.out
    listing = pydcom_cli("list", registry=path)
    assert "remote hostb[4135]" in listing.out
    shown = pydcom_cli("show", "Test.Remote", registry=path)
    classes, appids = from_toml(shown.out)
    assert appids[0].remote_server_name == "hostb[4135]"


def test_appid_set_show_list_remove(path):
    assert pydcom_cli("appid", "set", APP, "--name", "Demo", "--launch-permission", "alice",
                      "--launch-permission", "bob", "--activate-at-storage", registry=path).code == 0
    assert pydcom_cli("appid", "set", APP, "--remote-server", "hostc", "--run-as", "svc",
                      registry=path).code == 0
    entry = state(path).appids[APPID]
    assert (entry.name, entry.launch_permission, entry.activate_at_storage, entry.run_as,
            entry.remote_server_name) == ("Demo", ("alice", "bob"), True, "svc", "hostc")
    assert pydcom_cli("appid", "set", APP, "--no-remote-server", "--default-launch-permission",
                      "--no-activate-at-storage", "--no-run-as", registry=path).code == 0
    entry = state(path).appids[APPID]
    assert (entry.remote_server_name, entry.launch_permission, entry.activate_at_storage,
            entry.run_as) == (None, None, False, None)
    shown = pydcom_cli("appid", "show", APP.lower(), registry=path)
    assert shown.code == 0 and from_toml(shown.out)[1] == [entry]
    listing = pydcom_cli("appid", "list", registry=path)
    assert APP in listing.out and "Demo" in listing.out
    assert pydcom_cli("appid", "remove", APP, registry=path).code == 0
    assert APPID not in state(path).appids


def test_export_and_import(path, tmp_path):
    pydcom_cli("register", "tests.runtime.sample_classes:Calculator", registry=path)
    pydcom_cli("appid", "set", APP, "--remote-server", "hostb", registry=path)
    exported = tmp_path / "machine.toml"
    assert pydcom_cli("registry", "export", str(exported), registry=path).code == 0
    copy = tmp_path / "copy.sqlite3"
    assert pydcom_cli("register", "--clsid", PLAIN, registry=copy).code == 0
    assert pydcom_cli("registry", "import", str(exported), registry=copy).code == 0
    merged = state(copy)
    assert set(merged.classes) == {CALC_CLSID, *state(copy).classes} and len(merged.classes) == 2
    assert pydcom_cli("registry", "import", "--replace", str(exported), registry=copy).code == 0
    assert state(copy).classes == state(path).classes
    assert state(copy).appids == state(path).appids
    to_stdout = pydcom_cli("registry", "export", "-", registry=path)
    assert to_stdout.out == exported.read_text()
    third = tmp_path / "third.sqlite3"
    assert pydcom_cli("registry", "import", "-", registry=third, stdin=to_stdout.out).code == 0
    assert state(third).classes == state(path).classes


def test_options_after_the_command_and_the_environment(path, tmp_path):
    assert pydcom_cli("register", "--clsid", PLAIN, "--registry", str(path)).code == 0
    assert PLAIN in pydcom_cli("list", PYDCOM_REGISTRY=str(path)).out
    assert pydcom_cli("list", "--registry", str(tmp_path / "empty.sqlite3")).out.count("\n") == 1


def test_no_command_prints_help():
    done = pydcom_cli()
    assert done.code == 2 and "register" in done.err
