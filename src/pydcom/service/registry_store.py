"""The service's view of the class registry: each lookup reads one immutable snapshot."""

from __future__ import annotations

import uuid

from pydcom.registry import Registry
from pydcom.runtime.permissions import MACHINE_DEFAULTS, effective
from pydcom.service.classes import ClassEntry


class RegistryClassStore:
    """Classes this machine serves, from the registry: a Python import path is hosted by a
    surrogate, a command line runs as its own server."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def lookup(self, clsid: uuid.UUID) -> ClassEntry | None:
        snapshot = self.registry.snapshot()
        entry = snapshot.classes.get(clsid)
        if entry is None or not (entry.inproc_server or entry.local_server):
            return None
        appid = snapshot.appids.get(entry.appid) if entry.appid else None
        machine = snapshot.appids.get(MACHINE_DEFAULTS)
        return ClassEntry(entry.clsid, python=entry.inproc_server, command=entry.local_server,
                          name=entry.name, interfaces=tuple(entry.interfaces),
                          threading=entry.threading_model.value,
                          python_path=entry.python_path,
                          launch_permission=effective(
                              appid.launch_permission if appid else None,
                              machine.launch_permission if machine else None),
                          access_permission=effective(
                              appid.access_permission if appid else None,
                              machine.access_permission if machine else None))
