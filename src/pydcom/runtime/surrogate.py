"""The surrogate process (DllHost's role): hosts one Python class for the activation service.

    python -m pydcom.runtime.surrogate --clsid CLSID --python package.module:Class [--grace 5]

with PYDCOM_SERVICE, PYDCOM_BIND and PYDCOM_TOKEN in the environment, as the service sets them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import uuid

from pydcom.runtime.server import LocalServer


def load(path: str):
    """``package.module:Class`` -> the class."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{path!r} is not package.module:Class")
    target = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pydcom.runtime.surrogate")
    parser.add_argument("--clsid", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument("--interface", action="append", default=[], type=uuid.UUID,
                        help="an IID the registry says the class's objects answer")
    parser.add_argument("--threading", help="the registry's threading model for the class")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="surrogate: %(message)s")
    cls = load(args.python)
    server = LocalServer()
    server.register_class_object(args.clsid, cls, interfaces=tuple(args.interface),
                                 threading=args.threading)
    server.serve_until_idle(args.grace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
