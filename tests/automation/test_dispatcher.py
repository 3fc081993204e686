"""IDispatch semantics over Python objects (MS-OAUT 3.1.4.3-3.1.4.4), without the wire: the
Dispatcher answers GetIDsOfNames and Invoke as a Windows server built on DispInvoke would."""

from __future__ import annotations

import pytest

from pydcom import hresult
from pydcom.automation.dispatcher import Dispatcher, coerce
from pydcom.automation.errors import DispatchError
from pydcom.automation.idispatch_wire import (
    DISPATCH_METHOD,
    DISPATCH_PROPERTYGET,
    DISPATCH_PROPERTYPUT,
    DISPATCH_PROPERTYPUTREF,
    DISPID_PROPERTYPUT,
    DISPID_UNKNOWN,
)
from pydcom.automation.members import dispid_of, members_of
from pydcom.automation.variant import VT, Variant
from pydcom.hresult import ComError

CALL = DISPATCH_METHOD | DISPATCH_PROPERTYGET


def I4(n: int) -> Variant:
    return Variant(VT.I4, n)


def BSTR(s: str) -> Variant:
    return Variant(VT.BSTR, s)


MISSING = Variant(VT.ERROR, hresult.DISP_E_PARAMNOTFOUND)


class Sample:
    """A class with every kind of member."""

    limit = 10  # a class attribute: a property

    def __init__(self) -> None:
        self.Memory = 0
        self._hidden = 1
        self._width = 3

    def Add(self, a: int, b: int) -> int:
        return a + b

    def Scale(self, value: float, factor: float = 2.0, offset: float = 0.0) -> float:
        return value * factor + offset

    def Join(self, *parts) -> str:
        return "-".join(str(p) for p in parts)

    def Swap(self, a, b):
        return "swapped", b, a

    def Fail(self) -> None:
        raise ValueError("no good")

    def Refuse(self) -> None:
        raise ComError(hresult.E_ACCESSDENIED, "not you")

    def Divide(self, a: int, b: int) -> float:
        return a / b

    @property
    def Width(self) -> int:
        """The width."""
        return self._width

    @Width.setter
    def Width(self, value: int) -> None:
        self._width = value

    @property
    def Area(self) -> int:
        return self._width * self._width


def ids(d: Dispatcher, *names: str) -> list[int]:
    code, found = d.get_ids_of_names(list(names))
    assert code == hresult.S_OK, hresult.name_of(code)
    return found


def invoke(d: Dispatcher, name: str, flags: int, *args: Variant, named=(), **kw):
    return d.invoke(ids(d, name)[0], flags, list(args), named, **kw)


def test_names_are_case_insensitive_and_dispids_stable():
    a, b = Dispatcher(Sample()), Dispatcher(Sample())
    assert ids(a, "add") == ids(a, "ADD") == ids(b, "Add") == [dispid_of("Add")]
    assert len({m.dispid for m in members_of(Sample)}) == len(list(members_of(Sample)))
    assert all(m.dispid > 0 for m in members_of(Sample))


def test_unknown_names_get_dispid_unknown_each():
    d = Dispatcher(Sample())
    assert d.get_ids_of_names(["Nope", "x"]) == (hresult.DISP_E_UNKNOWNNAME,
                                                 [DISPID_UNKNOWN, DISPID_UNKNOWN])
    code, found = d.get_ids_of_names(["Scale", "factor", "bogus", "VALUE"])
    assert code == hresult.DISP_E_UNKNOWNNAME
    assert found == [dispid_of("Scale"), 1, DISPID_UNKNOWN, 0]
    assert d.get_ids_of_names(["_hidden"])[0] == hresult.DISP_E_UNKNOWNNAME
    assert d.get_ids_of_names(["__init__"])[0] == hresult.DISP_E_UNKNOWNNAME


def test_method_call_takes_arguments_last_first():
    d = Dispatcher(Sample())
    # rgvarg holds the last argument first: Scale(3, 4) is [4, 3].
    out = invoke(d, "Scale", DISPATCH_METHOD, Variant(VT.R8, 4.0), Variant(VT.R8, 3.0))
    assert out.hresult == hresult.S_OK and out.result == Variant(VT.R8, 12.0)


def test_named_and_optional_arguments():
    d = Dispatcher(Sample())
    scale, factor, offset = ids(d, "Scale", "factor", "offset")
    # Scale(5, offset=1): the named argument first, then the positional ones.
    out = d.invoke(scale, DISPATCH_METHOD, [Variant(VT.R8, 1.0), Variant(VT.R8, 5.0)], [offset])
    assert out.result == Variant(VT.R8, 11.0)
    # Scale(5, <left out>, 1): the default stands in for the missing one.
    out = d.invoke(scale, DISPATCH_METHOD, [Variant(VT.R8, 1.0), MISSING, Variant(VT.R8, 5.0)])
    assert out.result == Variant(VT.R8, 11.0)
    out = d.invoke(scale, DISPATCH_METHOD, [Variant(VT.R8, 5.0)])
    assert out.result == Variant(VT.R8, 10.0)


