"""Machines for end-to-end tests: `pydcom serve` processes on loopback addresses, each with a
registry of its own in which the sample classes are registered. Always stopped by their pid."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from pydcom import registry

from .sample_classes import APARTMENT_CLSID, CALC_CLSID

ROOT = Path(__file__).resolve().parents[2]


def register_samples(path: Path) -> None:
    with registry.Registry(path) as reg:
        reg.register(registry.ClassEntry(CALC_CLSID, name="Calculator",
                                         inproc_server="tests.service.sample_classes:Calculator"))
        reg.register(registry.ClassEntry(
            APARTMENT_CLSID, name="ApartmentCalculator", threading_model="Apartment",
            inproc_server="tests.service.sample_classes:ApartmentCalculator"))


@contextlib.contextmanager
def serve(host: str, tmp_path: Path, *extra: str):
    """A `pydcom serve` process on ``host``, port chosen by the system, taking calls without
    authentication (tests/security covers it); yields "host[port]"."""
    path = tmp_path / f"registry-{host}.sqlite3"
    register_samples(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    process = subprocess.Popen(
        [sys.executable, "-m", "pydcom", "--registry", str(path), "serve", "--bind", host,
         "--port", "0", "--min-auth-level", "none", *extra], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"pydcom serve did not start: {line!r}")
        yield line.split()[-1]
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
