"""Classes the service tests host in surrogates, with an ORPC interface of their own."""

from __future__ import annotations

import os
import threading
import uuid

from pydcom import ndr
from pydcom.examples.calculator import EmptyRequest, IntResponse, PairRequest
from pydcom.runtime.interfaces import ComInterface, Method, register_interface
from pydcom.wire.orpc import ORPCTHAT, ORPCTHIS, PMInterfacePointer

CALC_CLSID = uuid.UUID("7b3c9e21-5d4a-4f6b-8c1d-2e3f4a5b6c7d")
APARTMENT_CLSID = uuid.UUID("7b3c9e21-5d4a-4f6b-8c1d-2e3f4a5b6c7e")


class PidResponse(ndr.Params):
    orpcthat = ndr.ref(ORPCTHAT)
    pid = ndr.ref(ndr.u32)
    thread = ndr.ref(ndr.u32)
    hr = ndr.HRESULT


class ObjectRequest(ndr.Params):
    orpcthis = ndr.ref(ORPCTHIS)
    machine = ndr.ref(ndr.wstring)


class ObjectResponse(ndr.Params):
    orpcthat = ndr.ref(ORPCTHAT)
    ppObject = ndr.ref(PMInterfacePointer)
    hr = ndr.HRESULT


class CountResponse(ndr.Params):
    orpcthat = ndr.ref(ORPCTHAT)
    count = ndr.ref(ndr.u32)
    hr = ndr.HRESULT


class RelayRequest(ndr.Params):
    orpcthis = ndr.ref(ORPCTHIS)
    other = PMInterfacePointer


ICALC_IID = uuid.UUID("6e5a1b2c-3d4e-4f50-8a61-7b8c9d0e1f20")
ICalc = register_interface(ComInterface("ICalc", ICALC_IID, (
    Method("Add", 3, PairRequest, IntResponse),
    Method("Where", 4, EmptyRequest, PidResponse),
    Method("Live", 6, EmptyRequest, CountResponse),
    Method("Fetch", 5, ObjectRequest, ObjectResponse, {"ppObject": ICALC_IID}),
    Method("Relay", 7, RelayRequest, IntResponse, in_iids={"other": ICALC_IID}),
)))


class Calculator:
    """Free-threaded."""

    _com_interfaces_ = [ICalc]
    _reg_threading_ = "Both"

    def Add(self, a: int, b: int) -> int:
        return a + b

    def Where(self) -> tuple[int, int]:
        return os.getpid(), threading.get_ident() & 0xFFFFFFFF

    def Live(self) -> int:
        """How many objects this server process exports now."""
        from pydcom.runtime.server import current_server
        return current_server().exporter.object_count

    def Relay(self, other) -> int:
        """Call back an object the caller passed in: other.Add(20, 22)."""
        try:
            return other.Add(20, 22)
        finally:
            other.release()

    def Fetch(self, machine: str):
        """Activate a Calculator on another machine and hand its reference back."""
        from pydcom.runtime.scm_client import remote_activate
        from pydcom.registry import parse_machine_name
        runtime = _runtime()
        [(code, proxy)] = remote_activate(runtime, parse_machine_name(machine), CALC_CLSID, [ICalc.iid])
        return proxy


class ApartmentCalculator(Calculator):
    _reg_threading_ = "Apartment"


_shared = None


def _runtime():
    global _shared
    if _shared is None:
        from pydcom.runtime.client import ClientRuntime
        _shared = ClientRuntime()
    return _shared
