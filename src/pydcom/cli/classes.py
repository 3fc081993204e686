"""pydcom register | unregister | list | show: the classes of the registry."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.machinery
import os

from pydcom import hresult
from pydcom.cli.common import UsageError, add_command, checked, class_name, guid_arg, open_from, table
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry import ClassEntry, ThreadingModel, check_import_path, to_toml
from pydcom.runtime.coclass import coclass_entry
from pydcom.runtime.inproc import load_class


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "register", run_register,
                    "register a class: MODULE:CLASS with @pydcom.coclass metadata, or --clsid ...; "
                    "with neither --python nor --command, a class that runs on another machine")
    import_path = checked(check_import_path, "import path")
    p.add_argument("target", nargs="?", metavar="MODULE:CLASS", type=import_path,
                   help="a Python class; its @pydcom.coclass metadata gives the defaults")
    p.add_argument("--clsid", type=guid_arg("CLSID", hresult.CO_E_CLASSSTRING))
    p.add_argument("--progid")
    p.add_argument("--vi-progid", dest="version_independent_progid", metavar="PROGID",
                   help="version-independent ProgID")
    p.add_argument("--name", help="display name")
    p.add_argument("--python", metavar="MODULE:CLASS", type=import_path, help="in-process server (import path)")
    p.add_argument("--command", dest="local_server", metavar="CMD",
                   help="local server command line")
    p.add_argument("--appid", type=guid_arg("AppID"))
    p.add_argument("--interface", dest="interfaces", action="append", default=[], metavar="IID",
                   type=guid_arg("interface IID"), help="an IID the objects answer (repeatable)")
    p.add_argument("--threading", type=checked(ThreadingModel.parse, "threading model"), metavar="MODEL",
                   help="Apartment, Free, Both or Neutral")
    p.add_argument("--treat-as", type=guid_arg("TreatAs CLSID", hresult.CO_E_CLASSSTRING),
                   metavar="CLSID")

    p = add_command(commands, "unregister", run_unregister, "remove a class")
    p.add_argument("clsid", metavar="CLSID|PROGID", type=class_name)

    add_command(commands, "list", run_list, "list the registered classes")

    p = add_command(commands, "show", run_show, "show a class and its AppID, as TOML")
    p.add_argument("clsid", metavar="CLSID|PROGID", type=class_name)


def run_register(args: argparse.Namespace) -> int:
    if args.target and args.python and args.target != args.python:
        raise UsageError("pydcom register: give MODULE:CLASS or --python, not both")
    python = args.target or args.python
    fields: dict = {}
    if python:
        folder = _folder_of(python)
        try:
            cls = load_class(python, folder)
        except ComError as exc:
            if exc.hresult != hresult.hresult_from_win32(hresult.ERROR_MOD_NOT_FOUND):
                raise
            raise ComError(exc.hresult, f"{exc.detail}; run pydcom register in the module's "
                           "folder (which is then recorded), or put that folder on PYTHONPATH "
                           "for pydcom and for the service") from None
        declared = coclass_entry(cls)
        if declared is not None:
            fields = {f.name: getattr(declared, f.name) for f in dataclasses.fields(declared)}
        fields["inproc_server"] = python
        fields["python_path"] = folder
    if "clsid" not in fields and args.clsid is None:
        raise UsageError(f"pydcom register: {python} has no @pydcom.coclass metadata; give --clsid"
                       if python else "pydcom register: give MODULE:CLASS or --clsid")
    for name in ("clsid", "progid", "version_independent_progid", "name", "appid", "treat_as"):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)
    if args.local_server is not None:
        fields["local_server"] = args.local_server
    if args.threading is not None:
        fields["threading_model"] = args.threading
    fields["interfaces"] = (*fields.get("interfaces", ()), *args.interfaces)
    try:
        entry = ClassEntry(**fields)
    except ComError as exc:  # the values given do not make a class
        raise UsageError(f"pydcom register: {exc}") from None
    open_from(args).register(entry)
    print(f"registered {_describe(entry)}"
          + (f", imported from {entry.python_path}" if entry.python_path else ""))
    return 0


def run_unregister(args: argparse.Namespace) -> int:
    entry = open_from(args).unregister(args.clsid)
    print(f"unregistered {_describe(entry)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    snapshot = open_from(args).snapshot()
    rows = []
    for entry in sorted(snapshot.classes.values(), key=lambda e: ((e.progid or "~").lower(),
                                                                  str(e.clsid))):
        appid = snapshot.appid_of(entry)
        servers = [f"python {entry.inproc_server}" if entry.inproc_server else "",
                   f"command {entry.local_server}" if entry.local_server else "",
                   f"remote {appid.remote_server_name}" if appid and appid.remote_server_name
                   else ""]
        rows.append((format_guid(entry.clsid), entry.progid or "-",
                     "; ".join(s for s in servers if s) or "-"))
    print(table(rows, ("CLSID", "PROGID", "SERVER")))
    return 0


def run_show(args: argparse.Namespace) -> int:
    snapshot = open_from(args).snapshot()
    entry = snapshot.classes.get(snapshot.clsid_of(args.clsid))
    if entry is None:
        raise ComError(hresult.REGDB_E_CLASSNOTREG, args.clsid)
    appid = snapshot.appid_of(entry)
    print(to_toml([entry], [appid] if appid else [], header=False), end="")
    return 0


def _folder_of(import_path: str) -> str | None:
    """The current folder, if the module's top-level package is there: it is imported from
    there, as ``python -m`` would, and the folder is recorded so that the server process imports
    it from there too. Otherwise the module must be on the Python path (of the service too)."""
    top = import_path.partition(":")[0].split(".")[0]
    folder = os.getcwd()
    return folder if importlib.machinery.PathFinder.find_spec(top, [folder]) else None


def _describe(entry: ClassEntry) -> str:
    return format_guid(entry.clsid) + (f" ({entry.progid})" if entry.progid else "")
