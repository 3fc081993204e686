"""Shared by the registry, runtime and CLI tests: temporary registries and a recording activator."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from pydcom import hresult, registry
from pydcom.runtime import machine, out_of_process
from pydcom.runtime.multiqi import MultiQI
from pydcom.runtime.resolve import ActivationPlan

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = Path(__file__).resolve().parents[2]


def subprocess_env(**extra: str | None) -> dict[str, str]:
    """The environment for a child Python that imports this worktree's pydcom and tests;
    ``extra`` sets variables, or removes those given as None."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(ROOT)])
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class RemoteObject:
    """What the recording activator hands out: it remembers the plan that made it."""

    def __init__(self, plan: ActivationPlan, iid: uuid.UUID) -> None:
        self.plan = plan
        self.iid = iid

    def query_interface(self, iid):
        return RemoteObject(self.plan, iid)

    def add_ref(self) -> int:
        return 2

    def release(self) -> int:
        return 0


class RecordingActivator:
    """A RemoteActivator that serves every plan locally and records it (thread-safe)."""

    def __init__(self, missing: Sequence[uuid.UUID] = ()) -> None:
        self.plans: list[ActivationPlan] = []
        self.missing = set(missing)
        self._lock = threading.Lock()

    def get_class_object(self, plan: ActivationPlan, iid: uuid.UUID) -> RemoteObject:
        with self._lock:
            self.plans.append(plan)
        return RemoteObject(plan, iid)

    def create_instance(self, plan: ActivationPlan, iids: Sequence[uuid.UUID]) -> list[MultiQI]:
        with self._lock:
            self.plans.append(plan)
        return [MultiQI(iid, hresult.E_NOINTERFACE) if iid in self.missing
                else MultiQI(iid, hresult.S_OK, RemoteObject(plan, iid)) for iid in iids]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own default registry file, an activator that refuses other processes
    (no test here reaches the network by mistake), the host's machine name."""
    monkeypatch.setenv(registry.ENV_REGISTRY, str(tmp_path / "default-registry.sqlite3"))
    monkeypatch.delenv(machine.ENV_MACHINE_NAME, raising=False)
    registry.use(None)
    previous = out_of_process.set_activator(out_of_process.NoActivator())
    machine.set_machine_name(None)
    yield
    registry.use(None)
    out_of_process.set_activator(previous)
    machine.set_machine_name(None)


@pytest.fixture
def reg(tmp_path):
    """A registry of its own in the test's temporary folder."""
    with registry.Registry(tmp_path / "registry.sqlite3") as opened:
        yield opened
