"""Every example in the README and docs/ runs as written: each file's ```sh and ```python blocks
in order, as one shell session in a fresh folder with a registry of its own. A block marked
``<!-- example: not run (why) -->`` on the line before it is left out."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.support import subprocess_env
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^(?P<marker><!-- example: not run[^\n]*-->\n)?```(?P<lang>sh|python)\n"
                   r"(?P<body>.*?)^```$", re.S | re.M)
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]

# What each file's examples say they print.
EXPECTED = {
    "README.md": ["5\n", "ZeroDivisionError: 1 / 0", "5\n"],
    "docs/settings.md": ["5\n"],
}


def blocks(text: str) -> list[tuple[str, str]]:
    return [(m["lang"], m["body"]) for m in BLOCK.finditer(text) if not m["marker"]]


def as_script(found: list[tuple[str, str]]) -> str:
    lines = ["set -euo pipefail"]
    for number, (lang, body) in enumerate(found):
        if lang == "sh":
            lines.append(body)
        else:
            end = f"PYDCOM_EXAMPLE_{number}"
            lines.append(f"{shlex.quote(sys.executable)} - <<'{end}'\n{body}{end}")
    return "\n".join(lines) + "\n"


def stop_group(session: subprocess.Popen) -> None:
    """SIGTERM to the session's process group, then wait (bounded) until all of it is gone, so
    that the next document's services find their addresses free."""
    try:
        os.killpg(session.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    session.wait(10)

    def group_gone() -> bool:
        try:
            os.killpg(session.pid, 0)
        except ProcessLookupError:
            return True
        return False

    if not poll_until(group_gone, 15, interval=0.05):
        os.killpg(session.pid, signal.SIGKILL)


def test_the_documents_have_examples():
    assert sum(len(blocks((ROOT / doc).read_text())) for doc in DOCS) >= 6
    assert "docs/automation.md" in DOCS and "docs/settings.md" in DOCS


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS)
def test_examples_run_as_written(doc, tmp_path):
    found = blocks((ROOT / doc).read_text())
    if not found:
        return  # a document with no examples: nothing to run, as the test above counts
    env = subprocess_env(PYDCOM_REGISTRY=str(tmp_path / "registry.sqlite3"),
                         PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                               os.environ.get("PATH", "")]))
    # Files, not pipes: the services started in the background keep their output open.
    with open(tmp_path / "out", "w+") as out_file, open(tmp_path / "err", "w+") as err_file:
        session = subprocess.Popen(["bash", "-c", as_script(found)], cwd=tmp_path, env=env,
                                   stdout=out_file, stderr=err_file, start_new_session=True)
        try:
            session.wait(120)
        finally:  # the shell, the services it left running, and their servers
            stop_group(session)
        out, err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert session.returncode == 0, f"{doc}:\n{out}\n{err}"
    position = 0
    for expected in EXPECTED.get(doc, []):
        position = out.find(expected, position)
        assert position >= 0, f"{doc} did not print {expected!r}:\n{out}"
        position += len(expected)
