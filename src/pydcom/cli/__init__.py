"""The ``pydcom`` command: one module per command group, each adding its subcommands.

Bad input of any kind (a malformed GUID, an unknown ProgID, an import path that does not
import, a locked or corrupt registry, a usage mistake) prints one line on stderr and exits
with status 2; the registry is then as it was.
"""

from __future__ import annotations

import sys

from pydcom.cli import appid, call, classes, registry_file, serve
from pydcom.cli.common import CliError, Parser, common_options
from pydcom.hresult import ComError

COMMAND_GROUPS = (classes, appid, registry_file, serve, call)


def build_parser() -> Parser:
    parser = Parser(prog="pydcom", description="COM activation and DCOM in Python")
    common_options(parser, top_level=True)
    commands = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=Parser)
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        if args.group is None:
            parser.print_help(sys.stderr)
            return 2
        return args.run(args) or 0
    except (CliError, ComError) as exc:
        if isinstance(exc, CliError):
            text = exc.text
        else:
            words = [getattr(args, "group", None), getattr(args, "verb", None)]
            text = f"{' '.join(['pydcom', *filter(None, words)])}: {exc}"
        print(" ".join(text.split()), file=sys.stderr)  # always one line
        return 2
    except KeyboardInterrupt:
        return 130
