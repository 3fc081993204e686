"""MULTI_QI: one result per interface asked of a new object (CoCreateInstanceEx)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydcom import hresult
from pydcom.runtime.unknown import Unknown


@dataclass(frozen=True, slots=True)
class MultiQI:
    """The answer for one IID: ``object`` holds one reference, or is None with a failure
    ``hresult`` (E_NOINTERFACE when the object lacks the interface)."""

    iid: uuid.UUID
    hresult: int
    object: Unknown | None = None

    @property
    def ok(self) -> bool:
        return self.object is not None


class MultiQIResults(tuple):
    """The MultiQI of each requested IID, in order; ``hresult`` is the call's own result:
    S_OK when every interface was found, CO_S_NOTALLINTERFACES when only some were."""

    @property
    def hresult(self) -> int:
        return hresult.S_OK if all(r.ok for r in self) else hresult.CO_S_NOTALLINTERFACES
