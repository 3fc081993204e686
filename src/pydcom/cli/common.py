"""What every command shares: the parser that fails in one line, options, output helpers."""

from __future__ import annotations

import argparse
import uuid
from typing import NoReturn

from pydcom import hresult
from pydcom.guid import parse_guid
from pydcom.hresult import ComError
from pydcom.registry import DEFAULT_BUSY_TIMEOUT, Registry, open_registry


class CliError(Exception):
    """A usage mistake; ``text`` is the whole line to print."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (main prints it and exits 2)."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{self.prog}: {message}")


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
    """An argparse type for GUID text; a malformed GUID is a ComError (one line, exit 2)."""
    def convert(text: str) -> uuid.UUID:
        try:
            return parse_guid(text)
        except ValueError:
            raise ComError(failure, f"{what} {text!r} is not a GUID") from None
    convert.__name__ = what
    return convert


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """Left-aligned columns, the last one unpadded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r, widths)), r[-1]])
                     for r in [header, *rows])
