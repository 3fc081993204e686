"""Settings for the whole suite.

The processes tests start (services, their server processes) find this checkout's pydcom and
the tests' sample classes on PYTHONPATH, as a deployment's would; no process relies on the
folder it was started in."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src"), str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])

# Hypothesis fails an example that runs longer than 200 ms by default: an assertion about the
# machine's speed, which a loaded machine breaks (a 2 s stall failed test_objref). The suite
# checks outcomes; pytest-timeout bounds every test.
settings.register_profile("pydcom", deadline=None)
settings.load_profile("pydcom")
