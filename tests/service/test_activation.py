"""Remote activation end to end: services on 127.0.0.x, surrogate processes, proxies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.interfaces import syntax_of
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.wire import ids
from pydcom.wire.remunknown import REMUNKNOWN_SYNTAX

from ..support import wait_until
from ..unanswered import unanswered_port
from .sample_classes import APARTMENT_CLSID, CALC_CLSID, ICalc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def endpoint(service):
    return service.hosts[0], service.port


def test_activate_call_and_reuse_the_server(make_service, runtime):
    service = make_service("127.0.0.2")
    [(code, calc)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    assert code == 0 and calc.Add(40, 2) == 42
    pid, _ = calc.Where()
    assert pid != os.getpid()  # hosted in a surrogate process
    [(_, again)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    assert again.Where()[0] == pid  # the running server is reused
    assert again.ipid != calc.ipid
    calc.release()
    again.release()


def test_several_interfaces_and_partial_success(make_service, runtime):
    service = make_service("127.0.0.2")
    missing = uuid.UUID("0badf00d-0000-4000-8000-000000000001")
    results = remote_activate(runtime, endpoint(service), CALC_CLSID,
                              [ICalc.iid, ids.IID_IUnknown, missing])
    assert [code for code, _ in results] == [0, 0, hresult.E_NOINTERFACE]
    calc, unknown, none = (proxy for _, proxy in results)
    assert none is None and unknown.query_interface(ICalc.iid).Add(1, 1) == 2
    with pytest.raises(ComError) as info:
        remote_activate(runtime, endpoint(service), CALC_CLSID, [missing])
    assert info.value.hresult == hresult.E_NOINTERFACE


def test_activation_binds_the_granted_interfaces_at_the_exporter_ahead_of_the_first_call(
        make_service, runtime):
    service = make_service("127.0.0.2")
    missing = uuid.UUID("0badf00d-0000-4000-8000-000000000002")
    [(_, calc), (_, _), (_, none)] = remote_activate(runtime, endpoint(service), CALC_CLSID,
                                                     [ICalc.iid, ids.IID_IUnknown, missing])
    [connection] = runtime.connections.pool(calc._info.endpoint).idle()  # connected, its bind under way
    assert calc.Add(2, 3) == 5  # reads the bind's answer, then calls: no second bind
    assert set(connection._conn.contexts) == {syntax_of(ICalc.iid), syntax_of(ids.IID_IUnknown),
                                              REMUNKNOWN_SYNTAX}
    calc.release()


def test_unknown_class_is_regdb_e_classnotreg(make_service, runtime):
    service = make_service("127.0.0.2")
    with pytest.raises(ComError) as info:
        remote_activate(runtime, endpoint(service), uuid.uuid4(), [ids.IID_IUnknown])
    assert info.value.hresult == 0x80040154


def test_class_object_then_create_instance(make_service, runtime):
    service = make_service("127.0.0.2")
    [(code, factory)] = remote_activate(runtime, endpoint(service), CALC_CLSID,
                                        [ids.IID_IClassFactory], class_object=True)
    assert code == 0
    calc = factory.create_instance(ICalc.iid)
    assert calc.Add(2, 3) == 5
    factory.lock_server(True)
    factory.lock_server(False)
    with pytest.raises(ComError) as info:
        factory.create_instance(ICalc.iid, outer=object())
    assert info.value.hresult == hresult.CLASS_E_NOAGGREGATION


def test_unreachable_machine_is_server_unavailable_in_time(runtime):
    with socket.socket() as s:
        s.bind(("127.0.0.3", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ComError) as info:
        remote_activate(runtime, ("127.0.0.3", port), CALC_CLSID, [ICalc.iid])
    assert info.value.hresult == 0x800706BA
    assert time.monotonic() - start < runtime.connect_timeout + 1


def test_machine_that_never_answers_costs_one_connect_timeout():
    # Nothing but the time shows how many connects were tried here (the SYNs are dropped), so
    # the timeout is long enough that one and two of them stay apart on a stalled machine.
    runtime = ClientRuntime(connect_timeout=1.0)
    try:
        with unanswered_port("127.0.0.3") as port:
            start = time.monotonic()
            with pytest.raises(ComError) as info:
                remote_activate(runtime, ("127.0.0.3", port), CALC_CLSID, [ICalc.iid])
            assert info.value.hresult == 0x800706BA
            assert 0.9 < time.monotonic() - start < 1.9  # one timeout, not one per attempt
    finally:
        runtime.close()


def test_machine_that_accepts_and_never_answers_costs_one_connect_timeout():
    """Tried once (one connection), bounded by the connect timeout, not the call's."""
    runtime = ClientRuntime(connect_timeout=0.5)
    try:
        with socket.socket() as silent:
            silent.bind(("127.0.0.3", 0))
            silent.listen(8)
            start = time.monotonic()
            with pytest.raises(ComError) as info:
                remote_activate(runtime, silent.getsockname(), CALC_CLSID, [ICalc.iid])
            assert info.value.hresult == 0x800706BA
            assert 0.4 < time.monotonic() - start < 5
            assert accepted_count(silent) == 1
    finally:
        runtime.close()


