"""The class registry: CLSIDs, ProgIDs and AppIDs in SQLite, read through immutable snapshots.

    from pydcom import registry
    reg = registry.Registry("/path/registry.sqlite3")   # or registry.default_registry()
    reg.register(registry.ClassEntry(clsid, progid="Demo.Calculator", inproc_server="demo:Calc"))
    snap = reg.snapshot()          # immutable; nothing in it ever changes
    snap.classes[snap.clsid_of("Demo.Calculator")]

This layer imports only ``pydcom.hresult`` and ``pydcom.guid``.
"""

from pydcom.registry.default import (
    ENV_REGISTRY,
    default_path,
    default_registry,
    open_registry,
    use,
)
from pydcom.registry.model import (
    AppIdEntry,
    ClassEntry,
    ThreadingModel,
    check_import_path,
    check_progid,
    parse_machine_name,
)
from pydcom.registry.snapshot import Snapshot
from pydcom.registry.store import DEFAULT_BUSY_TIMEOUT, Registry, Transaction
from pydcom.registry.toml_io import dumps as to_toml
from pydcom.registry.toml_io import loads as from_toml

__all__ = [
    "DEFAULT_BUSY_TIMEOUT", "ENV_REGISTRY", "AppIdEntry", "ClassEntry", "Registry", "Snapshot",
    "ThreadingModel", "Transaction", "check_import_path", "check_progid", "default_path",
    "default_registry", "from_toml", "open_registry", "parse_machine_name", "to_toml", "use",
]
