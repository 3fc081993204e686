"""Pings and releases go to every machine at once, each call bounded: a machine that stops
answering holds up its own housekeeping only."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pydcom.rpc import Interface, RpcServer
from pydcom.runtime.connections import Connections
from pydcom.runtime.pinger import Pinger
from pydcom.service.resolver import ExporterRecord, Resolver
from pydcom.wire import object_exporter as oe
from pydcom.wire.dualstringarray import DualStringArray

from ..support import wait_until

OID = 0xA1


def test_a_machine_that_stops_answering_does_not_hold_up_the_others_pings():
    release = threading.Event()

    def hang(call) -> bytes:  # a machine that took the call and never answers it
        release.wait(30)
        return b""

    resolver = Resolver(DualStringArray, ping_period=120)
    resolver.register(ExporterRecord(0x5E, DualStringArray(), None))
    resolver.register_oids(0x5E, [OID])
    hung = RpcServer("127.0.0.1", 0, interfaces=[Interface(oe.SYNTAX, {
        oe.OP_COMPLEX_PING: hang, oe.OP_SIMPLE_PING: hang})])
    answering = RpcServer("127.0.0.1", 0, interfaces=[resolver.interface()])
    connections = Connections(connect_timeout=2, call_timeout=2)
    executor = ThreadPoolExecutor(max_workers=4)
    try:  # every server is closed, even one that failed to start the other
        hung.start()
        answering.start()
        pinger = Pinger(connections.call, executor)
        pinger.add(hung.address, 0x99)
        pinger.add(answering.address, OID)
        started = time.monotonic()
        round_ = threading.Thread(target=pinger.ping_once)
        round_.start()
        wait_until(lambda: resolver.ping_set_count == 1, 5, "the answering machine pinged")
        assert time.monotonic() - started < 1.5  # not after the other one's 2 s timeout
        round_.join(10)
        assert not round_.is_alive()  # the hung call gave up after its timeout
        assert time.monotonic() - started < 6
    finally:
        release.set()
        executor.shutdown()
        connections.close()
        hung.close()
        answering.close()
        resolver.close()
