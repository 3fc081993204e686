"""Classes the automation wire tests activate through a real service (in its surrogate process),
beside the shipped Demo.Calculator (pydcom.examples.calculator)."""

from __future__ import annotations

import uuid

from pydcom import hresult
from pydcom.automation.errors import DispatchError
from pydcom.hresult import ComError

WORKBENCH_CLSID = uuid.UUID("7a0c51d2-6b1e-4f1c-9a4e-2d6f0b3c8e11")
PLAIN_CLSID = uuid.UUID("7a0c51d2-6b1e-4f1c-9a4e-2d6f0b3c8e12")
IPLAIN_IID = uuid.UUID("7a0c51d2-6b1e-4f1c-9a4e-2d6f0b3c8e13")  # declared, no methods of its own

CUSTOM_HRESULT = 0x80040201  # a FACILITY_ITF error of the server's own choosing


class Child:
    """An object a Workbench makes and remembers."""

    def __init__(self, name: str) -> None:
        self.Name = name

    def Hello(self) -> str:
        return f"hello from {self.Name}"


class Workbench:
    """Every argument form IDispatch::Invoke has (MS-OAUT 3.1.4.4)."""

    def __init__(self) -> None:
        self.Memory = 0
        self._children: list[Child] = []

    def Scale(self, value: float, factor: float = 2.0, offset: float = 0.0) -> float:
        return value * factor + offset

    def Describe(self, count: int, flag: bool, ratio: float) -> str:
        return f"{count}|{flag}|{ratio}"

    def Swap(self, a, b):
        """Both arguments by reference: the result, then a's and b's new values."""
        return "swapped", b, a

    def Bump(self, label: str, counter):
        """``counter`` by reference, ``label`` by value."""
        return f"{label}:{counter}", counter + 1

    def Make(self, name: str) -> Child:
        child = Child(name)
        self._children.append(child)
        return child

    def IsMine(self, obj) -> bool:
        """Whether ``obj`` is, as the very same Python object, one this workbench made."""
        return any(obj is child for child in self._children)

    def NameOf(self, obj) -> str:
        return f"{type(obj).__name__}:{obj.Name}"

    def Raise(self, message: str):
        raise ValueError(message)

    def RaiseCom(self):
        raise ComError(CUSTOM_HRESULT, "the widget is jammed")

    def RaiseDispatch(self):
        raise DispatchError("chosen by hand", "Workbench.Source", hresult.E_ACCESSDENIED,
                            help_file="bench.chm", help_context=42)


class Plain:
    """Registered with interfaces=(IPLAIN_IID,): an IID the runtime knows no methods of, so it
    is served as a dual interface (IDispatch's methods under that IID)."""

    def Twice(self, n: int) -> int:
        return 2 * n
