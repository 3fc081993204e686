"""What a server checks of every ORPCTHIS before it acts on a call: a COM version it speaks
and, on ORPC calls, no flags (MS-DCOM 3.1.1.5.4, 1.7). The exporter, the Remote Unknown, the
service's activation interfaces and the automation stubs all check the same way.
"""

from __future__ import annotations

from typing import Any

from pydcom import hresult
from pydcom.rpc import RpcFault
from pydcom.wire.orpc import CURRENT_VERSION


def check_orpcthis(orpcthis: Any, orpc: bool) -> None:
    """MS-DCOM 3.1.1.5.4 and 1.7: a known major version, a minor version not above ours, and on
    ORPC calls flags 0."""
    version = orpcthis.version
    check_version((version.MajorVersion, version.MinorVersion), orpcthis.flags if orpc else 0)


def check_version(version: tuple[int, int], flags: int) -> None:
    """``check_orpcthis`` on an ORPC call's ORPCTHIS read field by field."""
    major, minor = version
    if major != CURRENT_VERSION.MajorVersion or minor > CURRENT_VERSION.MinorVersion:
        raise RpcFault(hresult.RPC_E_VERSION_MISMATCH, f"COM version {major}.{minor}")
    if flags:
        raise RpcFault(hresult.RPC_E_INVALID_HEADER, f"ORPCTHIS flags 0x{flags:x}")
