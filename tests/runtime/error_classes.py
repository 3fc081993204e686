"""A class whose methods fail on request, for the error information tests (MS-DCOM 2.2.21):
hosted by a service in a surrogate, so it is importable by path."""

from __future__ import annotations

import uuid

from pydcom import hresult, ndr
from pydcom.examples.calculator import IntResponse
from pydcom.hresult import ComError
from pydcom.runtime.interfaces import ComInterface, Method, register_interface
from pydcom.wire.orpc import ORPCTHIS

FAULTY_CLSID = uuid.UUID("0fdf4493-8e8d-4a25-86eb-4218600d9425")
IFAULTY_IID = uuid.UUID("b64b44fc-7f29-4065-87e3-fe3df6085155")

# What Fail(code) does, by code.
SUCCEED, VALUE_ERROR, COMERROR_TEXT, COMERROR_BARE, OWN_ERROR, LONG_MESSAGE = range(6)
LONG_LENGTH = 100_000


class CodeRequest(ndr.Params):
    orpcthis = ndr.ref(ORPCTHIS)
    code = ndr.u32


class TextRequest(ndr.Params):
    orpcthis = ndr.ref(ORPCTHIS)
    text = ndr.ref(ndr.wstring)


IFaulty = register_interface(ComInterface("IFaulty", IFAULTY_IID, (
    Method("Fail", 3, CodeRequest, IntResponse),  # numbers only: the one-struct codec
    Method("Refuse", 4, TextRequest, IntResponse),  # a string: the declared codec
)))


class SampleError(Exception):
    """An exception of a module of the application, named with its module."""


class Faulty:
    _com_interfaces_ = [IFaulty]
    _reg_threading_ = "Both"

    def Fail(self, code: int) -> int:
        if code == VALUE_ERROR:
            raise ValueError("bad input")
        if code == COMERROR_TEXT:
            raise ComError(hresult.E_ACCESSDENIED, "only the owner may do this")
        if code == COMERROR_BARE:
            raise ComError(hresult.E_ACCESSDENIED)
        if code == OWN_ERROR:
            raise SampleError("the sample failed")
        if code == LONG_MESSAGE:
            raise ValueError("x" * LONG_LENGTH)
        return 42

    def Refuse(self, text: str) -> int:
        raise ValueError(f"refused {text!r}")


class ApartmentFaulty(Faulty):
    """Called on the exporter's apartment thread: the failure crosses back to the caller."""
    _reg_threading_ = "Apartment"