def test_bad_argument_counts_and_names():
    d = Dispatcher(Sample())
    add = ids(d, "Add")[0]
    assert d.invoke(add, DISPATCH_METHOD, [I4(1)]).hresult == hresult.DISP_E_BADPARAMCOUNT
    assert d.invoke(add, DISPATCH_METHOD, [I4(1)] * 3).hresult == hresult.DISP_E_BADPARAMCOUNT
    out = d.invoke(add, DISPATCH_METHOD, [I4(1), I4(2)], [7])
    assert (out.hresult, out.arg_error) == (hresult.DISP_E_PARAMNOTFOUND, 0)
    out = d.invoke(add, DISPATCH_METHOD, [I4(1), MISSING])
    assert (out.hresult, out.arg_error) == (hresult.DISP_E_PARAMNOTOPTIONAL, 1)
    # Named twice (positionally and by name): the named one is refused.
    out = d.invoke(add, DISPATCH_METHOD, [I4(1), I4(2)], [0])
    assert out.hresult == hresult.DISP_E_PARAMNOTFOUND


def test_type_mismatch_names_the_argument():
    d = Dispatcher(Sample())
    out = invoke(d, "Add", DISPATCH_METHOD, I4(2), BSTR("x"))
    assert (out.hresult, out.arg_error) == (hresult.DISP_E_TYPEMISMATCH, 1)
    out = invoke(d, "Add", DISPATCH_METHOD, BSTR("40"), Variant(VT.R8, 1.5))
    assert out.result == Variant(VT.I4, 42)  # coerced as VariantChangeType would: "40", round(1.5)


def test_varargs_take_the_rest():
    d = Dispatcher(Sample())
    out = invoke(d, "Join", DISPATCH_METHOD, I4(3), BSTR("b"), I4(1))
    assert out.result == BSTR("1-b-3")


def test_properties_get_put_and_readonly():
    s = Sample()
    d = Dispatcher(s)
    width = ids(d, "Width")[0]
    assert d.invoke(width, DISPATCH_PROPERTYGET, []).result == I4(3)
    assert d.invoke(width, DISPATCH_PROPERTYPUT, [I4(9)], [DISPID_PROPERTYPUT]).hresult == 0
    assert s.Width == 9
    assert d.invoke(width, DISPATCH_PROPERTYPUTREF, [I4(4)], [DISPID_PROPERTYPUT]).hresult == 0
    assert s.Width == 4
    area = ids(d, "Area")[0]
    assert d.invoke(area, CALL, []).result == I4(16)
    assert d.invoke(area, DISPATCH_PROPERTYPUT, [I4(1)], [DISPID_PROPERTYPUT]).hresult == \
        hresult.DISP_E_MEMBERNOTFOUND
    # The new value must come as the named argument DISPID_PROPERTYPUT.
    assert d.invoke(width, DISPATCH_PROPERTYPUT, [I4(1)]).hresult == hresult.DISP_E_PARAMNOTFOUND
    # Instance attributes and class attributes are properties too.
    memory = ids(d, "memory")[0]
    assert d.invoke(memory, DISPATCH_PROPERTYPUT, [I4(5)], [DISPID_PROPERTYPUT]).hresult == 0
    assert s.Memory == 5 and d.invoke(memory, DISPATCH_PROPERTYGET, []).result == I4(5)
    assert invoke(d, "limit", DISPATCH_PROPERTYGET).result == I4(10)


def test_kinds_the_member_lacks_are_member_not_found():
    d = Dispatcher(Sample())
    assert invoke(d, "Add", DISPATCH_PROPERTYGET).hresult == hresult.DISP_E_MEMBERNOTFOUND
    assert invoke(d, "Width", DISPATCH_METHOD).hresult == hresult.DISP_E_MEMBERNOTFOUND
    assert invoke(d, "Add", DISPATCH_PROPERTYPUT, I4(1), named=[DISPID_PROPERTYPUT]).hresult == \
        hresult.DISP_E_MEMBERNOTFOUND
    assert d.invoke(12345, DISPATCH_METHOD, []).hresult == hresult.DISP_E_MEMBERNOTFOUND
    assert invoke(d, "Width", DISPATCH_PROPERTYGET, I4(1)).hresult == hresult.DISP_E_BADPARAMCOUNT