def test_server_that_fails_to_start_is_co_e_server_exec_failure(make_service, runtime):
    broken = StaticClassStore([
        ClassEntry(CALC_CLSID, python="tests.service.no_such_module:Nothing"),
        ClassEntry(APARTMENT_CLSID, command=f"{sys.executable} -c 'import time; time.sleep(60)'"),
    ])
    service = make_service("127.0.0.2", classes=broken, start_timeout=3)
    start = time.monotonic()
    with pytest.raises(ComError) as info:
        remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    assert info.value.hresult == hresult.CO_E_SERVER_EXEC_FAILURE
    assert time.monotonic() - start < 3 + 2  # the import fails: well before the bound
    start = time.monotonic()
    with pytest.raises(ComError) as info:  # a program that never registers: the bound
        remote_activate(runtime, endpoint(service), APARTMENT_CLSID, [ICalc.iid])
    assert info.value.hresult == hresult.CO_E_SERVER_EXEC_FAILURE
    assert 2.5 < time.monotonic() - start < 3 + 2


def test_command_line_server_is_launched_and_reused(make_service, runtime):
    script = os.path.join(ROOT, "tests", "service", "local_server.py")
    store = StaticClassStore([ClassEntry(CALC_CLSID, command=f"{sys.executable} {script}")])
    service = make_service("127.0.0.2", classes=store)
    [(_, calc)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    [(_, other)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    assert calc.Where()[0] == other.Where()[0] != os.getpid()
    assert calc.Add(-1, 1) == 0


def test_idle_server_shuts_down_after_its_grace_period(make_service, runtime):
    service = make_service("127.0.0.2", grace=0.5)
    [(_, calc)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    pid = calc.Where()[0]
    calc.release()
    runtime.releases.flush()
    wait_until(lambda: not _alive(pid), 10, f"idle server pid {pid} gone after its grace period")
    [(_, fresh)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    assert fresh.Where()[0] != pid  # started again on demand


def test_apartment_objects_see_one_thread(make_service, runtime):
    from concurrent.futures import ThreadPoolExecutor

    service = make_service("127.0.0.2")
    [(_, calc)] = remote_activate(runtime, endpoint(service), APARTMENT_CLSID, [ICalc.iid])
    with ThreadPoolExecutor(8) as pool:
        threads = set(pool.map(lambda _: calc.Where()[1], range(64)))
    assert len(threads) == 1
    [(_, free)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    with ThreadPoolExecutor(8) as pool:
        assert len(set(pool.map(lambda _: free.Where()[1], range(200)))) > 1


def test_chain_an_object_on_b_returns_an_object_on_c(make_service, runtime):
    b = make_service("127.0.0.2")
    c = make_service("127.0.0.3")
    [(_, on_b)] = remote_activate(runtime, endpoint(b), CALC_CLSID, [ICalc.iid])
    on_c = on_b.Fetch(f"127.0.0.3[{c.port}]")
    assert on_c._info.endpoint[0] == "127.0.0.3"  # the reference leads straight to C
    assert on_c.Add(20, 22) == 42
    assert on_c.Where()[0] != on_b.Where()[0]


def test_released_ipid_is_rpc_e_disconnected(make_service, runtime):
    service = make_service("127.0.0.2")
    [(_, calc)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    [(_, keep)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ids.IID_IUnknown])
    ipid, info = calc.ipid, calc._info
    calc.release()
    runtime.releases.flush()
    from pydcom.wire.orpc import orpcthis
    from pydcom.rpc.errors import RpcFault
    request = ICalc.methods[0].request(orpcthis(), 1, 2).encode()
    with pytest.raises(RpcFault) as err:
        runtime.call(info.endpoint, ICalc.syntax, 3, request, ipid)
    assert err.value.hresult == hresult.RPC_E_DISCONNECTED


def accepted_count(listener: socket.socket) -> int:
    """How many connections wait in the listener's queue (taking them)."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive: it only waits to be reaped
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_server_gone_is_rpc_e_disconnected_machine_gone_is_server_unavailable(make_service, runtime):
    service = make_service("127.0.0.2")
    [(_, calc)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    pid = calc.Where()[0]
    os.kill(pid, 9)
    # Dead, and its listening socket closed (the kernel tears a process down in steps).
    wait_until(lambda: not _alive(pid) and not runtime.connections.alive(calc._info.endpoint), 5,
               f"server pid {pid} and its endpoint gone")
    with pytest.raises(ComError) as info:
        calc.Add(1, 1)
    assert info.value.hresult == hresult.RPC_E_DISCONNECTED
    [(_, fresh)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    assert fresh.Add(1, 1) == 2  # the service noticed and started a new server
    service.close()
    start = time.monotonic()
    with pytest.raises(ComError) as info:
        fresh.Add(1, 1)
    assert info.value.hresult == 0x800706BA
    assert time.monotonic() - start < runtime.connect_timeout + 1


def test_a_method_that_fails_returns_its_hresult(make_service, runtime):
    service = make_service("127.0.0.2")
    [(_, calc)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    with pytest.raises(ComError) as info:
        calc.Fetch("no-such-host[1]")  # the method itself fails: its HRESULT comes back
    assert info.value.hresult & 0x80000000
    assert info.value.hresult != 0x800706F7  # not a marshaling failure
    assert calc.Add(1, 2) == 3


def test_a_client_passes_its_own_object_out_and_is_called_back(make_service, tmp_path):
    """The client's machine (127.0.0.4) runs a service too, as Windows runs rpcss: the server
    pings it and resolves the client's OXID there."""
    from pydcom.runtime.client import ClientRuntime

    from .sample_classes import Calculator

    own_machine = make_service("127.0.0.4")
    remote = make_service("127.0.0.2")
    runtime = ClientRuntime(local_service=f"127.0.0.4[{own_machine.port}]")
    try:
        [(_, calc)] = remote_activate(runtime, endpoint(remote), CALC_CLSID, [ICalc.iid])
        mine = Calculator()
        assert calc.Relay(mine) == 42  # the server called mine.Add(20, 22) back, in this process
        exporter = runtime.exporter()
        assert exporter.bindings.string_bindings[0].host == "127.0.0.4"
        assert own_machine.resolver.exporter(exporter.oxid) is not None
    finally:
        runtime.close()


def test_remquery_interface2_answers_objrefs(make_service, runtime):
    from pydcom.wire.objref import ObjRefStandard
    from pydcom.wire.orpc import objref_of, orpcthis
    from pydcom.wire.remunknown import (
        OP_REM_QUERY_INTERFACE2,
        REMUNKNOWN2_SYNTAX,
        RemQueryInterface2Request,
        RemQueryInterface2Response,
    )

    service = make_service("127.0.0.2")
    [(_, calc)] = remote_activate(runtime, endpoint(service), CALC_CLSID, [ICalc.iid])
    missing = uuid.UUID("0badf00d-0000-4000-8000-000000000002")
    request = RemQueryInterface2Request(orpcthis(), calc.ipid, 2, [ids.IID_IUnknown, missing])
    answer = RemQueryInterface2Response.decode(runtime.call(
        calc._info.endpoint, REMUNKNOWN2_SYNTAX, OP_REM_QUERY_INTERFACE2, request.encode(),
        calc._info.ipid_rem_unknown))
    assert answer.hr == 0 and answer.phr == [0, hresult.E_NOINTERFACE]
    objref = objref_of(answer.ppMIF[0])
    assert isinstance(objref, ObjRefStandard) and objref.iid == ids.IID_IUnknown
    assert objref.std.oid == calc.oid and answer.ppMIF[1] is None


FRESH_PROCESS = """
import sys
import pydcom
from pydcom.runtime import out_of_process
assert out_of_process.installed_activator() is None, "importing pydcom installed an activator"
from tests.service.sample_classes import ICalc  # the interface, so that the proxy knows Add
calc = pydcom.create_instance(sys.argv[1], pydcom.CLSCTX.REMOTE_SERVER,
                              pydcom.ServerInfo(sys.argv[2]), iid=ICalc.iid)
print(calc.Add(2, 3), type(out_of_process.installed_activator()).__name__)
calc.release()
"""


def test_a_fresh_process_activates_in_another_process_without_any_setup(make_service, tmp_path):
    """Importing pydcom leaves the activator slot empty; the first activation that needs
    another process installs the MS-DCOM activator and goes through."""
    service = make_service("127.0.0.2")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), ROOT]),
               PYDCOM_REGISTRY=str(tmp_path / "client.sqlite3"))
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(CALC_CLSID), f"127.0.0.2[{service.port}]"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "DcomActivator"]
