"""What every command shares: the parser that fails in one line, options, output helpers."""

from __future__ import annotations

import argparse
import uuid
from typing import NoReturn

from pydcom import hresult
from pydcom.guid import parse_guid
from pydcom.hresult import ComError
from pydcom.registry import DEFAULT_BUSY_TIMEOUT, Registry, check_progid, open_registry


EXIT_FAILURE = 1  # the command could not be done: registry, files, network, servers
EXIT_USAGE = 2  # the command line itself is wrong, whatever the machine's state


class CliError(Exception):
    """A failure to report; ``text`` is the whole line to print, ``status`` the exit status."""

    status = EXIT_FAILURE

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class UsageError(CliError):
    """A mistake in the command line: an unknown option, a malformed value, a missing argument."""

    status = EXIT_USAGE


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line naming the (sub)command, exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def common_options(parser: argparse.ArgumentParser, top_level: bool = False) -> None:
    """--registry and --busy-timeout, accepted before or after the command name."""
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument("--registry", metavar="PATH", default=default,
                        help="registry file (default: $PYDCOM_REGISTRY, else the per-user file)")
    parser.add_argument("--busy-timeout", metavar="SECONDS", type=float,
                        default=DEFAULT_BUSY_TIMEOUT if top_level else argparse.SUPPRESS,
                        help=f"how long to wait for another writer (default "
                             f"{DEFAULT_BUSY_TIMEOUT:g} s)")


def add_group(commands: argparse._SubParsersAction, name: str,
              summary: str) -> argparse._SubParsersAction:
    """A command group (``pydcom NAME VERB ...``); returns where its verbs are added."""
    group = commands.add_parser(name, help=summary, description=summary)
    return group.add_subparsers(dest="verb", metavar="VERB", required=True,
                                parser_class=type(group))


def add_command(commands: argparse._SubParsersAction, name: str, run,
                summary: str) -> argparse.ArgumentParser:
    """A subcommand that runs ``run(args)`` and takes the common options."""
    parser = commands.add_parser(name, help=summary, description=summary)
    common_options(parser)
    parser.set_defaults(run=run)
    return parser


def open_from(args: argparse.Namespace) -> Registry:
    return open_registry(args.registry, busy_timeout=args.busy_timeout)


def guid_arg(what: str, failure: int = hresult.E_INVALIDARG):
    """An argparse type for GUID text; a malformed GUID is a usage error naming its HRESULT."""
    def convert(text: str) -> uuid.UUID:
        try:
            return parse_guid(text)
        except ValueError:
            error = ComError(failure, f"{what} {text!r} is not a GUID")
            raise argparse.ArgumentTypeError(str(error)) from None
    convert.__name__ = what
    return convert


def checked(convert, name: str):
    """An argparse type from a parser that raises ComError: its failure is a usage error."""
    def run(text: str):
        try:
            return convert(text)
        except ComError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    run.__name__ = name
    return run


def _class_name(text: str) -> str:
    """A CLSID (braced or bare) or a well-formed ProgID; whether a class has it is not asked."""
    try:
        parse_guid(text)
    except ValueError:
        if text.lstrip()[:1] == "{":
            raise ComError(hresult.CO_E_CLASSSTRING, f"{text!r} is not a GUID") from None
        check_progid(text)
    return text


class_name = checked(_class_name, "CLSID or ProgID")


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """Left-aligned columns, the last one unpadded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r, widths)), r[-1]])
                     for r in [header, *rows])
