"""pydcom appid set | show | list | remove: the AppIDs (RemoteServerName and permissions).

Permissions (``pydcom.runtime.permissions``): ``--allow-launch NAME`` and ``--deny-launch NAME``
(users or groups, ``*`` for everyone; a deny wins), the same for access. The AppID ``machine``
holds the machine-wide defaults, for AppIDs that set none."""

from __future__ import annotations

import argparse

from pydcom.cli.common import UsageError, add_command, add_group, checked, guid_arg, open_from, table
from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry import parse_machine_name, to_toml
from pydcom.runtime.permissions import DENY, MACHINE_DEFAULTS


def _machine_name(text: str) -> str:
    parse_machine_name(text)
    return text


machine_name = checked(_machine_name, "machine name")
_guid = guid_arg("AppID")


def appid_arg(text: str):
    """An AppID, or ``machine`` for the machine-wide defaults."""
    return MACHINE_DEFAULTS if text.strip().lower() == "machine" else _guid(text)


appid_arg.__name__ = "AppID"


def _account(text: str) -> str:
    from pydcom.accounts import check_name  # a name as the accounts file allows it, or "*"
    return text.strip() if text.strip() == "*" else check_name(text.strip(), "account name")


account = checked(_account, "account name")


def add_commands(commands: argparse._SubParsersAction) -> None:
    verbs = add_group(commands, "appid", "AppIDs: where classes run, who may use them")

    p = add_command(verbs, "set", run_set, "create or change an AppID ('machine': the defaults)")
    p.add_argument("appid", type=appid_arg, metavar="APPID")
    p.add_argument("--name")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--remote-server", metavar="HOST[PORT]", type=machine_name,
                       help="RemoteServerName: host or host[port]")
    where.add_argument("--no-remote-server", action="store_true", help="clear RemoteServerName")
    p.add_argument("--activate-at-storage", action=argparse.BooleanOptionalAction, default=None)
    for kind in ("launch", "access"):
        p.add_argument(f"--allow-{kind}", f"--{kind}-permission", dest=f"allow_{kind}",
                       action="append", metavar="ACCOUNT", type=account,
                       help=f"a user or group allowed to {kind} ('*' for everyone; repeatable)")
        p.add_argument(f"--deny-{kind}", action="append", metavar="ACCOUNT", type=account,
                       help=f"a user or group denied {kind}; a deny wins (repeatable)")
        p.add_argument(f"--default-{kind}-permission", action="store_true",
                       help=f"use the machine's default {kind} permission")
    run_as = p.add_mutually_exclusive_group()
    run_as.add_argument("--run-as", metavar="ACCOUNT", help="RunAs (kept; not used yet)")
    run_as.add_argument("--no-run-as", action="store_true")

    p = add_command(verbs, "show", run_show, "show an AppID as TOML")
    p.add_argument("appid", type=appid_arg, metavar="APPID")

    add_command(verbs, "list", run_list, "list the AppIDs")

    p = add_command(verbs, "remove", run_remove, "remove an AppID")
    p.add_argument("appid", type=appid_arg, metavar="APPID")


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
        allow, deny = getattr(args, f"allow_{kind}"), getattr(args, f"deny_{kind}")
        if getattr(args, f"default_{kind}_permission"):
            if allow or deny:
                raise UsageError(f"pydcom appid set: --default-{kind}-permission with "
                                 f"--allow-{kind} or --deny-{kind}")
            changes[f"{kind}_permission"] = None
        elif allow is not None or deny is not None:
            changes[f"{kind}_permission"] = [*(allow or ()), *(DENY + d for d in deny or ())]
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
