"""The whole suite: the processes tests start (services, their server processes) find this
checkout's pydcom and the tests' sample classes on PYTHONPATH, as a deployment's would; no
process relies on the folder it was started in."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src"), str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
