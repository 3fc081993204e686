"""Run every bench/bench_*.py in turn, each in its own process; exit non-zero if any failed.

    python bench/run_all.py [--quick] [--seconds S] [--timeout 1800]

--seconds S is passed to each script whose argparse takes --seconds. --quick is passed to each
script that takes --quick; a script that takes only --seconds gets --seconds 0.5 instead
(unless --seconds is given). Which options a script takes is read from its source (its
add_argument calls), without running it. Benchmarks are not tests: nothing here checks figures.
bench/peers.py, the baselines alone, is not run on its own: bench_automation.py measures the same
peers in each of its rounds. `make bench` runs this with no options, in about four minutes.
"""

from __future__ import annotations

import argparse
import ast
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
QUICK_SECONDS = 0.5


def options(script: Path) -> set[str]:
    """The option strings of the script's add_argument(...) calls."""
    found = set()
    for node in ast.walk(ast.parse(script.read_text(), str(script))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            found.update(arg.value for arg in node.args
                         if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return found


def command(script: Path, quick: bool, seconds: float | None) -> list[str]:
    accepted = options(script)
    cmd = [sys.executable, str(script)]
    if quick and "--quick" in accepted:
        cmd.append("--quick")
    if "--seconds" in accepted:
        if seconds is not None:
            cmd += ["--seconds", str(seconds)]
        elif quick and "--quick" not in accepted:
            cmd += ["--seconds", str(QUICK_SECONDS)]
    return cmd


def run(cmd: list[str], timeout: float) -> int:
    """Run to completion; past the timeout, interrupt it (so its finally blocks stop its
    servers), then kill it, by its pid."""
    proc = subprocess.Popen(cmd, cwd=BENCH.parent)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"timed out after {timeout:g} s; interrupting", flush=True)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
        return -1
    finally:
        if proc.poll() is None:  # interrupted ourselves (Ctrl-C): take the child down too
            proc.kill()
            proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("--seconds", type=float, help="passed to scripts that take --seconds")
    parser.add_argument("--timeout", type=float, default=1800, help="per script, seconds")
    args = parser.parse_args()
    failed = []
    for script in sorted(BENCH.glob("bench_*.py")):
        cmd = command(script, args.quick, args.seconds)
        print(f"\n######## {' '.join([script.name] + cmd[2:])}", flush=True)
        start = time.monotonic()
        code = run(cmd, args.timeout)
        print(f"######## {script.name}: exit {code}, {time.monotonic() - start:.0f} s", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    print("\nall benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
