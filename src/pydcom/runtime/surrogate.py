"""The surrogate process (DllHost's role): hosts one Python class for the activation service.

    python -m pydcom.runtime.surrogate --clsid CLSID --python package.module:Class [--grace 5]

with PYDCOM_SERVICE, PYDCOM_BIND and PYDCOM_TOKEN in the environment, as the service sets them.
The service starts it in the folder the registration recorded (or in ``/``), which ``-m`` puts
first on ``sys.path``: a class's module is found there or on the service's PYTHONPATH.
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid

from pydcom.runtime.inproc import load_class
from pydcom.runtime.server import LocalServer


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
    cls = load_class(args.python)
    server = LocalServer()
    server.register_class_object(args.clsid, cls, interfaces=tuple(args.interface),
                                 threading=args.threading)
    server.serve_until_idle(args.grace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
