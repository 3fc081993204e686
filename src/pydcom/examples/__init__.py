"""Example classes shipped with pydcom, used by the demo, the docs and the benchmarks."""
