"""Launch and access permissions: who may activate a class, and who may call its objects
(the LaunchPermission and AccessPermission of an AppID, MS-DCOM 3.1.2.5.2.3 "check the
caller's launch and activation permissions"; 3.1.1.5.4 access checks).

A permission is a tuple of entries: ``NAME`` allows a user or group, ``!NAME`` denies one, and
``*`` is everyone (authenticated or not). A deny wins over any allow; a caller no entry names
is refused. ``None`` means "not set": the AppID falls back to the machine's default (the AppID
``MACHINE_DEFAULTS``), and when that is not set either, everyone who passes the service's
authentication is let in. Names match without regard to case, as Windows account names do.
"""

from __future__ import annotations

from collections.abc import Callable

from pydcom.guid import GUID_NULL
from pydcom.rpc.security import CallSecurity

EVERYONE = "*"
DENY = "!"
# The AppID that holds the machine-wide defaults (DefaultLaunchPermission and
# DefaultAccessPermission under HKLM\Software\Microsoft\Ole on Windows).
MACHINE_DEFAULTS = GUID_NULL

Permission = tuple[str, ...] | None
GroupsOf = Callable[[str], frozenset[str]]


def effective(own: Permission, machine_default: Permission) -> Permission:
    """An AppID's permission, else the machine's default, else None (everyone)."""
    return own if own is not None else machine_default


def permits(permission: Permission, security: CallSecurity, groups_of: GroupsOf) -> bool:
    """Whether the caller ``security`` names may do what ``permission`` guards."""
    if permission is None:
        return True
    names = {EVERYONE}
    if security.authenticated:
        names.add(security.user.casefold())
        names.update(group.casefold() for group in groups_of(security.user))
    denied = {entry[1:].casefold() for entry in permission if entry.startswith(DENY)}
    if names & denied:
        return False
    return any(entry.casefold() in names for entry in permission if not entry.startswith(DENY))
