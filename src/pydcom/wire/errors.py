"""Errors of the wire layer."""

from __future__ import annotations


class WireError(ValueError):
    """Bytes that are not a well-formed DCOM structure (a malformed OBJREF, DUALSTRINGARRAY...)."""
