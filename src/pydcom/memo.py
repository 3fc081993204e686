"""Bounded memo tables for values worked out from bytes that repeat on the wire (the same
interface ids, bindings, activation properties from one client).

A table forgets everything when it is full, and never keeps what was worked out from a large
input: a peer that sends endless distinct or huge inputs costs at most ``limit`` small entries.
Readers need no lock: a dict's get and set are each atomic, and a lost entry is only recomputed.
"""

from __future__ import annotations

from typing import Any

MAX_KEPT_SIZE = 4096  # bytes of input (or entries) above which a result is not kept


class Memo(dict):
    """A dict from input to result; ``keep`` stores within the bounds."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: Any, value: Any, size: int = 0) -> Any:
        """Store ``value`` under ``key`` unless its input was over MAX_KEPT_SIZE; returns it."""
        if size <= MAX_KEPT_SIZE:
            if len(self) >= self.limit:
                self.clear()
            self[key] = value
        return value
