"""What the activation service needs to know of a class: how to start its server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ClassEntry:
    """A class the service can activate: hosted by a surrogate from a Python import path, or
    served by its own program started from a command line."""

    clsid: uuid.UUID
    python: str | None = None  # package.module:Class
    command: str | None = None  # a local server's command line
    name: str = ""
    interfaces: tuple[uuid.UUID, ...] = ()  # IIDs the objects answer besides their own word
    threading: str | None = None  # the registry's threading model
    python_path: str | None = None  # the folder ``python`` is imported from, if recorded
    # Who may activate it and call its objects (pydcom.runtime.permissions): its AppID's
    # permissions, else the machine's defaults; None lets in everyone the service does.
    launch_permission: tuple[str, ...] | None = None
    access_permission: tuple[str, ...] | None = None


class ClassStore(Protocol):
    def lookup(self, clsid: uuid.UUID) -> ClassEntry | None: ...


class StaticClassStore:
    """A fixed set of classes (an immutable snapshot), for embedding and tests."""

    def __init__(self, entries: list[ClassEntry] | tuple[ClassEntry, ...] = ()) -> None:
        self._entries = {entry.clsid: entry for entry in entries}

    def lookup(self, clsid: uuid.UUID) -> ClassEntry | None:
        return self._entries.get(clsid)
