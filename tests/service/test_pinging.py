"""Distributed garbage collection (MS-DCOM 3.1.1.6.2, 3.1.2.6, 3.2.6.1) with a short ping period:
a client that dies has its objects reclaimed after three missed periods; a live client's
objects survive many periods."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.scm_client import remote_activate

from .sample_classes import CALC_CLSID, ICalc

PERIOD = 0.5
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_dead_clients_objects_are_reclaimed_live_ones_survive(make_service):
    service = make_service("127.0.0.2", ping_period=PERIOD)
    runtime = ClientRuntime(ping_period=PERIOD)
    client = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "service", "ping_client.py"),
                               "127.0.0.2", str(service.port), str(PERIOD)],
                              stdout=subprocess.PIPE, text=True)
    try:
        int(client.stdout.readline())  # the other client holds its object now
        [(_, mine)] = remote_activate(runtime, ("127.0.0.2", service.port), CALC_CLSID, [ICalc.iid])
        assert mine.Live() == 2
        time.sleep(8 * PERIOD)  # many periods: both clients ping, both objects live
        assert mine.Live() == 2
        client.kill()
        client.wait()
        deadline = time.monotonic() + 10 * PERIOD
        while time.monotonic() < deadline and mine.Live() != 1:
            time.sleep(PERIOD / 2)
        killed_at_most = time.monotonic()
        assert mine.Live() == 1  # the dead client's object is gone, ours is not
        assert mine.Add(1, 2) == 3
        time.sleep(6 * PERIOD)
        assert mine.Live() == 1 and mine.Add(2, 2) == 4
        assert killed_at_most <= deadline
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        runtime.close()
