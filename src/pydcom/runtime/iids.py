"""The interface IDs the activation API names (MS-DCOM 1.9; IClassFactory from the Windows SDK)."""

from __future__ import annotations

import uuid

from pydcom import hresult
from pydcom.guid import parse_guid
from pydcom.hresult import ComError

IID_IUnknown = uuid.UUID("00000000-0000-0000-c000-000000000046")
IID_IClassFactory = uuid.UUID("00000001-0000-0000-c000-000000000046")
IID_IDispatch = uuid.UUID("00020400-0000-0000-c000-000000000046")


def as_iid(iid: uuid.UUID | str) -> uuid.UUID:
    """An IID given as a UUID or as GUID text; E_INVALIDARG otherwise."""
    if isinstance(iid, uuid.UUID):
        return iid
    try:
        return parse_guid(iid)
    except ValueError:
        raise ComError(hresult.E_INVALIDARG, f"{iid!r} is not an IID") from None
