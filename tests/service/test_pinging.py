"""Distributed garbage collection (MS-DCOM 3.1.1.6.2, 3.1.2.6, 3.2.6.1) end to end: a client
that dies has its objects reclaimed after three missed periods; a live client's objects survive
many periods.

The resolver runs on a clock of the test's own, so "three periods" is exact and a machine that
stalls cannot make a live client look dead: a period passes when the test moves the clock, and
the test moves it only after every live client has pinged. The clients and the server process
run in real time with short periods, so their pings and the server's reclaim rounds come soon.

Real time still rules one moment: an object no set holds yet, between its activation and its
client's first ping, is reclaimed by its server once idle for three of the service's periods
(3.1.1.6.2). The clients ping four times as often as that period, so only a stall of most of
three seconds, in the quarter second after the other client's activation, could end it early."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.scm_client import remote_activate

from ..support import ManualClock, read_line, wait_until
from .sample_classes import CALC_CLSID, ICalc

PERIOD = 1.0  # the service's: the server process's reclaim rounds (real time), the resolver's
CLIENT_PERIOD = 0.25  # seconds of real time between a client's pings
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_dead_clients_objects_are_reclaimed_live_ones_survive(make_service, monkeypatch):
    clock = ManualClock()
    service = make_service("127.0.0.2", ping_period=PERIOD, clock=clock)
    resolver = service.resolver

    told_live: set[int] = set()  # OIDs the server process asked about and was told are held
    ask = resolver.live_oids

    def live_oids(oxid: int, oids: list[int]) -> set[int]:
        live = ask(oxid, oids)
        told_live.update(live)
        return live

    monkeypatch.setattr(resolver, "live_oids", live_oids)  # what the server process asks

    def held(oid: int) -> bool:
        return any(oid in ping.oids for ping in resolver.ping_sets().values())

    def pinged_now(oids: set[int]) -> bool:
        """Whether each OID is in a set pinged at the clock's present reading."""
        due = clock() + 3 * PERIOD
        sets = resolver.ping_sets().values()
        return all(any(oid in ping.oids and ping.deadline >= due for ping in sets) for oid in oids)

    def period_passes(live: set[int]) -> None:
        """One ping period on the resolver's clock, with a ping from each live client in it."""
        clock.advance(PERIOD)
        wait_until(lambda: pinged_now(live), 30, f"every live client pinged at {clock()}")
        resolver.expire()  # as its timer would; it also runs on its own, on the same clock

    runtime = ClientRuntime(ping_period=CLIENT_PERIOD)
    client = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "service", "ping_client.py"),
                               "127.0.0.2", str(service.port), str(CLIENT_PERIOD)],
                              stdout=subprocess.PIPE, text=True)
    try:
        theirs = int(read_line(client, 30))  # the other client holds its object now
        [(_, mine)] = remote_activate(runtime, ("127.0.0.2", service.port), CALC_CLSID, [ICalc.iid])
        both = {theirs, mine.oid}
        assert mine.Live() == 2
        wait_until(lambda: pinged_now(both), 30, "both clients' first pings")

        for _ in range(8):  # many periods: both clients ping, both objects live
            period_passes(both)
            assert held(theirs) and held(mine.oid)
        # The server process asked about the object nobody calls, and kept it.
        wait_until(lambda: theirs in told_live, 30, "the server asked about the idle object")
        assert mine.Live() == 2

        client.kill()
        client.wait(10)
        for _ in range(2):  # two periods without its pings: its set is still there
            period_passes({mine.oid})
            assert held(theirs)
        period_passes({mine.oid})  # the third: its set is dropped, ours is not
        assert not held(theirs) and held(mine.oid)

        wait_until(lambda: mine.Live() == 1, 30, "the dead client's object reclaimed")
        assert mine.Add(1, 2) == 3

        told_live.clear()
        for _ in range(6):  # ours still lives, many periods on, idle but pinged
            period_passes({mine.oid})
        wait_until(lambda: mine.oid in told_live, 30, "the server asked about our idle object")
        assert mine.Live() == 1 and mine.Add(2, 2) == 4
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(10)
        client.stdout.close()
        runtime.close()
