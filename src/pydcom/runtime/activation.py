"""The activation API: get_class_object, create_instance, create_instance_ex.

Each call plans against one registry snapshot (``resolve``), then runs the plan: in-process
here, anything else through the installed ``RemoteActivator``. A plan that fails with "class not
registered" or "no such ProgID" is made once more against a freshly checked snapshot, so these
errors are only raised when they are true now, not because another process's change had yet to
be seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import Registry, default_registry
from pydcom.runtime import inproc
from pydcom.runtime.out_of_process import get_activator
from pydcom.runtime.clsctx import CLSCTX
from pydcom.runtime.iids import IID_IClassFactory, IID_IUnknown, as_iid
from pydcom.runtime.machine import machine_name
from pydcom.runtime.multiqi import MultiQI, MultiQIResults
from pydcom.runtime.resolve import ActivationPlan, resolve
from pydcom.runtime.serverinfo import ServerInfo
from pydcom.runtime.unknown import Unknown

_MAYBE_STALE = frozenset({hresult.REGDB_E_CLASSNOTREG, hresult.CO_E_CLASSSTRING})


def plan_activation(clsid_or_progid: str | uuid.UUID, clsctx: int = CLSCTX.SERVER,
                    server_info: ServerInfo | str | None = None, *,
                    registry: Registry | None = None) -> ActivationPlan:
    """The plan an activation with these arguments would follow now."""
    if server_info is not None and not isinstance(server_info, ServerInfo):
        if not isinstance(server_info, str):
            raise ComError(hresult.E_INVALIDARG, f"server_info {server_info!r} is not a ServerInfo")
        server_info = ServerInfo(server_info)
    registry = registry or default_registry()
    snapshot = registry.snapshot()
    this_machine = machine_name()
    try:
        return resolve(snapshot, clsid_or_progid, clsctx, server_info, this_machine)
    except ComError as exc:
        if exc.hresult not in _MAYBE_STALE:
            raise
        fresh = registry.refresh()
        if fresh is snapshot:
            raise
        return resolve(fresh, clsid_or_progid, clsctx, server_info, this_machine)


def get_class_object(clsid_or_progid: str | uuid.UUID, clsctx: int = CLSCTX.SERVER,
                     server_info: ServerInfo | str | None = None,
                     iid: uuid.UUID | str = IID_IClassFactory, *,
                     registry: Registry | None = None) -> Unknown:
    """CoGetClassObject: the class object of a class, as ``iid`` (one reference)."""
    plan = plan_activation(clsid_or_progid, clsctx, server_info, registry=registry)
    iid = as_iid(iid)
    if plan.context is CLSCTX.INPROC_SERVER:
        return inproc.class_object(plan.entry, iid)
    return get_activator(plan).get_class_object(plan, iid)


def create_instance(clsid_or_progid: str | uuid.UUID, clsctx: int = CLSCTX.SERVER,
                    server_info: ServerInfo | str | None = None,
                    iid: uuid.UUID | str = IID_IUnknown, *, outer: Unknown | None = None,
                    registry: Registry | None = None) -> Unknown:
    """CoCreateInstance: a new object of the class, as ``iid`` (one reference)."""
    plan = plan_activation(clsid_or_progid, clsctx, server_info, registry=registry)
    iid = as_iid(iid)
    if plan.context is CLSCTX.INPROC_SERVER:
        factory = inproc.class_object(plan.entry)
        try:
            return factory.create_instance(iid, outer)
        finally:
            factory.release()
    [result] = _create_elsewhere(plan, [iid], outer)
    if not result.ok:
        raise ComError(result.hresult, f"{plan.clsid} as {iid}")
    return result.object


def create_instance_ex(clsid_or_progid: str | uuid.UUID, clsctx: int = CLSCTX.SERVER,
                       server_info: ServerInfo | str | None = None,
                       iids: Iterable[uuid.UUID | str] = (IID_IUnknown,), *,
                       outer: Unknown | None = None,
                       registry: Registry | None = None) -> MultiQIResults:
    """CoCreateInstanceEx: a new object and one ``MultiQI`` per IID, in order.

    Interfaces the object lacks are reported in their MultiQI (E_NOINTERFACE) and the results'
    ``hresult`` is CO_S_NOTALLINTERFACES; if it has none of them, ComError(E_NOINTERFACE).
    """
    if isinstance(iids, (str, uuid.UUID)):
        raise ComError(hresult.E_INVALIDARG, "iids must be a list of IIDs")
    wanted = [as_iid(iid) for iid in iids]
    if not wanted:
        raise ComError(hresult.E_INVALIDARG, "create_instance_ex needs at least one IID")
    plan = plan_activation(clsid_or_progid, clsctx, server_info, registry=registry)
    if plan.context is CLSCTX.INPROC_SERVER:
        results = _create_inproc(plan, wanted, outer)
    else:
        results = _create_elsewhere(plan, wanted, outer)
    if not any(result.ok for result in results):
        raise ComError(hresult.E_NOINTERFACE, f"the new {plan.clsid} object implements none of "
                       f"the {len(wanted)} interface(s) asked for")
    return MultiQIResults(results)


def _create_inproc(plan: ActivationPlan, iids: list[uuid.UUID],
                   outer: Unknown | None) -> list[MultiQI]:
    factory = inproc.class_object(plan.entry)
    try:
        unknown = factory.create_instance(IID_IUnknown, outer)
    finally:
        factory.release()
    try:
        results = []
        for iid in iids:
            try:
                results.append(MultiQI(iid, hresult.S_OK, unknown.query_interface(iid)))
            except ComError as exc:
                results.append(MultiQI(iid, exc.hresult))
        return results
    finally:
        unknown.release()


def _create_elsewhere(plan: ActivationPlan, iids: list[uuid.UUID],
                      outer: Unknown | None) -> list[MultiQI]:
    if outer is not None:  # out-of-process objects cannot be aggregated
        raise ComError(hresult.CLASS_E_NOAGGREGATION, f"{plan.clsid} runs out of process")
    results = list(get_activator(plan).create_instance(plan, iids))
    if len(results) != len(iids):
        raise ComError(hresult.RPC_E_UNEXPECTED, f"{len(results)} results for {len(iids)} IIDs")
    return results