def test_exceptions_become_excepinfo():
    d = Dispatcher(Sample(), source="Demo.Sample")
    out = invoke(d, "Fail", DISPATCH_METHOD)
    assert out.hresult == hresult.DISP_E_EXCEPTION
    assert isinstance(out.error, DispatchError)
    assert (out.error.source, out.error.description, out.error.scode) == (
        "Demo.Sample", "ValueError: no good", hresult.E_FAIL)
    out = invoke(d, "Refuse", DISPATCH_METHOD)
    assert (out.error.scode, out.error.description) == (hresult.E_ACCESSDENIED, "not you")
    out = invoke(d, "Divide", DISPATCH_METHOD, I4(0), I4(1))
    assert out.error.scode == hresult.DISP_E_DIVBYZERO
    assert "ZeroDivisionError" in out.error.description


def test_by_reference_arguments_come_back_updated():
    d = Dispatcher(Sample())
    swap = ids(d, "Swap")[0]
    # Swap(ByRef a, ByRef b): both slots are empty in rgvarg, their values in rgVarRef. The
    # first argument stands last in rgvarg (slot 1), the second in slot 0.
    empty = Variant(VT.EMPTY, None)
    out = d.invoke(swap, DISPATCH_METHOD, [empty, empty], varref_index=[1, 0],
                   varref=[Variant(VT.BYREF | VT.VARIANT, I4(1)), Variant(VT.BYREF | VT.BSTR, "x")])
    assert out.hresult == 0 and out.result == BSTR("swapped")
    # a takes "x" (a VARIANT holds anything); b keeps its type and takes 1 as a string.
    assert out.varref == [Variant(VT.BYREF | VT.VARIANT, BSTR("x")), Variant(VT.BYREF | VT.BSTR, "1")]


def test_by_reference_values_that_cannot_keep_their_type_fail():
    d = Dispatcher(Sample())
    empty = Variant(VT.EMPTY, None)
    out = d.invoke(ids(d, "Swap")[0], DISPATCH_METHOD, [empty, empty], varref_index=[1, 0],
                   varref=[Variant(VT.BYREF | VT.I4, 1), Variant(VT.BYREF | VT.BSTR, "x")])
    assert out.hresult == hresult.DISP_E_EXCEPTION
    assert out.error.scode == hresult.DISP_E_TYPEMISMATCH


def test_by_reference_type_is_kept():
    class Counter:
        def Bump(self, n):
            return None, n + 1

    d = Dispatcher(Counter())
    out = d.invoke(ids(d, "Bump")[0], DISPATCH_METHOD, [Variant(VT.EMPTY, None)],
                   varref_index=[0], varref=[Variant(VT.BYREF | VT.I2, 41)])
    assert out.varref == [Variant(VT.BYREF | VT.I2, 42)] and out.result == Variant(VT.EMPTY, None)


def test_pywin32_declarations_limit_what_is_public():
    class Declared:
        _public_methods_ = ["Hello"]
        _public_attrs_ = ["Name", "Version"]
        _readonly_attrs_ = ["Version"]
        Name = "x"
        Version = 2

        def Hello(self):
            return "hi"

        def Secret(self):
            return "no"

    d = Dispatcher(Declared())
    assert d.get_ids_of_names(["Secret"])[0] == hresult.DISP_E_UNKNOWNNAME
    assert invoke(d, "Hello", CALL).result == BSTR("hi")
    assert invoke(d, "Version", DISPATCH_PROPERTYPUT, I4(3), named=[DISPID_PROPERTYPUT]).hresult \
        == hresult.DISP_E_MEMBERNOTFOUND
    assert invoke(d, "Name", DISPATCH_PROPERTYPUT, BSTR("y"), named=[DISPID_PROPERTYPUT]).hresult == 0


@pytest.mark.parametrize("value, kind, expected", [
    (True, int, -1), (2.5, int, 2), (3.5, int, 4), ("12", int, 12), (None, int, 0),
    (1, float, 1.0), ("2.5", float, 2.5), (False, float, 0.0),
    (3, str, "3"), (True, str, "True"), (None, str, ""),
    (0, bool, False), (2, bool, True), ("false", bool, False), ("1", bool, True),
])
def test_coerce_as_variant_change_type(value, kind, expected):
    result = coerce(value, kind)
    assert result == expected and type(result) is kind


@pytest.mark.parametrize("value, kind", [("x", int), ([1], int), ("y", float), (object(), str),
                                         ("maybe", bool)])
def test_coerce_refuses(value, kind):
    with pytest.raises((TypeError, ValueError)):
        coerce(value, kind)
