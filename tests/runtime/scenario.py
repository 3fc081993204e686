"""The registry the concurrency tests fight over, shared by the thread test and the processes.

An in-process class (by ProgID) and a remote-only class (by ProgID, no ServerInfo) whose target
comes from ProgID -> CLSID -> class -> AppID -> RemoteServerName. Two valid configurations
differ in *several* entries at once, so a reader that mixed two states would see a pair that
belongs to neither.
"""

from __future__ import annotations

import time
import uuid

import pydcom
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, Registry
from pydcom.runtime.coclass import coclass_entry
from tests.runtime.sample_classes import CALC_CLSID, IID_ICALC, Calculator

REMOTE_CLSID = uuid.UUID("0f8e5c2a-8888-4a2b-9c3d-000000000001")
APP_1 = uuid.UUID("0f8e5c2a-8888-4a2b-9c3d-0000000000a1")
APP_2 = uuid.UUID("0f8e5c2a-8888-4a2b-9c3d-0000000000a2")

# configuration -> (class's AppID, APP_1's RemoteServerName, APP_2's RemoteServerName)
CONFIGS = {
    "X": (APP_1, "hostb", "hostc[2000]"),
    "Y": (APP_2, "hostd", "127.0.0.2[4135]"),
}
# what a consistent reader can see: (AppID, host, port) of the configuration it read
VALID = {(str(APP_1), "hostb", 135), (str(APP_2), "127.0.0.2", 4135)}


def write_config(registry: Registry, name: str) -> None:
    """One transaction: the remote class and both AppIDs of configuration ``name``."""
    appid, first, second = CONFIGS[name]
    with registry.transaction() as txn:
        txn.put_class(ClassEntry(REMOTE_CLSID, progid="Test.Remote", appid=appid))
        txn.put_appid(AppIdEntry(APP_1, remote_server_name=first))
        txn.put_appid(AppIdEntry(APP_2, remote_server_name=second))


def rewrite_same(registry: Registry) -> None:
    """Write the in-process class again with the very same values."""
    registry.register(coclass_entry(Calculator))


def populate(registry: Registry) -> None:
    rewrite_same(registry)
    write_config(registry, "X")


def one_inproc(i: int) -> bool:
    """An in-process activation by ProgID, its call, its release."""
    obj = pydcom.create_instance("Test.Calculator", pydcom.CLSCTX.ALL)
    try:
        return obj.Add(i, 1) == i + 1
    finally:
        obj.release()


def one_remote() -> tuple[str, str, int]:
    """A remote resolution with no ServerInfo, as the recording activator saw it."""
    plan = pydcom.get_class_object("Test.Remote", pydcom.CLSCTX.ALL).plan
    return (str(plan.appid.appid), plan.server.host, plan.server.port)


def timed_attempt(i: int) -> tuple[float, float, object]:
    """One activation by CLSID (in-process on odd i, the remote class object on even i) as
    (start, end, outcome): "ok", the HRESULT of a ComError, or the repr of anything else."""
    began = time.monotonic()
    try:
        if i % 2:
            pydcom.create_instance(CALC_CLSID, iid=IID_ICALC).release()
        else:
            pydcom.get_class_object(REMOTE_CLSID)
        outcome: object = "ok"
    except ComError as exc:
        outcome = exc.hresult
    except Exception as exc:  # noqa: BLE001 - reported, judged by the test
        outcome = repr(exc)
    return began, time.monotonic(), outcome
