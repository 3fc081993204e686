"""A module whose import fails, as an in-process server that cannot start."""

raise RuntimeError("this module refuses to import")
