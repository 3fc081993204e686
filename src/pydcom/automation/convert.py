"""Python values to VARIANTs and back (the table is in docs/automation.md).

    None -> VT_EMPTY (VT_NULL when asked: pass Variant(VT.NULL))   VT_EMPTY, VT_NULL -> None
    bool -> VT_BOOL          int -> VT_I4, or VT_I8 when it does not fit 32 bits
    float -> VT_R8           str -> VT_BSTR                        datetime, date -> VT_DATE
    Decimal -> VT_DECIMAL (VT_CY when asked: Variant(VT.CY, d))    bytes -> VT_ARRAY|VT_UI1
    list, tuple -> VT_ARRAY|VT_VARIANT; nested lists of equal lengths -> several dimensions
    any other object -> VT_DISPATCH, through ``marshal`` (it is exported, or a proxy passes
    its own reference on); a Variant -> itself, unchanged

Back: each VARTYPE to the Python type above (VT_I1..VT_UI8, VT_INT, VT_UINT, VT_ERROR are int;
VT_R4 float; VT_CY Decimal), arrays to lists (nested for several dimensions; lower bounds are
not kept; an array without elements is [] whatever its dimensions), VT_ARRAY|VT_UI1 to bytes,
by-reference VARIANTs to what they point at, and interface pointers through ``unmarshal`` (a
proxy).
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import math
from typing import Any, Callable

from pydcom import hresult
from pydcom.automation.variant import TYPEMASK, VT, SafeArray, Variant, VariantError
from pydcom.hresult import ComError

_I4 = range(-(1 << 31), 1 << 31)
_I8 = range(-(1 << 63), 1 << 63)
OLE_EPOCH = datetime.datetime(1899, 12, 30)
_DAY = 86400.0

Marshal = Callable[[Any], Any]  # a Python object -> MInterfacePointer
Unmarshal = Callable[[Any], Any]  # MInterfacePointer -> a proxy


def to_variant(value: Any, *, marshal: Marshal | None = None) -> Variant:
    """The VARIANT for a Python value; ComError DISP_E_TYPEMISMATCH (or DISP_E_OVERFLOW for an
    int beyond 64 bits) when there is none."""
    kind = type(value)
    if kind is int:
        if value in _I4:
            return Variant(VT.I4, value)
        if value in _I8:
            return Variant(VT.I8, value)
        raise ComError(hresult.DISP_E_OVERFLOW, f"{value} does not fit a 64-bit VARIANT")
    if kind is str:
        return Variant(VT.BSTR, value)
    if kind is float:
        return Variant(VT.R8, value)
    if kind is bool:
        return Variant(VT.BOOL, value)
    if value is None:
        return Variant(VT.EMPTY)
    if kind is Variant:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return Variant(VT.ARRAY | VT.UI1, SafeArray(VT.UI1, ((0, len(data)),), data))
    if isinstance(value, (list, tuple)):
        return Variant(VT.ARRAY | VT.VARIANT, _array(value, marshal))
    if isinstance(value, datetime.datetime):
        return Variant(VT.DATE, to_ole_date(value))
    if isinstance(value, datetime.date):
        return Variant(VT.DATE, to_ole_date(datetime.datetime(value.year, value.month, value.day)))
    if isinstance(value, decimal.Decimal):
        return Variant(VT.DECIMAL, value)
    if isinstance(value, int):  # an int subclass (IntEnum): its plain value
        return to_variant(int(value), marshal=marshal)
    if isinstance(value, float):
        return Variant(VT.R8, float(value))
    if isinstance(value, str):
        return Variant(VT.BSTR, str(value))
    if marshal is None:
        raise ComError(hresult.DISP_E_TYPEMISMATCH,
                       f"a {kind.__name__} cannot be passed here: no exporter to pass objects")
    return Variant(VT.DISPATCH, marshal(value))


def _shape(value: Any) -> list[int]:
    """The dimensions of nested lists of equal lengths: [len(outer), len(inner), ...]."""
    shape = [len(value)]
    items = value
    while items and all(isinstance(i, (list, tuple)) for i in items):
        lengths = {len(i) for i in items}
        if len(lengths) != 1 or 0 in lengths:
            break
        shape.append(lengths.pop())
        items = [x for i in items for x in i]
    return shape


def _array(value: Any, marshal: Marshal | None) -> SafeArray:
    shape = _shape(value)
    if len(shape) == 1:
        items = [to_variant(v, marshal=marshal) for v in value]
    else:  # storage order: the first index varies fastest (MS-OAUT 2.2.30.10)
        items = []
        for index in itertools.product(*(range(n) for n in reversed(shape))):
            element = value
            for i in reversed(index):
                element = element[i]
            items.append(to_variant(element, marshal=marshal))
    return SafeArray(VT.VARIANT, tuple((0, n) for n in shape), tuple(items))


def from_variant(v: Variant | None, *, unmarshal: Unmarshal | None = None) -> Any:
    """The Python value of a VARIANT (see the module docstring)."""
    if v is None:
        return None
    vt = v.vt
    if vt & VT.BYREF:
        vt &= ~VT.BYREF
        if vt == VT.VARIANT:
            return from_variant(v.value, unmarshal=unmarshal)
    if vt & VT.ARRAY:
        return _from_array(v.value, unmarshal)
    return _element(vt & TYPEMASK, v.value, unmarshal)


def _element(vt: int, value: Any, unmarshal: Unmarshal | None) -> Any:
    if vt == VT.DATE:
        return from_ole_date(value)
    if vt == VT.VARIANT:
        return from_variant(value, unmarshal=unmarshal)
    if vt in (VT.DISPATCH, VT.UNKNOWN):
        if value is None:
            return None
        if unmarshal is None:
            raise ComError(hresult.DISP_E_TYPEMISMATCH, "an interface pointer cannot be taken here")
        return unmarshal(value)
    return value


def _from_array(array: SafeArray | None, unmarshal: Unmarshal | None) -> Any:
    if array is None:
        return None
    if array.vt == VT.UI1:
        return array.values
    values = [_element(array.vt, item, unmarshal) for item in array.values]
    shape = [n for _, n in array.bounds]
    if len(shape) == 1 or not values:
        # An array without elements is [] whatever its dimensions: a 3 x 0 array as [[], [], []]
        # would be lists counted by the peer (and, nested in other arrays, without limit).
        return values
    strides = [1]
    for n in shape[:-1]:
        strides.append(strides[-1] * n)

    def build(dim: int, base: int) -> list:
        step = strides[dim]
        if dim == len(shape) - 1:
            return [values[base + i * step] for i in range(shape[dim])]
        return [build(dim + 1, base + i * step) for i in range(shape[dim])]

    return build(0, 0)


def to_ole_date(moment: datetime.datetime) -> float:
    """An OLE automation date (MS-OAUT 2.2.25): days since 1899-12-30, the fraction the time of
    day; before the epoch the whole part counts back and the fraction still counts forward."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    delta = moment - OLE_EPOCH
    days = delta.days
    fraction = (delta.seconds + delta.microseconds / 1e6) / _DAY
    value = days + fraction if days >= 0 else days - fraction
    # A time just before midnight far from the epoch may round to the next whole day (a double
    # has no room for its fraction), or before the epoch, where the whole part counts back, to
    # the day before: two days off. It is kept in its day, as the last double of that day.
    if fraction and abs(value - days) >= 1:
        value = math.nextafter(value, days)
    return value


def from_ole_date(value: float) -> datetime.datetime:
    try:
        days = int(value)  # toward zero: the day; the fraction's size is the time of day
        fraction = abs(value - days)
        return OLE_EPOCH + datetime.timedelta(days=days, seconds=round(fraction * _DAY * 1e6) / 1e6)
    except (OverflowError, ValueError) as exc:
        raise VariantError(f"VT_DATE {value!r} is not a date: {exc}") from None
