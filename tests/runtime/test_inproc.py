"""In-process activation: the Python object behind IUnknown and IClassFactory."""

import uuid

import pytest

import pydcom
from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import ClassEntry
from pydcom.runtime import inproc
from pydcom.runtime.coclass import coclass_entry
from pydcom.runtime.unknown import ClassFactory, Unknown
from tests.runtime.sample_classes import CALC_CLSID, IID_ICALC, IID_OTHER, Calculator

PLAIN = uuid.UUID("0f8e5c2a-6666-4a2b-9c3d-000000000001")


@pytest.fixture
def calc_registry(reg):
    reg.register(coclass_entry(Calculator))
    reg.register(ClassEntry(PLAIN, progid="Test.Plain", interfaces=[IID_OTHER],
                            inproc_server="tests.runtime.sample_classes:Plain"))
    pydcom.registry.use(reg)
    return reg


def hr_of(fn, *args, **kwargs) -> int:
    with pytest.raises(ComError) as info:
        fn(*args, **kwargs)
    return info.value.hresult


def test_query_interface_answers_declared_iids_with_one_identity(calc_registry):
    obj = pydcom.create_instance("Test.Calculator", iid=IID_ICALC)
    assert obj.Add(2, 3) == 5
    for iid in (pydcom.IID_IUnknown, pydcom.IID_IDispatch, IID_ICALC, str(IID_ICALC)):
        assert obj.query_interface(iid) is obj
    assert hr_of(obj.query_interface, IID_OTHER) == hresult.E_NOINTERFACE
    assert hr_of(obj.query_interface, "not an iid") == hresult.E_INVALIDARG
    assert obj.release() == 4 and obj.add_ref() == 5


def test_the_last_release_disconnects(calc_registry):
    obj = pydcom.create_instance(CALC_CLSID, pydcom.CLSCTX.INPROC_SERVER)
    assert obj.add_ref() == 2
    assert obj.release() == 1
    assert obj.release() == 0
    assert obj.release() == 0  # over-release is harmless, as on a proxy
    for use in (lambda: obj.add_ref(), lambda: obj.query_interface(pydcom.IID_IUnknown),
                lambda: obj.Add(1, 2), lambda: setattr(obj, "total", 3)):
        assert hr_of(use) == hresult.RPC_E_DISCONNECTED


def test_attributes_are_the_python_objects(calc_registry):
    obj = pydcom.create_instance(CALC_CLSID)
    obj.total = 42
    target = inproc.unwrap(obj)
    assert isinstance(target, Calculator) and target.total == 42
    assert isinstance(obj, Unknown)


def test_a_plain_class_answers_only_what_its_registration_declares(calc_registry):
    obj = pydcom.create_instance("Test.Plain", iid=IID_OTHER)
    assert obj.Ping() == "pong"
    assert hr_of(obj.query_interface, pydcom.IID_IDispatch) == hresult.E_NOINTERFACE
    assert hr_of(pydcom.create_instance, "Test.Plain", iid=IID_ICALC) == hresult.E_NOINTERFACE


def test_class_object_and_factory(calc_registry):
    factory = pydcom.get_class_object("Test.Calculator.1", pydcom.CLSCTX.INPROC_SERVER)
    assert isinstance(factory, ClassFactory)
    assert factory.query_interface(pydcom.IID_IUnknown) is factory
    assert hr_of(factory.query_interface, pydcom.IID_IDispatch) == hresult.E_NOINTERFACE
    before = Calculator.created
    obj = factory.create_instance(pydcom.IID_IDispatch)
    assert Calculator.created == before + 1 and obj.Add(1, 1) == 2
    assert hr_of(factory.create_instance, IID_OTHER) == hresult.E_NOINTERFACE
    assert Calculator.created == before + 1  # refused before constructing anything
    assert hr_of(factory.create_instance, outer=obj) == hresult.CLASS_E_NOAGGREGATION
    unknown = pydcom.get_class_object(CALC_CLSID, iid=pydcom.IID_IUnknown)
    assert isinstance(unknown, inproc.InprocClassFactory)
    assert hr_of(pydcom.get_class_object, CALC_CLSID, iid=IID_ICALC) == hresult.E_NOINTERFACE
    assert factory.release() == 1 and factory.release() == 0
    assert hr_of(factory.create_instance) == hresult.RPC_E_DISCONNECTED


def test_lock_server_is_counted(calc_registry):
    factory = pydcom.get_class_object(CALC_CLSID)
    base = inproc.server_locks.count
    factory.lock_server(True)
    factory.lock_server(True)
    assert inproc.server_locks.count == base + 2
    factory.lock_server(False)
    factory.lock_server(False)
    assert inproc.server_locks.count == base
    assert hr_of(factory.lock_server, False) == hresult.E_UNEXPECTED


@pytest.mark.parametrize("path, code", [
    ("tests.runtime.no_such_module:X", hresult.hresult_from_win32(hresult.ERROR_MOD_NOT_FOUND)),
    ("tests.runtime.broken_module:X", hresult.CO_E_SERVER_EXEC_FAILURE),
    ("tests.runtime.sample_classes:Missing", hresult.CLASS_E_CLASSNOTAVAILABLE),
    ("tests.runtime.sample_classes:CALC_CLSID", hresult.CLASS_E_CLASSNOTAVAILABLE),
    ("tests.runtime.sample_classes:Failing", hresult.E_FAIL),
    ("tests.runtime.sample_classes:Refusing", hresult.E_ACCESSDENIED),
])
def test_servers_that_cannot_serve(reg, path, code):
    reg.register(ClassEntry(PLAIN, inproc_server=path))
    assert hr_of(pydcom.create_instance, PLAIN, registry=reg) == code


def test_a_module_missing_a_dependency_is_an_execution_failure(reg, tmp_path, monkeypatch):
    (tmp_path / "needs_dep.py").write_text("import no_such_dependency_xyz\nclass C: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg.register(ClassEntry(PLAIN, inproc_server="needs_dep:C"))
    assert hr_of(pydcom.create_instance, PLAIN, registry=reg) == hresult.CO_E_SERVER_EXEC_FAILURE


def test_coclass_metadata():
    entry = coclass_entry(Calculator)
    assert entry.clsid == CALC_CLSID and entry.progid == "Test.Calculator.1"
    assert entry.version_independent_progid == "Test.Calculator"
    assert entry.inproc_server == "tests.runtime.sample_classes:Calculator"
    assert entry.interfaces == (IID_ICALC, pydcom.IID_IDispatch)
    assert entry.name == "Calculator"

    @pydcom.coclass(clsid=PLAIN)
    class Local:
        pass

    assert coclass_entry(Local).inproc_server is None  # defined in a function: not importable
    assert coclass_entry(Local).interfaces == (pydcom.IID_IDispatch,)

    class Derived(Calculator):
        pass

    assert coclass_entry(Derived) is None


def test_bad_coclass_metadata_fails_when_the_class_is_defined():
    with pytest.raises(ComError) as info:
        @pydcom.coclass(clsid="nope")
        class Bad:
            pass
    assert info.value.hresult == hresult.CO_E_CLASSSTRING
    with pytest.raises(ComError):
        @pydcom.coclass(clsid=PLAIN, threading="single")
        class Worse:
            pass
