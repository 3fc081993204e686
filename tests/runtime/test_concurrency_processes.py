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
from tests.runtime.activation_worker import ENOUGH
from tests.runtime.sample_classes import CALC_CLSID
from tests.runtime.support import subprocess_env
from tests.support import read_line

READER_PROCESSES = 3
THREADS = 4
SECONDS = 2.0
SECONDS_BOUND = 40.0  # the timed readers' limit: only a broken run reaches it


class Workers:
    """Child processes running activation_worker; all stopped by pid when the block ends."""

    def __init__(self, path) -> None:
        self.env = subprocess_env(**{registry.ENV_REGISTRY: str(path)})
        self.procs: list[subprocess.Popen] = []

    def start(self, mode: str, threads: int = THREADS, seconds: float = SECONDS) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.runtime.activation_worker", mode, str(threads),
             str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=self.env)
        self.procs.append(proc)

    def wait_for(self, word: str, timeout: float = 60) -> None:
        """Until every worker has said ``word`` (each says it on a line of its own)."""
        for proc in self.procs:
            line = read_line(proc, timeout)
            assert line.strip() == word, (line, proc.stderr.read() if proc.poll() else "")

    def tell(self, line: str) -> None:
        for proc in self.procs:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()

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
            for stream in (proc.stdin, proc.stdout, proc.stderr):
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
            workers.wait_for("ready")
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
            workers.start("timed-reader", seconds=SECONDS_BOUND)
        workers.wait_for("ready")
        workers.wait_for("early")  # each has made ENOUGH activations
        before = time.monotonic()
        with reg.transaction() as txn:
            txn.delete_class(CALC_CLSID)
            txn.delete_class(scenario.REMOTE_CLSID)
        after = time.monotonic()
        visible = after + DEFAULT_REFRESH_INTERVAL  # other processes see a commit within this
        workers.tell(repr(visible))  # each stops when ENOUGH have started after this moment
        records = [r for result in workers.results(SECONDS_BOUND + 20) for r in result["records"]]

    early = [o for s, e, o in records if e < before]
    late = [o for s, e, o in records if s > visible]
    between = [o for s, e, o in records if e >= before and s <= visible]
    assert len(early) >= ENOUGH and len(late) >= ENOUGH, (len(early), len(late))
    assert set(early) == {"ok"}
    assert set(late) == {hresult.REGDB_E_CLASSNOTREG}
    assert set(between) <= {"ok", hresult.REGDB_E_CLASSNOTREG}
