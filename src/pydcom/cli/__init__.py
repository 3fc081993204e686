"""The ``pydcom`` command: one module per command group, each adding its subcommands.

Every failure prints one line on stderr, naming the command, and the registry is then as it
was. The exit status tells a typo from an outage: 2 when the command line itself is wrong (an
unknown option, a malformed GUID, a bad value), 1 when the command could not be done (a class
not registered, a locked or corrupt registry, an unreachable machine, a port in use, no
permission).
"""

from __future__ import annotations

import sys

import pydcom
from pydcom.cli import appid, call, classes, registry_file, serve, users
from pydcom.cli.common import EXIT_FAILURE, EXIT_USAGE, CliError, Parser, common_options
from pydcom.hresult import ComError

COMMAND_GROUPS = (classes, appid, users, registry_file, serve, call)

EPILOG = """exit status: 0 done; 1 the command could not be done (registry, files, network,
servers; the message says why); 2 the command line is wrong (unknown option, malformed value)"""


def build_parser() -> Parser:
    parser = Parser(prog="pydcom", description="COM activation and DCOM in Python",
                    epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"pydcom {pydcom.__version__}")
    common_options(parser, top_level=True)
    commands = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=Parser)
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = None
    try:
        try:
            args = parser.parse_args(argv)
        except ComError as exc:
            raise CliError(f"pydcom: {exc}") from None
        if args.group is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args.run(args) or 0
    except CliError as exc:
        return _fail(exc.text, exc.status)
    except ComError as exc:
        return _fail(f"{_command(args)}: {exc}", EXIT_FAILURE)
    except OSError as exc:  # a file or socket the command needed
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(f"{_command(args)}:{where} {exc.strerror or exc}", EXIT_FAILURE)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a defect, still said in one line
        return _fail(f"{_command(args)}: internal error: {type(exc).__name__}: {exc}",
                     EXIT_FAILURE)


def _command(args) -> str:
    words = [getattr(args, "group", None), getattr(args, "verb", None)]
    return " ".join(["pydcom", *filter(None, words)])


def _fail(text: str, status: int) -> int:
    print(" ".join(text.split()), file=sys.stderr)  # always one line
    return status
