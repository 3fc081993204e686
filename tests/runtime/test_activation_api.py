"""The public activation API end to end, with a recording RemoteActivator for other processes."""

import uuid

import pytest

import pydcom
from pydcom import hresult, registry
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, Registry
from pydcom.runtime import machine, out_of_process
from pydcom.runtime.activation import plan_activation
from pydcom.runtime.scm_client import DcomActivator
from tests.runtime.sample_classes import APPID, CALC_CLSID, IID_ICALC, IID_OTHER, Calculator
from tests.runtime.support import RecordingActivator

REMOTE = uuid.UUID("0f8e5c2a-7777-4a2b-9c3d-000000000001")
LOCAL = uuid.UUID("0f8e5c2a-7777-4a2b-9c3d-000000000002")


@pytest.fixture
def setup(reg):
    reg.register(pydcom.runtime.coclass.coclass_entry(Calculator))
    reg.register(ClassEntry(REMOTE, progid="Test.Remote", appid=APPID))
    reg.register(ClassEntry(LOCAL, progid="Test.Local", local_server="test-server"))
    reg.set_appid(AppIdEntry(APPID, remote_server_name="hostb[4135]"))
    registry.use(reg)
    recorder = RecordingActivator(missing=[IID_OTHER])
    out_of_process.set_activator(recorder)
    return reg, recorder


def hr_of(fn, *args, **kwargs) -> int:
    with pytest.raises(ComError) as info:
        fn(*args, **kwargs)
    return info.value.hresult


def test_public_names():
    for name in ("get_class_object", "create_instance", "create_instance_ex", "coclass", "CLSCTX",
                 "ServerInfo", "ComError", "IID_IUnknown", "IID_IClassFactory", "IID_IDispatch"):
        assert hasattr(pydcom, name), name
    assert pydcom.IID_IDispatch == uuid.UUID("00020400-0000-0000-C000-000000000046")
    assert pydcom.hresult.REGDB_E_CLASSNOTREG == 0x80040154


def test_remote_class_resolves_through_the_registry(setup):
    _, recorder = setup
    factory = pydcom.get_class_object("Test.Remote", pydcom.CLSCTX.ALL)
    plan = factory.plan
    assert plan.context is pydcom.CLSCTX.REMOTE_SERVER and plan.clsid == REMOTE
    assert (plan.server.host, plan.server.port) == ("hostb", 4135)
    assert recorder.plans == [plan]


@pytest.mark.parametrize("server", [pydcom.ServerInfo("hostc[9000]"), "hostc[9000]"])
def test_explicit_server_info_wins(setup, server):
    obj = pydcom.create_instance("Test.Remote", pydcom.CLSCTX.REMOTE_SERVER, server, IID_ICALC)
    assert obj.plan.server == pydcom.ServerInfo("hostc[9000]") and obj.iid == IID_ICALC


def test_local_server_plans_go_to_the_activator_too(setup):
    obj = pydcom.create_instance("Test.Local")
    assert obj.plan.context is pydcom.CLSCTX.LOCAL_SERVER and obj.plan.server is None


def test_remote_multi_qi_results_pass_through(setup):
    results = pydcom.create_instance_ex(REMOTE, pydcom.CLSCTX.REMOTE_SERVER, None,
                                        [IID_ICALC, IID_OTHER])
    assert results.hresult == hresult.CO_S_NOTALLINTERFACES
    assert [r.hresult for r in results] == [hresult.S_OK, hresult.E_NOINTERFACE]
    assert hr_of(pydcom.create_instance, REMOTE, iid=IID_OTHER) == hresult.E_NOINTERFACE
    assert hr_of(pydcom.create_instance_ex, REMOTE, iids=[IID_OTHER]) == hresult.E_NOINTERFACE
    assert hr_of(pydcom.create_instance, REMOTE, outer=object()) == hresult.CLASS_E_NOAGGREGATION


def test_an_activator_that_miscounts_is_caught(setup):
    class Short(RecordingActivator):
        def create_instance(self, plan, iids):
            return []

    out_of_process.set_activator(Short())
    assert hr_of(pydcom.create_instance_ex, REMOTE, iids=[IID_ICALC]) == hresult.RPC_E_UNEXPECTED


def test_with_no_activator_allowed_out_of_process_plans_are_not_implemented(setup):
    out_of_process.set_activator(out_of_process.NoActivator())
    with pytest.raises(ComError, match=r"hostb\[4135\]") as info:
        pydcom.get_class_object("Test.Remote")
    assert info.value.hresult == hresult.E_NOTIMPL
    assert pydcom.create_instance(CALC_CLSID).Add(1, 2) == 3  # in-process needs none



def test_with_none_installed_the_first_out_of_process_plan_installs_the_dcom_activator(setup):
    """Nothing is installed until an activation needs another process; then the MS-DCOM
    activator is, for the whole process, and stays."""
    out_of_process.set_activator(None)
    assert out_of_process.installed_activator() is None
    plan = plan_activation("Test.Remote")
    assert out_of_process.installed_activator() is None  # planning needs no activator
    installed = out_of_process.get_activator(plan)
    assert isinstance(installed, DcomActivator)
    assert out_of_process.installed_activator() is installed
    assert out_of_process.get_activator(plan_activation("Test.Local")) is installed
    assert out_of_process.set_activator(None) is installed

