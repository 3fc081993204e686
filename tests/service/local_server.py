"""A local server program, as a registered command line starts it: it registers its class
object with the service that launched it (PYDCOM_* in its environment) and serves until idle."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from pydcom.runtime.server import LocalServer  # noqa: E402
from tests.service.sample_classes import Calculator  # noqa: E402

server = LocalServer()
server.register_class_object(os.environ["PYDCOM_CLSID"], Calculator)
server.serve_until_idle(grace=5)
