"""The RemoteActivator over MS-DCOM: how ``get_class_object`` and ``create_instance_ex`` reach
another process. A LOCAL_SERVER plan goes to this machine's activation service, a REMOTE_SERVER
plan to the service of the machine it names (IRemoteSCMActivator, MS-DCOM 3.2.4.1.1).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.clsctx import CLSCTX
from pydcom.runtime.endpoints import Endpoint
from pydcom.runtime.multiqi import MultiQI
from pydcom.runtime.proxy import Proxy
from pydcom.runtime.remote_activation import remote_activate
from pydcom.runtime.resolve import ActivationPlan
from pydcom.runtime.service_link import service_endpoint

_runtime: ClientRuntime | None = None
_runtime_lock = threading.Lock()


def client_runtime() -> ClientRuntime:
    """The process's DCOM client state, made on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = ClientRuntime(
                connect_timeout=float(os.environ.get("PYDCOM_CONNECT_TIMEOUT", "5")),
                ping_period=float(os.environ.get("PYDCOM_PING_PERIOD", "120")),
                local_address=os.environ.get("PYDCOM_ADDRESS") or None)
        return _runtime


class DcomActivator:
    """Activation in other processes and on other machines, through their services."""

    def __init__(self, runtime: ClientRuntime | None = None, local_service: str | None = None) -> None:
        self._runtime = runtime
        self._local_service = local_service

    @property
    def runtime(self) -> ClientRuntime:
        return self._runtime or client_runtime()

    def endpoint(self, plan: ActivationPlan) -> Endpoint:
        """The service that carries out ``plan``: the named machine's, or this machine's
        (PYDCOM_SERVICE, "host" or "host[port]"; 127.0.0.1[135] by default)."""
        if plan.context == CLSCTX.REMOTE_SERVER and plan.server is not None:
            return plan.server.host, plan.server.port
        return service_endpoint(self._local_service)

    def get_class_object(self, plan: ActivationPlan, iid: uuid.UUID) -> Proxy:
        endpoint = self.endpoint(plan)
        [(code, proxy)] = remote_activate(self.runtime, endpoint, plan.clsid, [iid],
                                          class_object=True, server_name=endpoint[0])
        if proxy is None:
            raise ComError(code, f"class object of {plan.clsid} as {iid}")
        return proxy

    def create_instance(self, plan: ActivationPlan, iids: Sequence[uuid.UUID]) -> list[MultiQI]:
        endpoint = self.endpoint(plan)
        results = remote_activate(self.runtime, endpoint, plan.clsid, list(iids),
                                  server_name=endpoint[0])
        return [MultiQI(iid, code if proxy is None else hresult.S_OK, proxy)
                for iid, (code, proxy) in zip(iids, results)]
