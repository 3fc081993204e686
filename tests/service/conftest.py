"""Activation services on loopback addresses standing for machines; always closed, even when a
test fails (the service stops the server processes it started, by their pid)."""

from __future__ import annotations

import pytest

from pydcom.runtime.client import ClientRuntime
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.service.service import Service

from .sample_classes import APARTMENT_CLSID, CALC_CLSID

CLASSES = StaticClassStore([
    ClassEntry(CALC_CLSID, python="tests.service.sample_classes:Calculator"),
    ClassEntry(APARTMENT_CLSID, python="tests.service.sample_classes:ApartmentCalculator"),
])


@pytest.fixture
def make_service():
    started: list[Service] = []

    def make(host: str = "127.0.0.2", port: int = 0, classes=CLASSES, **options) -> Service:
        service = Service(classes, [host], port, **options)
        started.append(service)
        return service.start()

    try:
        yield make
    finally:
        for service in started:
            service.close()


@pytest.fixture
def runtime():
    rt = ClientRuntime(connect_timeout=2)
    try:
        yield rt
    finally:
        rt.close()