def test_create_instance_ex_in_process_reports_each_interface(setup):
    results = pydcom.create_instance_ex("Test.Calculator", pydcom.CLSCTX.INPROC_SERVER, None,
                                        [IID_ICALC, IID_OTHER, pydcom.IID_IDispatch])
    assert results.hresult == hresult.CO_S_NOTALLINTERFACES
    assert [r.hresult for r in results] == [hresult.S_OK, hresult.E_NOINTERFACE, hresult.S_OK]
    assert results[1].object is None and not results[1].ok
    obj = results[0].object
    assert obj is results[2].object
    assert obj.add_ref() == 3  # one reference per interface handed out, plus this one
    everything = pydcom.create_instance_ex(CALC_CLSID, iids=[IID_ICALC])
    assert everything.hresult == hresult.S_OK and everything[0].object.Add(2, 2) == 4


def test_create_instance_ex_arguments(setup):
    assert hr_of(pydcom.create_instance_ex, CALC_CLSID, iids=[]) == hresult.E_INVALIDARG
    assert hr_of(pydcom.create_instance_ex, CALC_CLSID, iids=str(IID_ICALC)) == hresult.E_INVALIDARG
    assert hr_of(pydcom.create_instance_ex, CALC_CLSID, iids=["junk"]) == hresult.E_INVALIDARG
    assert hr_of(pydcom.create_instance_ex, CALC_CLSID, iids=[IID_OTHER]) == hresult.E_NOINTERFACE
    assert hr_of(pydcom.create_instance, CALC_CLSID, server_info=42) == hresult.E_INVALIDARG
    assert hr_of(pydcom.create_instance, CALC_CLSID, server_info="bad name!") == \
        hresult.CO_E_BAD_SERVER_NAME


def test_true_errors(setup):
    assert hr_of(pydcom.create_instance, uuid.uuid4()) == hresult.REGDB_E_CLASSNOTREG
    assert hr_of(pydcom.create_instance, "{garbage}") == hresult.CO_E_CLASSSTRING
    assert hr_of(pydcom.create_instance, "No.Such.Class") == hresult.CO_E_CLASSSTRING
    assert hr_of(pydcom.create_instance, CALC_CLSID, 0) == hresult.E_INVALIDARG
    assert hr_of(pydcom.create_instance, "Test.Local", pydcom.CLSCTX.INPROC_SERVER) == \
        hresult.REGDB_E_CLASSNOTREG
    err = pytest.raises(ComError, pydcom.create_instance, uuid.UUID(int=5)).value
    assert "0x80040154" in str(err) and "Class not registered" in str(err)


def test_class_not_registered_is_checked_against_a_fresh_snapshot(tmp_path):
    path = tmp_path / "shared.sqlite3"
    with Registry(path, refresh_interval=3600) as slow, Registry(path) as other:
        slow.snapshot()
        other.register(pydcom.runtime.coclass.coclass_entry(Calculator))
        # slow's snapshot is an hour "fresh", but a miss is re-checked before it is reported
        assert pydcom.create_instance(CALC_CLSID, registry=slow).Add(1, 1) == 2
        assert pydcom.create_instance("Test.Calculator", registry=slow).Add(2, 2) == 4


def test_the_default_registry_comes_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "env.sqlite3"
    with Registry(path) as reg:
        reg.register(pydcom.runtime.coclass.coclass_entry(Calculator))
    monkeypatch.setenv(registry.ENV_REGISTRY, str(path))
    registry.use(None)
    assert registry.default_registry().path == str(path)
    assert pydcom.create_instance(CALC_CLSID).Add(3, 4) == 7


def test_use_a_path_opens_lazily(tmp_path):
    path = tmp_path / "lazy.sqlite3"
    registry.use(path)
    assert not path.exists()
    assert hr_of(pydcom.create_instance, CALC_CLSID) == hresult.REGDB_E_CLASSNOTREG
    assert path.exists() and registry.default_registry().path == str(path)


def test_per_user_default_path(monkeypatch, tmp_path):
    monkeypatch.delenv(registry.ENV_REGISTRY)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert registry.default_path() == str(tmp_path / "xdg" / "pydcom" / "registry.sqlite3")
    assert registry.open_registry().path == registry.default_path()


def test_machine_name_setting(setup, monkeypatch):
    monkeypatch.setenv(machine.ENV_MACHINE_NAME, "HostB")
    machine.set_machine_name(None)
    assert machine.machine_name() == "HostB"
    # RemoteServerName hostb[4135] now names this machine: local, and Test.Remote has no local server
    assert hr_of(plan_activation, "Test.Remote") == hresult.REGDB_E_CLASSNOTREG
    machine.set_machine_name("elsewhere")
    assert plan_activation("Test.Remote").server.host == "hostb"
    machine.set_machine_name(None)
    assert machine.machine_name() == "HostB"
