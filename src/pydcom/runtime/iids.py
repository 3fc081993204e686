"""The interface IDs the activation API names (MS-DCOM 1.9; IClassFactory from the Windows SDK)."""

from __future__ import annotations

import uuid

from pydcom import hresult
from pydcom.guid import parse_guid
from pydcom.hresult import ComError

from pydcom.wire.ids import IID_IClassFactory, IID_IDispatch, IID_IUnknown  # noqa: F401 - re-exported


def as_iid(iid: uuid.UUID | str) -> uuid.UUID:
    """An IID given as a UUID or as GUID text; E_INVALIDARG otherwise."""
    if isinstance(iid, uuid.UUID):
        return iid
    try:
        return parse_guid(iid)
    except ValueError:
        raise ComError(hresult.E_INVALIDARG, f"{iid!r} is not an IID") from None
