"""Where an activation runs: a pure function of one registry snapshot.

``resolve`` makes every decision of an activation against one consistent ``Snapshot`` and
returns a frozen ``ActivationPlan``; nothing it reads can change while it reads. The order is
Windows' (CLSCTX enumeration, Remarks): a ProgID is resolved first, then TreatAs; then

1. an explicit ServerInfo naming another machine, or (without one) a RemoteServerName in the
   class's AppID, adds CLSCTX_REMOTE_SERVER to the contexts asked for; a name that means this
   machine turns CLSCTX_REMOTE_SERVER into CLSCTX_LOCAL_SERVER;
2. the contexts are then tried in order: in-process server, local server, remote server.
   (pydcom has no in-process handlers; CLSCTX_INPROC_HANDLER alone finds nothing.)

No context that the class can be served in: REGDB_E_CLASSNOTREG.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, Snapshot
from pydcom.runtime.clsctx import CLSCTX, context_bits
from pydcom.runtime.machine import is_this_machine
from pydcom.runtime.serverinfo import ServerInfo

_INPROC, _LOCAL, _REMOTE = int(CLSCTX.INPROC_SERVER), int(CLSCTX.LOCAL_SERVER), int(CLSCTX.REMOTE_SERVER)


@dataclass(frozen=True, slots=True)
class ActivationPlan:
    """What an activation will do.

    ``context`` is INPROC_SERVER (import ``entry.inproc_server``), LOCAL_SERVER (this machine's
    service runs ``entry.local_server``) or REMOTE_SERVER (ask the service at ``server``).
    ``clsid`` is the class to activate (after TreatAs), ``requested_clsid`` the one asked for.
    ``entry`` is None for a class this machine knows only through an explicit ServerInfo.
    ``generation`` names the registry snapshot the plan was made from.
    """

    context: CLSCTX
    clsid: uuid.UUID
    requested_clsid: uuid.UUID
    entry: ClassEntry | None
    appid: AppIdEntry | None
    server: ServerInfo | None
    generation: int


@functools.lru_cache(maxsize=256)
def _server_named(name: str) -> ServerInfo:
    return ServerInfo(name)


def resolve(snapshot: Snapshot, clsid_or_progid: str | uuid.UUID, clsctx: int,
            server_info: ServerInfo | None, this_machine: str) -> ActivationPlan:
    """The plan for activating ``clsid_or_progid`` in ``clsctx``; see the module docstring."""
    contexts = context_bits(clsctx)
    clsid = requested = snapshot.clsid_of(clsid_or_progid)
    entry = snapshot.classes.get(clsid)
    if entry is not None and entry.treat_as is not None:
        clsid = snapshot.treat_as(requested)
        entry = snapshot.classes.get(clsid)
    appid = snapshot.appid_of(entry)

    server = server_info
    if server is None and appid is not None and appid.remote_server_name:
        server = _server_named(appid.remote_server_name)
    if server is not None:
        if is_this_machine(server.host, this_machine):
            server = None
            if contexts & _REMOTE:
                contexts = (contexts & ~_REMOTE) | _LOCAL
        else:
            contexts |= _REMOTE

    if entry is not None and contexts & _INPROC and entry.inproc_server:
        return ActivationPlan(CLSCTX.INPROC_SERVER, clsid, requested, entry, appid, None,
                              snapshot.generation)
    if entry is not None and contexts & _LOCAL and entry.local_server:
        return ActivationPlan(CLSCTX.LOCAL_SERVER, clsid, requested, entry, appid, None,
                              snapshot.generation)
    if server is not None and contexts & _REMOTE:
        return ActivationPlan(CLSCTX.REMOTE_SERVER, clsid, requested, entry, appid, server,
                              snapshot.generation)
    raise ComError(hresult.REGDB_E_CLASSNOTREG, _not_served(clsid, requested, entry, contexts))


def _not_served(clsid: uuid.UUID, requested: uuid.UUID, entry: ClassEntry | None,
                contexts: int) -> str:
    name = format_guid(clsid)
    if requested != clsid:
        name += f" (TreatAs of {format_guid(requested)})"
    if entry is None:
        return name
    asked = "|".join(c.name for c in (CLSCTX.INPROC_SERVER, CLSCTX.INPROC_HANDLER,
                                      CLSCTX.LOCAL_SERVER, CLSCTX.REMOTE_SERVER) if contexts & c)
    return f"{name} has no server for CLSCTX {asked}"
