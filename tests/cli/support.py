"""Run ``python -m pydcom`` from this worktree's src, against a registry in a temp folder."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydcom.registry import Registry, Snapshot
from tests.runtime.support import subprocess_env


@dataclass
class Result:
    code: int
    out: str
    err: str


def pydcom_cli(*args: str, registry: Path | None = None, stdin: str | None = None,
               prefix: Sequence[str] = (), **env: str | None) -> Result:
    """``pydcom ARGS``, run through ``prefix`` (such as setpriv) if given; ``env`` sets
    environment variables, or removes those given as None."""
    argv = [*prefix, sys.executable, "-m", "pydcom"]
    if registry is not None:
        argv += ["--registry", str(registry)]
    done = subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True,
                          env=subprocess_env(**env), timeout=60)
    return Result(done.returncode, done.stdout, done.stderr)


def state(path: Path) -> Snapshot:
    with Registry(path) as reg:
        return reg.snapshot()


def assert_refused(result: Result, *needles: str, status: int = 2) -> None:
    """Exit status 2 (the command line is wrong) and exactly one line on stderr, containing
    each needle."""
    assert result.code == status, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], lines[0]


def assert_failed(result: Result, *needles: str) -> None:
    """Exit status 1 (the command could not be done) and exactly one line on stderr."""
    assert_refused(result, *needles, status=1)


def stop(process: subprocess.Popen) -> tuple[str, str]:
    """SIGTERM to a process the test started (by its pid), a bounded wait, SIGKILL after it;
    what it wrote to its pipes, if it had any."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out or "", err or ""
