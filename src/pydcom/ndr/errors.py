"""The one error of the NDR layer."""

from __future__ import annotations


class NdrError(ValueError):
    """Data that cannot be marshaled, or bytes that are not valid NDR for the expected type.

    A server answers it with fault nca_s_fault_ndr, RPC_X_BAD_STUB_DATA (MS-RPCE 3.1.3.5.2).
    """
