"""What the registry holds, as frozen dataclasses: a class (CLSID) and an application (AppID).

The fields follow the Windows registry values of the same meaning (HKCR\\CLSID\\{...} and
HKCR\\AppID\\{...}); pydcom's in-process server is a Python import path rather than a DLL.
Entries validate themselves when built, so an invalid entry never exists; GUID fields accept
GUID text and are held as ``uuid.UUID``, list fields are held as tuples.
"""

from __future__ import annotations

import enum
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

from pydcom import hostport, hresult
from pydcom.guid import format_guid, parse_guid
from pydcom.hresult import ComError


# Windows' ProgID rule: at most 39 characters, no punctuation but periods, no leading digit.
_PROGID = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,38}\Z")
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_IMPORT_PATH = re.compile(rf"{_DOTTED}:{_DOTTED}\Z")
_HOST = re.compile(r"[A-Za-z0-9._:%-]+\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class ThreadingModel(str, enum.Enum):
    """The ThreadingModel value of InprocServer32."""

    APARTMENT = "Apartment"
    FREE = "Free"
    BOTH = "Both"
    NEUTRAL = "Neutral"

    @classmethod
    def parse(cls, value: str | ThreadingModel) -> ThreadingModel:
        """Case-insensitive: ``"both"`` and ``"Both"`` are the same model."""
        if isinstance(value, cls):
            return value
        for model in cls:
            if isinstance(value, str) and value.strip().lower() == model.value.lower():
                return model
        choices = ", ".join(m.value for m in cls)
        raise ComError(hresult.E_INVALIDARG, f"threading model {value!r} is not one of {choices}")


def parse_machine_name(text: str) -> tuple[str, int]:
    """``host`` or ``host[port]`` (string-binding style; UNC ``\\\\host`` too) -> (host, port).

    The port defaults to 135. CO_E_BAD_SERVER_NAME for anything else.
    """
    if isinstance(text, str):
        host, port_text = hostport.split(text.strip().removeprefix("\\\\"))
        if _HOST.match(host) and (port_text is None or _PORT.match(port_text)):
            port = hostport.WELL_KNOWN_PORT if port_text is None else int(port_text)
            if 0 < port < 65536:
                return host, port
    raise ComError(hresult.CO_E_BAD_SERVER_NAME,
                   f"{text!r}: a machine name is written host or host[port], port 1-65535")


def check_progid(progid: str) -> str:
    if not isinstance(progid, str) or not _PROGID.match(progid):
        raise ComError(hresult.CO_E_CLASSSTRING,
                       f"{progid!r} is not a ProgID: up to 39 letters, digits and periods, "
                       "starting with a letter")
    return progid


def check_import_path(path: str) -> str:
    if not isinstance(path, str) or not _IMPORT_PATH.match(path):
        raise ComError(hresult.E_INVALIDARG,
                       f"{path!r} is not a Python import path of the form package.module:Class")
    return path


def _guid(value: Any, what: str, failure: int = hresult.E_INVALIDARG) -> uuid.UUID:
    try:
        return parse_guid(value)
    except ValueError:
        raise ComError(failure, f"{what} {value!r} is not a GUID") from None


def _text(value: Any, what: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str) or _BAD_CHARS.search(value) or (not value.strip() and not empty_ok):
        raise ComError(hresult.E_INVALIDARG,
                       f"{what} {value!r} must be {'' if empty_ok else 'non-empty '}text "
                       "on one line")
    return value


def _folder(value: Any) -> str:
    text = _text(value, "Python path folder")
    if not os.path.isabs(text):
        raise ComError(hresult.E_INVALIDARG, f"Python path folder {text!r} is not absolute")
    return text


def _principals(value: Any, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ComError(hresult.E_INVALIDARG, f"{what} must be a list of account names")
    return tuple(dict.fromkeys(_text(v.strip(), what) for v in value))


def _set(entry: object, **fields: Any) -> None:
    for name, value in fields.items():
        object.__setattr__(entry, name, value)


@dataclass(frozen=True, slots=True)
class ClassEntry:
    """A class registration (HKCR\\CLSID\\{clsid}).

    ``inproc_server`` is a Python import path ``package.module:Class`` (InprocServer32), and
    ``python_path`` the folder it is imported from, when it is not on the Python path (pywin32's
    PythonCOMPath): ``pydcom register`` records the folder it found the module in.
    ``local_server`` is a command line (LocalServer32). A class with neither is known to this
    machine only as a client: it runs where its AppID's RemoteServerName says.
    """

    clsid: uuid.UUID
    name: str = ""
    progid: str | None = None
    version_independent_progid: str | None = None
    inproc_server: str | None = None
    local_server: str | None = None
    appid: uuid.UUID | None = None
    threading_model: ThreadingModel = ThreadingModel.BOTH
    interfaces: tuple[uuid.UUID, ...] = ()
    treat_as: uuid.UUID | None = None
    python_path: str | None = None

    def __post_init__(self) -> None:
        clsid = _guid(self.clsid, "CLSID", hresult.CO_E_CLASSSTRING)
        treat_as = None if self.treat_as is None else _guid(self.treat_as, "TreatAs",
                                                             hresult.CO_E_CLASSSTRING)
        if treat_as == clsid:
            raise ComError(hresult.E_INVALIDARG, f"{format_guid(clsid)} cannot TreatAs itself")
        if isinstance(self.interfaces, (str, uuid.UUID)):
            raise ComError(hresult.E_INVALIDARG, "interfaces must be a list of IIDs")
        _set(self,
             clsid=clsid,
             name=_text(self.name, "class name", empty_ok=True),
             progid=None if self.progid is None else check_progid(self.progid),
             version_independent_progid=(None if self.version_independent_progid is None
                                         else check_progid(self.version_independent_progid)),
             inproc_server=(None if self.inproc_server is None
                            else check_import_path(self.inproc_server)),
             local_server=(None if self.local_server is None
                           else _text(self.local_server, "local server command")),
             appid=None if self.appid is None else _guid(self.appid, "AppID"),
             threading_model=ThreadingModel.parse(self.threading_model),
             interfaces=tuple(dict.fromkeys(_guid(i, "interface IID") for i in self.interfaces)),
             treat_as=treat_as,
             python_path=None if self.python_path is None else _folder(self.python_path))

    @property
    def progids(self) -> tuple[str, ...]:
        """The names this class answers to: its ProgID and its version-independent ProgID."""
        return tuple(p for p in (self.progid, self.version_independent_progid) if p)


@dataclass(frozen=True, slots=True)
class AppIdEntry:
    """An application's settings (HKCR\\AppID\\{appid}), shared by the classes naming it.

    ``remote_server_name`` is ``host`` or ``host[port]``. Permissions are lists of account names
    (``"*"`` for everyone); ``None`` means the machine's default. ``run_as`` is kept, not used yet.
    """

    appid: uuid.UUID
    name: str = ""
    remote_server_name: str | None = None
    activate_at_storage: bool = False
    launch_permission: tuple[str, ...] | None = None
    access_permission: tuple[str, ...] | None = None
    run_as: str | None = None

    def __post_init__(self) -> None:
        if self.remote_server_name is not None:
            parse_machine_name(self.remote_server_name)
        if not isinstance(self.activate_at_storage, bool):
            raise ComError(hresult.E_INVALIDARG, "ActivateAtStorage must be true or false")
        _set(self,
             appid=_guid(self.appid, "AppID"),
             name=_text(self.name, "AppID name", empty_ok=True),
             remote_server_name=(None if self.remote_server_name is None
                                 else self.remote_server_name.strip()),
             launch_permission=_principals(self.launch_permission, "launch permission"),
             access_permission=_principals(self.access_permission, "access permission"),
             run_as=None if self.run_as is None else _text(self.run_as, "RunAs"))
