"""pydcom users add | remove | list | passwd | groups: the accounts NTLM logons are checked
against (``pydcom.accounts``).

A password is asked twice without echo when stdin is a terminal; otherwise it is stdin's one
line, without its newline, so that a script can pipe it in. The file keeps NT hashes only.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pydcom import accounts
from pydcom.cli.common import (
    CliError,
    UsageError,
    add_command,
    add_group,
    checked,
    table,
)
from pydcom.hresult import ComError
from pydcom.registry import default as default_registry

MAX_PASSWORD = 1024  # characters; Windows itself allows 256
_MAX_INPUT = 4 * MAX_PASSWORD + 2  # bytes of stdin: UTF-8 and a CRLF

user_name = checked(accounts.check_name, "user name")
group_name = checked(lambda text: accounts.check_name(text, "group name"), "group name")


def add_commands(commands: argparse._SubParsersAction) -> None:
    verbs = add_group(commands, "users", "accounts for NTLM logons (names, groups, NT hashes)")

    p = _verb(verbs, "add", run_add, "add a user; the password is asked, or read from stdin")
    p.add_argument("name", type=user_name, metavar="NAME")
    _groups_option(p)

    p = _verb(verbs, "remove", run_remove, "remove a user")
    p.add_argument("name", type=user_name, metavar="NAME")

    _verb(verbs, "list", run_list, "list the users and their groups")

    p = _verb(verbs, "passwd", run_passwd, "change a user's password (asked, or read from stdin)")
    p.add_argument("name", type=user_name, metavar="NAME")

    p = _verb(verbs, "groups", run_groups, "set a user's groups (none without --group)")
    p.add_argument("name", type=user_name, metavar="NAME")
    _groups_option(p)


def _verb(verbs: argparse._SubParsersAction, name: str, run, summary: str):
    p = add_command(verbs, name, run, summary)
    p.add_argument("--accounts", metavar="PATH",
                   help=f"accounts file (default: ${accounts.ENV_ACCOUNTS}, else "
                        f"'{accounts.FILE_NAME}' beside the registry file)")
    return p


def _groups_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--group", dest="groups", action="append", default=[], metavar="GROUP",
                   type=group_name, help="a group the user is in (repeatable)")


def _path(args: argparse.Namespace, creating: bool = False) -> str:
    if args.accounts:
        return args.accounts
    path = accounts.default_accounts_path(args.registry)
    if creating and not (os.environ.get(accounts.ENV_ACCOUNTS) or args.registry
                         or os.environ.get(default_registry.ENV_REGISTRY)):
        # The per-user folder, made as the default registry makes it; a named file's is not.
        default_registry._make_per_user_folder(os.path.dirname(path))
    return path


def _groups(args: argparse.Namespace, command: str) -> tuple[str, ...]:
    try:
        return accounts.check_groups(args.groups)
    except ComError as exc:
        raise UsageError(f"{command}: {exc}") from None


def _password(command: str) -> str:
    """The new password: asked twice on a terminal, else stdin's single line."""
    if sys.stdin is None:
        raise CliError(f"{command}: no password: stdin is closed")
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if password and getpass.getpass("Retype password: ") != password:
            raise CliError(f"{command}: the passwords do not match; nothing changed")
    else:
        data = sys.stdin.buffer.read(_MAX_INPUT + 1)
        if len(data) > _MAX_INPUT:
            raise CliError(f"{command}: the password is longer than {MAX_PASSWORD} characters")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{command}: the password on stdin is not UTF-8 text") from None
        password = text.removesuffix("\n")
        password = password.removesuffix("\r") if text.endswith("\r\n") else password
        if "\n" in password:
            raise CliError(f"{command}: stdin must hold one line, the password; it holds more")
    if not password:
        raise CliError(f"{command}: an empty password is refused")
    if len(password) > MAX_PASSWORD:
        raise CliError(f"{command}: the password is longer than {MAX_PASSWORD} characters")
    return password


def _groups_text(groups) -> str:
    return ",".join(sorted(groups, key=str.casefold)) or "-"


def run_add(args: argparse.Namespace) -> int:
    groups = _groups(args, "pydcom users add")
    path = _path(args, creating=True)
    if args.name in accounts.load_accounts(path):  # said before the password is asked
        raise ComError(accounts.USER_EXISTS, f"user {args.name!r} is already in {path}")
    accounts.add_user(path, args.name, _password("pydcom users add"), groups,
                      timeout=args.busy_timeout)
    print(f"added user {args.name}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    accounts.remove_user(_path(args), args.name, timeout=args.busy_timeout)
    print(f"removed user {args.name}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    rows = [(name, _groups_text(groups))
            for name, groups in accounts.load_accounts(_path(args)).users()]
    print(table(rows, ("USER", "GROUPS")))
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    path = _path(args)
    if args.name not in accounts.load_accounts(path):
        raise ComError(accounts.NO_SUCH_USER, f"no user {args.name!r} in {path}")
    accounts.set_password(path, args.name, _password("pydcom users passwd"),
                          timeout=args.busy_timeout)
    print(f"changed the password of {args.name}")
    return 0


def run_groups(args: argparse.Namespace) -> int:
    groups = _groups(args, "pydcom users groups")
    accounts.set_groups(_path(args), args.name, groups, timeout=args.busy_timeout)
    print(f"set the groups of {args.name}: {_groups_text(groups)}")
    return 0
