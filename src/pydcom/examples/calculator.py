"""Demo.Calculator: the example automation class (``make demo``, docs/automation.md).

    pydcom register --python pydcom.examples.calculator:Calculator     # from @coclass
    calc = pydcom.dispatch("Demo.Calculator", machine="127.0.0.2[4135]")
    calc.Add(2, 3)            # 5
    calc.Memory = 7           # a property
    calc.Divide(1, 0)         # DispatchError: DISP_E_EXCEPTION, scode DISP_E_DIVBYZERO
    calc.Echo([1, "a", 2.5])  # any VARIANT comes back as it went
    child = calc.Clone()      # a new object, exported; the client gets a proxy

Its objects are served through IDispatch and also through ICalculator, an interface declared in
NDR (``ICalculator``), so that the same method can be called late-bound and early-bound.
"""

from __future__ import annotations

import os
import uuid

from pydcom import ndr
from pydcom.automation.variant import Variant
from pydcom.runtime.coclass import coclass
from pydcom.runtime.interfaces import ComInterface, Method, register_interface
from pydcom.wire.ids import IID_IDispatch
from pydcom.wire.orpc import ORPCTHAT, ORPCTHIS

CALC_CLSID = uuid.UUID("5d3a1c9e-2f48-4b6a-9e0d-7c1b2a3f4e51")
CALC_PROGID = "Demo.Calculator"
ICALCULATOR_IID = uuid.UUID("5d3a1c9e-2f48-4b6a-9e0d-7c1b2a3f4e53")


class PairRequest(ndr.Params):
    """[in] long a, [in] long b (after the implicit ORPCTHIS, MS-DCOM 3.2.4.2)."""
    orpcthis = ndr.ref(ORPCTHIS)
    a = ndr.i32
    b = ndr.i32


class IntResponse(ndr.Params):
    """[out, retval] long* result, then the HRESULT (MS-DCOM 3.2.4.2)."""
    orpcthat = ndr.ref(ORPCTHAT)
    result = ndr.ref(ndr.i32)
    hr = ndr.HRESULT


class EmptyRequest(ndr.Params):
    """No [in] parameters of its own, the implicit ORPCTHIS only (MS-DCOM 3.2.4.2)."""
    orpcthis = ndr.ref(ORPCTHIS)


ICalculator = register_interface(ComInterface("ICalculator", ICALCULATOR_IID, (
    Method("Add", 3, PairRequest, IntResponse),
    Method("Divide", 4, PairRequest, IntResponse),
    Method("ProcessId", 5, EmptyRequest, IntResponse),
)))


@coclass(CALC_CLSID, CALC_PROGID, name="Demo Calculator", threading="both",
         interfaces=(IID_IDispatch, ICALCULATOR_IID))
class Calculator:
    """Arithmetic, a memory, an echo and a factory of new calculators."""

    def __init__(self) -> None:
        self.Memory = 0

    def Add(self, a: int, b: int) -> int:
        return a + b

    def Subtract(self, a: int, b: int) -> int:
        return a - b

    def Multiply(self, a, b):
        return a * b

    def Divide(self, a, b):
        """a / b for numbers; ZeroDivisionError (DISP_E_EXCEPTION, scode DISP_E_DIVBYZERO) for
        b = 0. Through ICalculator, whole numbers and a whole-number quotient."""
        if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
            if b == 0:
                raise ZeroDivisionError(f"{a} / 0")
            return a // b
        return a / b

    def Echo(self, value: Variant) -> Variant:
        """The VARIANT it was given, unchanged: its type, and its value."""
        return value

    def Clone(self) -> "Calculator":
        """A new calculator with this one's memory."""
        child = Calculator()
        child.Memory = self.Memory
        return child

    def ProcessId(self) -> int:
        return os.getpid()
