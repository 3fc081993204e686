"""KB 256149 across processes: readers in several processes, writers in others, one registry
file. Every answer is true of one committed state; after an unregistration commits, every
activation that starts more than the refresh interval later says REGDB_E_CLASSNOTREG."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from pydcom import hresult, registry
from pydcom.registry import Registry
from pydcom.registry.store import DEFAULT_REFRESH_INTERVAL
from tests.runtime import scenario
from tests.runtime.sample_classes import CALC_CLSID
from tests.runtime.support import subprocess_env

READER_PROCESSES = 3
THREADS = 4
SECONDS = 2.0


class Workers:
    """Child processes running activation_worker; all stopped by pid when the block ends."""

    def __init__(self, path) -> None:
        self.env = subprocess_env(**{registry.ENV_REGISTRY: str(path)})
        self.procs: list[subprocess.Popen] = []

    def start(self, mode: str, threads: int = THREADS, seconds: float = SECONDS) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.runtime.activation_worker", mode, str(threads),
             str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=self.env)
        self.procs.append(proc)

    def wait_ready(self) -> None:
        for proc in self.procs:
            line = proc.stdout.readline()
            assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() else "")

    def results(self, timeout: float = 60) -> list[dict]:
        out = []
        for proc in self.procs:
            stdout, stderr = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, stderr
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            for stream in (proc.stdout, proc.stderr):
                stream.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_processes_see_only_whole_configurations(tmp_path):
    path = tmp_path / "shared.sqlite3"
    with Registry(path) as reg:
        scenario.populate(reg)
        stop = threading.Event()

        def rewrite_same() -> None:  # a writer in this process too, rewriting equal values
            while not stop.is_set():
                scenario.rewrite_same(reg)
                time.sleep(0.002)

        with Workers(path) as workers:
            workers.start("flip-writer", seconds=SECONDS + 1)
            for _ in range(READER_PROCESSES):
                workers.start("flip-reader")
            workers.wait_ready()
            same = threading.Thread(target=rewrite_same, daemon=True)
            same.start()
            try:
                writer, *readers = workers.results()
            finally:
                stop.set()
                same.join(10)

    assert writer["writes"] > 50
    seen = set()
    for result in readers:
        assert result["errors"] == []
        assert min(result["calls"]) > 200
        seen |= {(appid, host, int(port)) for appid, host, port in
                 (key.split("|") for key in result["seen"])}
    assert seen == scenario.VALID, seen  # nothing else, and both configurations were read


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_unregistered_midway_across_processes(tmp_path):
    path = tmp_path / "shared.sqlite3"
    with Registry(path) as reg, Workers(path) as workers:
        scenario.populate(reg)
        for _ in range(READER_PROCESSES):
            workers.start("timed-reader")
        workers.wait_ready()
        time.sleep(SECONDS / 2)
        before = time.monotonic()
        with reg.transaction() as txn:
            txn.delete_class(CALC_CLSID)
            txn.delete_class(scenario.REMOTE_CLSID)
        after = time.monotonic()
        records = [r for result in workers.results() for r in result["records"]]

    visible = after + DEFAULT_REFRESH_INTERVAL  # other processes see a commit within this
    early = [o for s, e, o in records if e < before]
    late = [o for s, e, o in records if s > visible]
    between = [o for s, e, o in records if e >= before and s <= visible]
    assert len(early) > 100 and len(late) > 100, (len(early), len(late))
    assert set(early) == {"ok"}
    assert set(late) == {hresult.REGDB_E_CLASSNOTREG}
    assert set(between) <= {"ok", hresult.REGDB_E_CLASSNOTREG}
