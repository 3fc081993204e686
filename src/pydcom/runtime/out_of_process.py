"""The pluggable out-of-process step of activation: local servers and other machines.

The in-process path is complete in ``pydcom.runtime.inproc``. A plan whose context is
LOCAL_SERVER or REMOTE_SERVER goes to the process's ``RemoteActivator``. Importing pydcom
installs none: the first activation that needs another process installs the MS-DCOM client of
a machine's SCM (``pydcom.runtime.scm_client.DcomActivator``), unless the program installed its
own with ``set_activator`` before. ``NoActivator`` refuses every such plan with E_NOTIMPL.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Protocol

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.runtime.multiqi import MultiQI
from pydcom.runtime.resolve import ActivationPlan
from pydcom.runtime.scm_client import DcomActivator
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


class NoActivator:
    """The activator of a program that allows no activation in other processes: every plan for
    one raises E_NOTIMPL, naming where it would have gone."""

    def get_class_object(self, plan: ActivationPlan, iid: uuid.UUID) -> Unknown:
        raise self._refused(plan)

    def create_instance(self, plan: ActivationPlan,
                        iids: Sequence[uuid.UUID]) -> Sequence[MultiQI]:
        raise self._refused(plan)

    @staticmethod
    def _refused(plan: ActivationPlan) -> ComError:
        where = "this machine's service" if plan.server is None else str(plan.server)
        return ComError(hresult.E_NOTIMPL, f"out-of-process activation is not allowed here: "
                        f"{plan.clsid} at {where}")


_activator: RemoteActivator | None = None  # None: not installed yet
_lock = threading.Lock()


def set_activator(activator: RemoteActivator | None) -> RemoteActivator | None:
    """Install ``activator`` for the whole process; returns the one it replaces, so that
    ``set_activator(previous)`` puts it back. None uninstalls: the next activation that needs
    another process installs the MS-DCOM activator again."""
    global _activator
    with _lock:
        previous, _activator = _activator, activator
    return previous


def installed_activator() -> RemoteActivator | None:
    """The activator installed now; None until one is needed or set."""
    return _activator


def get_activator(plan: ActivationPlan) -> RemoteActivator:
    """The activator that carries out ``plan``: the installed one, or, when none is, the
    MS-DCOM activator, installed now for the whole process."""
    global _activator
    activator = _activator
    if activator is None:
        with _lock:
            if _activator is None:
                _activator = DcomActivator()
            activator = _activator
    return activator
