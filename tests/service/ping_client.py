"""A client that activates a Calculator, prints its OID, and then holds it until killed."""

from __future__ import annotations

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from pydcom.runtime.client import ClientRuntime  # noqa: E402
from pydcom.runtime.scm_client import remote_activate  # noqa: E402
from tests.service.sample_classes import CALC_CLSID, ICalc  # noqa: E402

host, port, period = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
runtime = ClientRuntime(ping_period=period)
[(_, calc)] = remote_activate(runtime, (host, port), CALC_CLSID, [ICalc.iid])
print(calc.oid, flush=True)
threading.Event().wait()
