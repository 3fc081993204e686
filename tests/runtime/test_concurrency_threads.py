"""KB 256149, by threads: 64 readers activate without a ServerInfo while writers rewrite the
very entries they read. Every answer must be true of one committed state of the registry."""

from __future__ import annotations

import itertools
import sys
import threading
import time

import pytest

from pydcom import hresult, registry
from pydcom.registry import Registry
from pydcom.runtime import out_of_process
from tests.runtime import scenario
from tests.runtime.sample_classes import CALC_CLSID
from tests.runtime.support import RecordingActivator

READERS = 64
CALLS = 3000  # per reader
MIN_WRITES = 25  # per writer thread, while the readers run


@pytest.fixture(autouse=True)
def short_switch_interval():
    """Hand the GIL round more often, so writer threads get their turns among 64 readers."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    yield
    sys.setswitchinterval(previous)


def run_threads(targets: list, timeout: float) -> None:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads still running after the time bound"


@pytest.mark.timeout(180)
def test_readers_see_only_whole_configurations_while_writers_rewrite_them(reg, tmp_path):
    scenario.populate(reg)
    registry.use(reg)
    out_of_process.set_activator(RecordingActivator())
    other = Registry(reg.path)  # a second owner of the file: its commits reach reg by polling
    stop = threading.Event()
    start = threading.Barrier(READERS + 3)
    failures: list[str] = []
    seen: set[tuple] = set()
    inproc_ok = itertools.count()
    calls = itertools.count()
    writes = {"same": 0, "flip": 0, "other": 0}
    give_up = time.monotonic() + 100

    def enough() -> bool:  # every writer has committed often while readers were reading
        return min(writes.values()) >= MIN_WRITES or time.monotonic() > give_up

    def reader() -> None:
        start.wait()
        mine: set[tuple] = set()
        i = 0
        while i < CALLS // 2 or not enough():
            i += 1
            next(calls)
            try:
                if scenario.one_inproc(i):
                    next(inproc_ok)
                mine.add(scenario.one_remote())
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                failures.append(repr(exc))
        seen.update(mine)

    def writer(kind: str, owner: Registry, configs) -> None:
        start.wait()
        for config in itertools.cycle(configs):
            if stop.is_set():
                return
            if kind == "same":
                scenario.rewrite_same(owner)
            else:
                scenario.write_config(owner, config)
            writes[kind] += 1
            time.sleep(0.001)  # pace: SQLite's busy handler would let one writer hog the lock

    writers = [lambda: writer("same", reg, [None]), lambda: writer("flip", reg, "XY"),
               lambda: writer("other", other, "YX")]
    writer_threads = [threading.Thread(target=w, daemon=True) for w in writers]
    for thread in writer_threads:
        thread.start()
    try:
        run_threads([reader] * READERS, timeout=150)
    finally:
        stop.set()
        for thread in writer_threads:
            thread.join(10)
        other.close()

    assert failures == []
    total = next(calls)
    assert total >= READERS * CALLS // 2 and next(inproc_ok) == total  # every one succeeded
    assert seen <= scenario.VALID
    assert seen == scenario.VALID, "both configurations should have been read"
    assert min(writes.values()) >= MIN_WRITES, writes


@pytest.mark.timeout(180)
def test_unregistered_midway_before_succeeds_after_is_class_not_registered(reg):
    scenario.populate(reg)
    registry.use(reg)
    out_of_process.set_activator(RecordingActivator())
    start = threading.Barrier(READERS + 1)
    progress = itertools.count()
    midway = threading.Event()
    records: list[tuple[float, float, object]] = []

    def reader(n: int) -> None:
        start.wait()
        mine = []
        for i in range(CALLS):
            mine.append(scenario.timed_attempt(i))
            if next(progress) == READERS * CALLS * 2 // 5:
                midway.set()
        records.extend(mine)

    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(READERS)]
    for thread in threads:
        thread.start()
    start.wait()
    assert midway.wait(120)
    before = time.monotonic()
    with reg.transaction() as txn:
        txn.delete_class(CALC_CLSID)
        txn.delete_class(scenario.REMOTE_CLSID)
    after = time.monotonic()
    deadline = time.monotonic() + 150
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads)

    assert len(records) == READERS * CALLS
    early = [o for s, e, o in records if e < before]
    late = [o for s, e, o in records if s > after]
    during = [o for s, e, o in records if e >= before and s <= after]
    assert early and late, (len(early), len(late))
    assert set(early) == {"ok"}
    assert set(late) == {hresult.REGDB_E_CLASSNOTREG}
    assert set(during) <= {"ok", hresult.REGDB_E_CLASSNOTREG}
