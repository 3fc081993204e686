"""pydcom registry export | import: the whole registry as a TOML file."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from pydcom.cli.common import CliError, add_command, add_group, open_from
from pydcom.hresult import ComError
from pydcom.registry import from_toml, to_toml


def add_commands(commands: argparse._SubParsersAction) -> None:
    verbs = add_group(commands, "registry", "export or import all registrations as TOML")
    p = add_command(verbs, "export", run_export, "write every class and AppID to FILE ('-': stdout)")
    p.add_argument("file", metavar="FILE")
    p = add_command(verbs, "import", run_import,
                    "add the classes and AppIDs of FILE ('-': stdin), replacing same GUIDs")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--replace", action="store_true",
                   help="make FILE the whole registry: entries not in it are removed")


def run_export(args: argparse.Namespace) -> int:
    snapshot = open_from(args).snapshot()
    text = to_toml(snapshot.classes.values(), snapshot.appids.values())
    if args.file == "-":
        sys.stdout.write(text)
        return 0
    folder = os.path.dirname(os.path.abspath(args.file))
    try:  # write beside the target, then rename: a reader never sees half a file
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".pydcom-export-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, args.file)
    except OSError as exc:
        raise CliError(f"pydcom registry export: cannot write {args.file}: {exc.strerror}") from None
    print(f"exported {len(snapshot.classes)} classes and {len(snapshot.appids)} AppIDs "
          f"to {args.file}", file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as source:
                text = source.read()
    except OSError as exc:
        raise CliError(f"pydcom registry import: cannot read {args.file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"pydcom registry import: {args.file} is not UTF-8 text") from None
    try:
        classes, appids = from_toml(text)
    except ComError as exc:  # said again with the file's name
        raise CliError(f"pydcom registry import: {args.file}: {exc}") from None
    open_from(args).load_entries(classes, appids, replace_all=args.replace)
    print(f"imported {len(classes)} classes and {len(appids)} AppIDs from {args.file}",
          file=sys.stderr)
    return 0
