"""Another account, for the tests of a registry it may read but not write.

The tests run as root, whom the kernel lets write any file. The other account is root without
capabilities: ``setpriv`` empties the bounding and inheritable sets before it runs the command,
so the kernel checks that process's file access by the mode bits, as for any account, while it
can still run this Python (which may live in root's home, where an account like nobody cannot).
``machine_folder`` makes a folder and registry that belong to nobody (65534): for that process
they are another owner's, as a machine-wide registry of root's is for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from pydcom.registry import ClassEntry, Registry
from tests.runtime.support import ROOT, subprocess_env

OWNER = 65534  # nobody: the registry is never the other account's own
AS_OTHER_ACCOUNT = ("setpriv", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--")

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="plays an account that cannot write by running setpriv as root")


def machine_registry(tmp_path: Path, case: str, *entries: ClassEntry) -> Path:
    """A registry holding ``entries`` that the other account can read but not write:
    ``case`` "folder" (file rw-r--r--, folder rwxr-xr-x, as root keeps one) or "file"
    (file r--r--r-- in a folder everyone may write)."""
    folder = tmp_path / "machine"
    folder.mkdir()
    path = folder / "registry.sqlite3"
    with Registry(path) as reg:
        for entry in entries:
            reg.register(entry)
    for item in (folder, path):
        os.chown(item, OWNER, OWNER)
    path.chmod(0o644 if case == "folder" else 0o444)
    folder.chmod(0o755 if case == "folder" else 0o777)
    return path


def popen_as_other(argv: Sequence[str], **options) -> subprocess.Popen:
    """Start ``argv`` (``python`` means this interpreter) as the other account."""
    argv = [sys.executable if arg == "python" else arg for arg in argv]
    return subprocess.Popen([*AS_OTHER_ACCOUNT, *argv], env=subprocess_env(), cwd=ROOT,
                            text=True, **options)
