"""Classes the runtime and CLI tests activate in process."""

from __future__ import annotations

import uuid

import pydcom
from pydcom import hresult

CALC_CLSID = uuid.UUID("5e0c3a8e-2f1b-4d7a-9c61-0b8f4e2d7a01")
IID_ICALC = uuid.UUID("5e0c3a8e-2f1b-4d7a-9c61-0b8f4e2d7a02")
IID_OTHER = uuid.UUID("5e0c3a8e-2f1b-4d7a-9c61-0b8f4e2d7a03")
APPID = uuid.UUID("5e0c3a8e-2f1b-4d7a-9c61-0b8f4e2d7a04")


@pydcom.coclass(clsid=CALC_CLSID, progid="Test.Calculator.1",
                version_independent_progid="Test.Calculator", threading="both",
                interfaces=[IID_ICALC, pydcom.IID_IDispatch], appid=APPID)
class Calculator:
    """Adds numbers."""

    created = 0

    def __init__(self) -> None:
        Calculator.created += 1
        self.total = 0

    def Add(self, a: int, b: int) -> int:
        return a + b


class Plain:
    """No @coclass: registered by hand with --clsid and --python."""

    def Ping(self) -> str:
        return "pong"


class Failing:
    def __init__(self) -> None:
        raise RuntimeError("cannot start")


class Refusing:
    def __init__(self) -> None:
        raise pydcom.ComError(hresult.E_ACCESSDENIED, "not for you")
