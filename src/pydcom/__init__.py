"""pydcom: COM activation and DCOM in pure Python, wire-compatible with Windows.

The layers (ndr, rpc, wire, registry, runtime, service, automation, cli), one package each,
are described in the repository's README.md (its Layers table); docs/ covers the HRESULTs
raised, the registry, automation and the settings. The public surface is re-exported here:

    import pydcom
    obj = pydcom.create_instance("Demo.Calculator", pydcom.CLSCTX.SERVER)
    calc = pydcom.dispatch("Demo.Calculator", machine="hostb")   # late-bound, IDispatch
    factory = pydcom.get_class_object(clsid, pydcom.CLSCTX.REMOTE_SERVER, pydcom.ServerInfo("hostb"))

The activation API uses the process's default registry (``PYDCOM_REGISTRY``, or the per-user
file) unless told otherwise: ``pydcom.registry.use(path)`` or the ``registry=`` keyword.

Connections authenticate with NTLM as ``pydcom.initialize_security(pydcom.ClientAuth(user,
password))`` says for the whole process (or PYDCOM_USER and PYDCOM_PASSWORD), or as a
``ServerInfo(name, auth=ClientAuth(...))`` says for one machine (docs/security.md).
"""

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.runtime.activation import create_instance, create_instance_ex, get_class_object
from pydcom.runtime.clsctx import CLSCTX
from pydcom.runtime.coclass import coclass
from pydcom.runtime.iids import IID_IClassFactory, IID_IDispatch, IID_IUnknown
from pydcom.runtime.multiqi import MultiQI, MultiQIResults
from pydcom.runtime.serverinfo import ServerInfo
from pydcom.rpc.security import AuthLevel, ClientAuth
from pydcom.runtime.client import initialize_security
from pydcom.runtime.causality import security as call_security
from pydcom.automation import ByRef, Dispatch, DispatchError, dispatch

__all__ = [
    "AuthLevel", "ByRef", "CLSCTX", "ClientAuth", "ComError", "Dispatch", "DispatchError",
    "IID_IClassFactory", "IID_IDispatch", "IID_IUnknown", "MultiQI", "MultiQIResults",
    "ServerInfo", "coclass", "create_instance", "create_instance_ex", "dispatch",
    "call_security", "get_class_object", "hresult", "initialize_security",
]
__version__ = "0.1.0"

