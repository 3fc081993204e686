"""Activation services for the automation wire tests, on loopback addresses of their own; each is
closed when its module is done, even when a test fails (the service stops the surrogates it
started, by their pid)."""

from __future__ import annotations

import contextlib

from pydcom.examples.calculator import CALC_CLSID
from pydcom.runtime.client import ClientRuntime
from pydcom.service.classes import ClassEntry, StaticClassStore

from ..support import running_service as service_running
from .interop_classes import IPLAIN_IID, PLAIN_CLSID, WORKBENCH_CLSID

CLASSES = StaticClassStore([
    ClassEntry(CALC_CLSID, python="pydcom.examples.calculator:Calculator"),
    ClassEntry(WORKBENCH_CLSID, python="tests.automation.interop_classes:Workbench"),
    ClassEntry(PLAIN_CLSID, python="tests.automation.interop_classes:Plain",
               interfaces=(IPLAIN_IID,)),
])


def running_service(host: str, port: int = 0, classes=CLASSES, **options):
    """``tests.support.running_service``, serving these tests' classes by default."""
    return service_running(classes, host, port, **options)


@contextlib.contextmanager
def client_runtime(local_service: str | None = None):
    """A client runtime of its own; ``local_service`` is the service its exporter (for objects
    it passes as arguments) joins."""
    runtime = ClientRuntime(connect_timeout=2, local_service=local_service)
    try:
        yield runtime
    finally:
        runtime.close()
