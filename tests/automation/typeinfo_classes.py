"""Sample automation classes whose type information the ITypeInfo tests read: every kind of
member a Python class shows through IDispatch, served from a surrogate process."""

from __future__ import annotations

import uuid

THERMOSTAT_CLSID = uuid.UUID("8b1e4f52-6a3d-4c27-9f10-2d5e7a9c3b61")
DECLARED_CLSID = uuid.UUID("8b1e4f52-6a3d-4c27-9f10-2d5e7a9c3b62")


class Thermostat:
    """A thermostat: a setpoint to read and write, a reading to read only."""

    _dispids_ = {"Reset": 7}  # a DISPID chosen by hand

    unit = "C"  # a plain class attribute: a property that can be put

    def __init__(self) -> None:
        self._setpoint = 20.0
        self.History = []  # a public instance attribute: found when asked for, not described

    @property
    def Setpoint(self) -> float:
        """The temperature aimed at."""
        return self._setpoint

    @Setpoint.setter
    def Setpoint(self, value: float) -> None:
        self._setpoint = value

    @property
    def Reading(self) -> float:
        """The temperature measured."""
        return self._setpoint - 0.5

    def Adjust(self, delta: float, limit: float = 30.0, floor: float = 5.0, *,
               quiet: bool = False) -> float:
        """Move the setpoint by delta, staying between floor and limit."""
        self._setpoint = max(floor, min(limit, self._setpoint + delta))
        return self._setpoint

    def Reset(self) -> None:
        """Back to 20 degrees."""
        self._setpoint = 20.0

    def Log(self, first, *rest) -> str:
        return " ".join(str(x) for x in (first, *rest))

    def _private(self) -> None:  # not a member
        pass


class Declared:
    # pywin32's declarations: exactly these members, one of them read-only.
    _public_methods_ = ["Ping"]
    _public_attrs_ = ["Name", "Serial"]
    _readonly_attrs_ = ["Serial"]

    def __init__(self) -> None:
        self.Name = "declared"
        self.Serial = 42

    def Ping(self, payload):
        return payload

    def Hidden(self) -> None:  # public, but not declared: not a member
        pass
