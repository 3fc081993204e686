"""KB 256149 on the real remote path: many threads activating a class that lives on another
machine, named by no ServerInfo but by the registry's RemoteServerName, while the registry is
rewritten; then the same with the remote services gone."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import pydcom
from pydcom import registry
from pydcom.hresult import ComError
from pydcom.runtime import scm_client
from pydcom.runtime.out_of_process import set_activator
from pydcom.runtime.client import ClientRuntime

from .machines import serve
from .sample_classes import CALC_CLSID, ICalc

APPID = uuid.UUID("4b2a0c7e-91d3-4f6a-8b5c-0d1e2f3a4b5c")
THREADS = 64
ACTIVATIONS_PER_THREAD = 50
CONNECT_TIMEOUT = 2.0


@pytest.fixture
def client(tmp_path):
    """This process as machine A: its registry knows the class only by its AppID."""
    reg = registry.Registry(tmp_path / "client.sqlite3")
    reg.register(registry.ClassEntry(CALC_CLSID, progid="KB.Calculator", appid=APPID))
    runtime = ClientRuntime(connect_timeout=CONNECT_TIMEOUT)
    previous = set_activator(scm_client.DcomActivator(runtime))
    registry.use(reg)
    try:
        yield reg
    finally:
        registry.use(None)
        set_activator(previous)
        runtime.close()
        reg.close()


@pytest.mark.slow
def test_threads_activating_while_the_registry_changes_then_machines_gone(client, tmp_path):
    with serve("127.0.0.2", tmp_path) as machine_b, serve("127.0.0.3", tmp_path) as machine_c:
        client.update_appid(APPID, remote_server_name=machine_b)
        allowed = {"127.0.0.2", "127.0.0.3"}
        stop = threading.Event()
        rewrites = [0]

        def rewrite():
            names = [machine_b, machine_c]
            while not stop.is_set():  # the same value, then values flipping between machines
                client.update_appid(APPID, remote_server_name=names[rewrites[0] % 2])
                client.update_appid(APPID, remote_server_name=names[rewrites[0] % 2])
                rewrites[0] += 1
                time.sleep(0.002)

        def activate(index: int) -> list:
            problems = []
            for i in range(ACTIVATIONS_PER_THREAD):
                try:
                    calc = pydcom.create_instance("KB.Calculator", pydcom.CLSCTX.REMOTE_SERVER,
                                                  iid=ICalc.iid)
                    host = calc._info.endpoint[0]
                    if host not in allowed:
                        problems.append(f"object on {host}")
                    if i % 10 == 0 and calc.Add(index, i) != index + i:
                        problems.append("wrong sum")
                    calc.release()
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    problems.append(repr(exc))
            return problems

        writers = [threading.Thread(target=rewrite) for _ in range(2)]
        for writer in writers:
            writer.start()
        start = time.monotonic()
        try:
            with ThreadPoolExecutor(THREADS) as pool:
                results = list(pool.map(activate, range(THREADS), timeout=240))
        finally:
            stop.set()
            for writer in writers:
                writer.join()
        problems = [p for r in results for p in r]
        assert problems == []  # not one spurious error
        assert rewrites[0] > 10
        elapsed = time.monotonic() - start
        assert elapsed < 240

    # Both machines are gone now: every activation fails with the true error, in time.
    def fail(_: int) -> list:
        outcomes = []
        for _ in range(5):
            began = time.monotonic()
            try:
                pydcom.create_instance("KB.Calculator", pydcom.CLSCTX.REMOTE_SERVER, iid=ICalc.iid)
                outcomes.append(("succeeded", 0.0))
            except ComError as exc:
                outcomes.append((exc.hresult, time.monotonic() - began))
        return outcomes

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for r in pool.map(fail, range(THREADS), timeout=120) for o in r]
    assert {code for code, _ in outcomes} == {0x800706BA}
    assert max(seconds for _, seconds in outcomes) < CONNECT_TIMEOUT + 1
