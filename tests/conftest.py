"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import settings

# Hypothesis fails an example that runs longer than 200 ms by default: an assertion about the
# machine's speed, which a loaded machine breaks (a 2 s stall failed test_objref). The suite
# checks outcomes; pytest-timeout bounds every test.
settings.register_profile("pydcom", deadline=None)
settings.load_profile("pydcom")
