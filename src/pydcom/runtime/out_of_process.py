"""The pluggable out-of-process step of activation: local servers and other machines.

The in-process path is complete in ``pydcom.runtime.inproc``. A plan whose context is
LOCAL_SERVER or REMOTE_SERVER goes to the installed ``RemoteActivator``; the MS-DCOM client of
a machine's SCM (``pydcom.runtime.scm_client.DcomActivator``) provides one. Until one is
installed such a plan raises ComError(E_NOTIMPL).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.runtime.multiqi import MultiQI
from pydcom.runtime.resolve import ActivationPlan
from pydcom.runtime.unknown import Unknown


class RemoteActivator(Protocol):
    """Carries out an activation planned for another process (``plan.context`` LOCAL_SERVER:
    this machine's service; REMOTE_SERVER: the service at ``plan.server.host``/``.port``)."""

    def get_class_object(self, plan: ActivationPlan, iid: uuid.UUID) -> Unknown:
        """The class object of ``plan.clsid`` as ``iid`` (RemoteGetClassObject), or ComError."""
        ...

    def create_instance(self, plan: ActivationPlan,
                        iids: Sequence[uuid.UUID]) -> Sequence[MultiQI]:
        """A new object of ``plan.clsid`` with one MultiQI per IID, in order
        (RemoteCreateInstance); ComError if the object could not be created at all."""
        ...


_activator: RemoteActivator | None = None


def set_activator(activator: RemoteActivator | None) -> RemoteActivator | None:
    """Install ``activator`` for the whole process; returns the one it replaces."""
    global _activator
    previous, _activator = _activator, activator
    return previous


def installed_activator() -> RemoteActivator | None:
    return _activator


def get_activator(plan: ActivationPlan) -> RemoteActivator:
    activator = _activator
    if activator is None:
        where = "this machine's service" if plan.server is None else str(plan.server)
        raise ComError(hresult.E_NOTIMPL, f"no remote activator is installed to reach {where} "
                       f"for {plan.clsid}")
    return activator
