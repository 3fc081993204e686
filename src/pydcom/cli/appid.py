"""pydcom appid set | show | list | remove: the AppIDs (RemoteServerName and permissions)."""

from __future__ import annotations

import argparse

from pydcom.cli.common import UsageError, add_command, add_group, checked, guid_arg, open_from, table
from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry import parse_machine_name, to_toml


def _machine_name(text: str) -> str:
    parse_machine_name(text)
    return text


machine_name = checked(_machine_name, "machine name")


def add_commands(commands: argparse._SubParsersAction) -> None:
    verbs = add_group(commands, "appid", "AppIDs: where classes run, who may use them")

    p = add_command(verbs, "set", run_set, "create or change an AppID")
    p.add_argument("appid", type=guid_arg("AppID"), metavar="APPID")
    p.add_argument("--name")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--remote-server", metavar="HOST[PORT]", type=machine_name,
                       help="RemoteServerName: host or host[port]")
    where.add_argument("--no-remote-server", action="store_true", help="clear RemoteServerName")
    p.add_argument("--activate-at-storage", action=argparse.BooleanOptionalAction, default=None)
    for kind in ("launch", "access"):
        perm = p.add_mutually_exclusive_group()
        perm.add_argument(f"--{kind}-permission", action="append", metavar="ACCOUNT",
                          help=f"an account allowed to {kind} ('*' for everyone; repeatable)")
        perm.add_argument(f"--default-{kind}-permission", action="store_true",
                          help=f"use the machine's default {kind} permission")
    run_as = p.add_mutually_exclusive_group()
    run_as.add_argument("--run-as", metavar="ACCOUNT", help="RunAs (kept; not used yet)")
    run_as.add_argument("--no-run-as", action="store_true")

    p = add_command(verbs, "show", run_show, "show an AppID as TOML")
    p.add_argument("appid", type=guid_arg("AppID"), metavar="APPID")

    add_command(verbs, "list", run_list, "list the AppIDs")

    p = add_command(verbs, "remove", run_remove, "remove an AppID")
    p.add_argument("appid", type=guid_arg("AppID"), metavar="APPID")


def run_set(args: argparse.Namespace) -> int:
    changes: dict = {}
    if args.name is not None:
        changes["name"] = args.name
    if args.remote_server is not None:
        changes["remote_server_name"] = args.remote_server
    if args.no_remote_server:
        changes["remote_server_name"] = None
    if args.activate_at_storage is not None:
        changes["activate_at_storage"] = args.activate_at_storage
    for kind in ("launch", "access"):
        if getattr(args, f"{kind}_permission") is not None:
            changes[f"{kind}_permission"] = getattr(args, f"{kind}_permission")
        if getattr(args, f"default_{kind}_permission"):
            changes[f"{kind}_permission"] = None
    if args.run_as is not None:
        changes["run_as"] = args.run_as
    if args.no_run_as:
        changes["run_as"] = None
    if not changes:
        raise UsageError("pydcom appid set: nothing to set (see pydcom appid set --help)")
    entry = open_from(args).update_appid(args.appid, **changes)
    print(to_toml([], [entry], header=False), end="")
    return 0


def run_show(args: argparse.Namespace) -> int:
    entry = open_from(args).snapshot().appids.get(args.appid)
    if entry is None:
        raise ComError(hresult.REGDB_E_KEYMISSING, f"no AppID {format_guid(args.appid)}")
    print(to_toml([], [entry], header=False), end="")
    return 0


def run_list(args: argparse.Namespace) -> int:
    snapshot = open_from(args).snapshot()
    rows = [(format_guid(a.appid), a.remote_server_name or "-", a.name or "-")
            for a in sorted(snapshot.appids.values(), key=lambda a: str(a.appid))]
    print(table(rows, ("APPID", "REMOTE SERVER", "NAME")))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    entry = open_from(args).remove_appid(args.appid)
    print(f"removed AppID {format_guid(entry.appid)}")
    return 0
