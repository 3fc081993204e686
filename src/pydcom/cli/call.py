"""pydcom call: one automation call from the shell, through IDispatch (MS-OAUT 3.1.4.4).

    pydcom call Demo.Calculator Add 2 3 --machine 127.0.0.2[4135]     # prints 5
    pydcom call Demo.Calculator Memory --put 7
    pydcom call Demo.Calculator Memory --get

Arguments are Python literals (``2``, ``2.5``, ``'text'``, ``[1, 'a']``, ``None``, ``True``); the
result is printed as one (``repr``), so a script can read it back.
"""

from __future__ import annotations

import argparse
import ast
from typing import Any

from pydcom.cli.appid import machine_name
from pydcom.cli.common import CliError, UsageError, add_command, class_name, open_from


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "call", run, "call a method or get/put a property of a class's "
                    "new object through IDispatch")
    p.add_argument("target", metavar="PROGID|CLSID", type=class_name)
    p.add_argument("member", metavar="MEMBER")
    p.add_argument("arguments", nargs="*", metavar="ARG",
                   help="the method's arguments, as Python literals (quote strings: \"'text'\")")
    p.add_argument("--machine", metavar="HOST[PORT]", type=machine_name,
                   help="the machine to run the object on (default: as the registry says)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--get", action="store_true", help="read the property MEMBER")
    which.add_argument("--put", metavar="VALUE", help="set the property MEMBER to VALUE")


def literal(text: str, what: str) -> Any:
    """A Python literal from the command line; a usage error if it is not one."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise UsageError(f"pydcom call: {what} {text!r} is not a Python literal "
                       f"(quote strings: \"'{text}'\")") from None


def run(args: argparse.Namespace) -> int:
    import pydcom

    if (args.get or args.put is not None) and args.arguments:
        raise UsageError("pydcom call: --get and --put take no method arguments")
    values = [literal(text, f"argument {i + 1}") for i, text in enumerate(args.arguments)]
    put = literal(args.put, "--put value") if args.put is not None else None
    if not args.member.isidentifier():
        raise UsageError(f"pydcom call: member {args.member!r} is not a name")
    registry = open_from(args)
    try:
        obj = pydcom.dispatch(args.target, machine=args.machine, registry=registry)
        try:
            if args.put is not None:
                setattr(obj, args.member, put)
                return 0
            try:
                member = getattr(obj, args.member)
            except AttributeError as exc:  # GetIDsOfNames did not know the name
                raise CliError(f"pydcom call: {exc}") from None
            result = member if args.get else member(*values) if callable(member) else (
                _not_callable(args.member, values, member))
            print(repr(result))
            return 0
        finally:
            obj.release()
    finally:
        registry.close()


def _not_callable(name: str, values: list, value: Any) -> Any:
    """A property named without --get: its value, if no arguments were given."""
    if values:
        raise CliError(f"pydcom call: {name} is a property; it takes no arguments")
    return value
