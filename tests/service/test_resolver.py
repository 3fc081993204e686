"""The object resolver's ping sets (MS-DCOM 3.1.2.5.1.2 SimplePing, 3.1.2.5.1.3 ComplexPing,
3.1.2.2 and 3.1.2.6 the ping set timer, 3.2.6.1 the client's pinging), on a clock the test moves:
each boundary is checked exactly, with no waiting."""

from __future__ import annotations

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.rpc import RpcClient, RpcServer
from pydcom.service import resolver as resolver_module
from pydcom.service.resolver import MAX_PING_SETS, ExporterRecord, Resolver
from pydcom.wire import object_exporter as oe
from pydcom.wire.dualstringarray import DualStringArray

from ..support import ManualClock

PERIOD = 120.0  # the spec's ping period (3.1.2.2)
EXPIRY = 3 * PERIOD  # the ping set timer
A, B, C, D = 0xA1, 0xB2, 0xC3, 0xD4  # OIDs
EXPORTER = 0x5E  # the OXID that handed them out
HANDED_OUT = [A, B, C, D, *range(1, 13)]


def hand_out(res: Resolver, oids=HANDED_OUT) -> Resolver:
    """An exporter registered, and the OIDs it handed out: the resolver takes pings for them."""
    res.register(ExporterRecord(EXPORTER, DualStringArray(), None))
    res.register_oids(EXPORTER, list(oids))
    return res


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def resolver(clock):
    """A resolver on the test's clock. Its own timer runs too, on the same clock, so a test
    checks what expire() left, not what it returned (the timer may have dropped the set)."""
    res = hand_out(Resolver(DualStringArray, ping_period=PERIOD, clock=clock))
    try:
        yield res
    finally:
        res.close()


def new_set(resolver: Resolver, oids: list[int], sequence: int = 1) -> int:
    """A client's first ComplexPing (3.2.6.1): SETID 0, sequence number 1, its OIDs. (Another
    number stands for a set whose client has changed it that many times.)"""
    status, setid = resolver.complex_ping(0, sequence, oids, [])
    assert status == 0 and setid != 0
    return setid


def oids_of(resolver: Resolver, setid: int) -> frozenset[int]:
    return resolver.ping_sets()[setid].oids


def held(resolver: Resolver, *oids: int) -> set[int]:
    return resolver.live_oids(0, list(oids))


# -- ComplexPing: sets and sequence numbers (3.1.2.5.1.3) ----------------------------------------

def test_a_new_set_holds_its_oids_for_three_periods(resolver, clock):
    setid = new_set(resolver, [A, B])
    state = resolver.ping_sets()[setid]
    assert state.oids == {A, B} and state.sequence == 1
    assert state.deadline == clock() + EXPIRY
    assert held(resolver, A, B, C) == {A, B}


def test_a_complex_ping_adds_and_removes_and_keeps_its_setid(resolver):
    setid = new_set(resolver, [A, B])
    assert resolver.complex_ping(setid, 2, [C], [A]) == (0, setid)
    assert oids_of(resolver, setid) == {B, C}
    assert resolver.ping_sets()[setid].sequence == 2
    assert held(resolver, A, B, C) == {B, C}


def test_an_older_complex_ping_arriving_late_is_not_applied(resolver):
    """3.1.2.5.1.3: if the set's sequence number is greater than the client's, the resolver
    does nothing and returns success."""
    setid = new_set(resolver, [A])                                  # 1: {A}
    assert resolver.complex_ping(setid, 3, [C], [A]) == (0, setid)  # 3: {C}
    assert resolver.complex_ping(setid, 2, [B], [C]) == (0, setid)  # 2, late: not applied
    assert oids_of(resolver, setid) == {C}
    assert resolver.ping_sets()[setid].sequence == 3
    assert resolver.complex_ping(setid, 1, [A], []) == (0, setid)   # 1 again: not applied
    assert oids_of(resolver, setid) == {C}
    assert held(resolver, A, B, C) == {C}


def test_the_same_request_twice_changes_nothing_more(resolver):
    """An equal sequence number is applied again (the spec skips only an older one): the same
    request changes nothing the second time, since adding a held OID or removing one that is
    not there is no change."""
    setid = new_set(resolver, [A])
    assert resolver.complex_ping(setid, 2, [B], [A]) == (0, setid)
    assert resolver.complex_ping(setid, 2, [B], [A]) == (0, setid)
    assert oids_of(resolver, setid) == {B}
    assert held(resolver, A, B) == {B}
    assert resolver.complex_ping(setid, 2, [C], []) == (0, setid)  # equal, different: applied
    assert oids_of(resolver, setid) == {B, C}


@pytest.mark.parametrize("stored, late", [
    (2, 1), (0x8000, 1), (1, 0xFFFF), (5, 0xFFF0), (0x8005, 6),
])
def test_sequence_numbers_wrap_at_16_bits_an_older_one_is_not_applied(resolver, stored, late):
    """SequenceNum is an unsigned short; a client that has changed its set 65535 times starts
    again from the bottom (3.2.6.1 increments it without end). Older means behind by less than
    half the range."""
    setid = new_set(resolver, [A, B], sequence=stored)
    assert resolver.complex_ping(setid, late, [C], [B]) == (0, setid)
    assert oids_of(resolver, setid) == {A, B}
    assert resolver.ping_sets()[setid].sequence == stored


@pytest.mark.parametrize("stored, newer", [
    (1, 2), (0xFFFF, 1), (0xFFFF, 0), (0xFFF0, 5), (6, 0x8005),
])
def test_sequence_numbers_wrap_at_16_bits_a_newer_one_is_applied(resolver, stored, newer):
    setid = new_set(resolver, [A, B], sequence=stored)
    assert resolver.complex_ping(setid, newer, [C], [B]) == (0, setid)
    assert oids_of(resolver, setid) == {A, C}
    assert resolver.ping_sets()[setid].sequence == newer


# -- OR_INVALID_SET (3.1.2.5.1.2, 3.1.2.5.1.3) ------------------------------------------------

def test_an_unknown_setid_is_or_invalid_set_and_makes_nothing(resolver):
    known = new_set(resolver, [A])
    unknown = known ^ 0x5A5A
    assert resolver.simple_ping(unknown) == hresult.OR_INVALID_SET
    assert resolver.complex_ping(unknown, 2, [B], [A]) == (hresult.OR_INVALID_SET, unknown)
    assert set(resolver.ping_sets()) == {known}
    assert oids_of(resolver, known) == {A}
    assert held(resolver, A, B) == {A}


@pytest.mark.parametrize("ping", ["simple", "complex"])
def test_a_set_that_expired_is_or_invalid_set(resolver, clock, ping):
    setid = new_set(resolver, [A])
    clock.advance(EXPIRY)
    resolver.expire()
    if ping == "simple":
        assert resolver.simple_ping(setid) == hresult.OR_INVALID_SET
    else:
        assert resolver.complex_ping(setid, 2, [B], []) == (hresult.OR_INVALID_SET, setid)
    assert resolver.ping_sets() == {} and held(resolver, A, B) == set()


def test_or_invalid_set_on_the_wire(resolver):
    """The statuses reach a client as IObjectExporter's return values."""
    server = RpcServer("127.0.0.1", 0, interfaces=[resolver.interface()]).start()
    try:
        with RpcClient(*server.address, connect_timeout=5, timeout=10) as client:
            def simple(setid: int) -> int:
                return oe.StatusResponse.decode(client.call(
                    oe.SYNTAX, oe.OP_SIMPLE_PING, oe.SimplePingRequest(setid).encode())).status

            def complex_(setid: int, sequence: int, add: list[int]) -> oe.ComplexPingResponse:
                request = oe.ComplexPingRequest(setid, sequence, len(add), 0, add or None, None)
                return oe.ComplexPingResponse.decode(
                    client.call(oe.SYNTAX, oe.OP_COMPLEX_PING, request.encode()))

            made = complex_(0, 1, [A, B])
            assert made.status == 0 and made.pSetId and made.pPingBackoffFactor == 0
            assert simple(made.pSetId) == 0
            unknown = made.pSetId ^ 1
            assert simple(unknown) == hresult.OR_INVALID_SET
            answer = complex_(unknown, 2, [C])
            assert (answer.status, answer.pSetId) == (hresult.OR_INVALID_SET, unknown)
            assert set(resolver.ping_sets()) == {made.pSetId}
    finally:
        server.close()


# -- the ping set timer: three periods (3.1.2.2, 3.1.2.6) -------------------------------------

def test_a_set_not_pinged_for_three_periods_is_dropped_exactly_then(resolver, clock):
    start = clock()
    setid = new_set(resolver, [A])
    clock.set(start + EXPIRY - 0.001)
    assert resolver.expire() == 0
    assert held(resolver, A) == {A}
    clock.set(start + EXPIRY)
    resolver.expire()
    assert setid not in resolver.ping_sets() and held(resolver, A) == set()


@pytest.mark.parametrize("ping", ["simple", "complex"])
def test_a_set_pinged_just_before_three_periods_survives(resolver, clock, ping):
    start = clock()
    setid = new_set(resolver, [A])
    pinged_at = start + EXPIRY - 0.001
    clock.set(pinged_at)
    if ping == "simple":
        assert resolver.simple_ping(setid) == 0
    else:  # a ComplexPing that changes nothing is a ping too
        assert resolver.complex_ping(setid, 2, [], []) == (0, setid)
    clock.set(start + EXPIRY)  # three periods after the set was made
    assert resolver.expire() == 0 and held(resolver, A) == {A}
    clock.set(pinged_at + EXPIRY - 0.001)
    assert resolver.expire() == 0 and held(resolver, A) == {A}
    clock.set(pinged_at + EXPIRY)  # three periods after the last ping
    resolver.expire()
    assert held(resolver, A) == set()
    assert resolver.simple_ping(setid) == hresult.OR_INVALID_SET


def test_many_periods_of_pings_keep_a_set(resolver, clock):
    setid = new_set(resolver, [A])
    for _ in range(100):
        clock.advance(PERIOD)
        assert resolver.simple_ping(setid) == 0
        assert resolver.expire() == 0
    assert held(resolver, A) == {A}


def test_an_oid_in_two_sets_is_held_until_both_expire(resolver, clock):
    """3.1.2.6: an expired set drops its hold on each OID; an OID another set holds stays."""
    first = new_set(resolver, [A, B])
    clock.advance(PERIOD)
    second = new_set(resolver, [B, C])
    clock.advance(EXPIRY - PERIOD)
    resolver.expire()
    assert set(resolver.ping_sets()) == {second}
    assert held(resolver, A, B, C) == {B, C}
    clock.advance(PERIOD)
    resolver.expire()
    assert held(resolver, A, B, C) == set()
    assert resolver.simple_ping(first) == resolver.simple_ping(second) == hresult.OR_INVALID_SET


def test_removing_an_oid_from_one_set_leaves_it_held_by_another(resolver):
    first = new_set(resolver, [A])
    new_set(resolver, [A])
    assert resolver.complex_ping(first, 2, [], [A]) == (0, first)
    assert held(resolver, A) == {A}


def test_the_timer_runs_on_its_own(clock):
    """expire() also runs by itself (at most a second apart): no one has to call it."""
    from ..support import wait_until

    res = hand_out(Resolver(DualStringArray, ping_period=0.05, clock=clock))
    try:
        assert res.complex_ping(0, 1, [A], [])[0] == 0
        assert res.ping_set_count == 1
        clock.advance(0.15)
        wait_until(lambda: res.ping_set_count == 0, 10, "the expired set dropped by the timer")
    finally:
        res.close()


# -- the caps (MAX_PING_SETS, MAX_PINGED_OIDS) -------------------------------------------------

def test_no_more_than_max_ping_sets_sets(resolver, clock):
    """The 100,000th set is made; the next is RPC_S_OUT_OF_RESOURCES with SETID 0, and holds
    nothing. Existing sets still work; when one expires, a new one may be made."""
    for n in range(MAX_PING_SETS - 1):  # from many clients: each has a share of its own
        resolver.complex_ping(0, 1, [], [], owner=f"address:{n}")
    clock.advance(PERIOD)
    last = new_set(resolver, [A])
    assert resolver.ping_set_count == MAX_PING_SETS
    assert resolver.complex_ping(0, 1, [B], []) == (hresult.RPC_S_OUT_OF_RESOURCES, 0)
    assert resolver.ping_set_count == MAX_PING_SETS
    assert held(resolver, A, B) == {A}
    assert resolver.complex_ping(last, 2, [C], []) == (0, last)  # a set that exists may change
    assert resolver.simple_ping(last) == 0
    clock.advance(EXPIRY - PERIOD)  # the first sets expire, the last one does not
    resolver.expire()
    assert resolver.ping_set_count == 1
    new_set(resolver, [B])
    assert held(resolver, A, B, C) == {A, B, C}


@pytest.fixture
def oid_cap(monkeypatch):
    """MAX_PINGED_OIDS made small: the real one (4,000,000 OIDs) takes hundreds of MiB."""
    monkeypatch.setattr(resolver_module, "MAX_PINGED_OIDS", 10)
    return 10


def pinged_oid_count(resolver: Resolver) -> int:
    return len(set().union(*(state.oids for state in resolver.ping_sets().values())))


def test_no_more_than_max_pinged_oids_oids(resolver, oid_cap):
    first = new_set(resolver, list(range(1, 9)))                       # 8
    second = new_set(resolver, [9])                                    # 9
    assert resolver.complex_ping(second, 2, [10], []) == (0, second)   # 10: the cap, allowed
    assert pinged_oid_count(resolver) == oid_cap
    assert resolver.complex_ping(second, 3, [11], []) == (hresult.RPC_S_OUT_OF_RESOURCES, second)
    assert resolver.complex_ping(first, 2, [11, 12], [1]) == (hresult.RPC_S_OUT_OF_RESOURCES, first)
    assert pinged_oid_count(resolver) == oid_cap
    assert held(resolver, 1, 11, 12) == {1}  # a refused request changes nothing
    assert oids_of(resolver, second) == {9, 10}
    assert resolver.complex_ping(first, 3, [], [1, 2]) == (0, first)   # room again
    assert resolver.complex_ping(second, 4, [11, 12], []) == (0, second)
    assert pinged_oid_count(resolver) == oid_cap
    assert held(resolver, 1, 2, 11, 12) == {11, 12}


def test_a_refused_complex_ping_is_not_counted_as_applied(resolver, oid_cap):
    """A request refused for lack of room leaves the sequence number alone, so the client's
    next attempt (3.2.6.1: a higher number) is applied."""
    setid = new_set(resolver, list(range(1, 11)))
    assert resolver.complex_ping(setid, 2, [11], [1])[0] == hresult.RPC_S_OUT_OF_RESOURCES
    assert resolver.ping_sets()[setid].sequence == 1
    assert resolver.complex_ping(setid, 3, [], [1]) == (0, setid)
    assert resolver.complex_ping(setid, 4, [11], []) == (0, setid)
    assert oids_of(resolver, setid) == set(range(2, 12))


def test_a_new_set_refused_for_lack_of_room_is_not_made(resolver, oid_cap):
    """The client is told RPC_S_OUT_OF_RESOURCES and keeps no SETID: a set made anyway would
    be one nobody pings, held for three periods."""
    new_set(resolver, list(range(1, 11)))
    assert resolver.complex_ping(0, 1, [11], []) == (hresult.RPC_S_OUT_OF_RESOURCES, 0)
    assert resolver.ping_set_count == 1
    assert held(resolver, 11) == set()


def test_a_refused_complex_ping_still_keeps_the_set_alive(resolver, clock, oid_cap):
    """A client whose additions find no room retries them every period with ComplexPing
    (3.2.6.1) and never sends a SimplePing meanwhile: its refused requests must count as pings,
    or the objects it already holds would be reclaimed after three periods."""
    setid = new_set(resolver, list(range(1, 11)))
    for _ in range(10):
        clock.advance(PERIOD)
        assert resolver.complex_ping(setid, 2, [11], [])[0] == hresult.RPC_S_OUT_OF_RESOURCES
        assert resolver.expire() == 0
    assert held(resolver, 1, 10) == {1, 10}
    clock.advance(EXPIRY)  # and when it stops, the set goes
    resolver.expire()
    assert resolver.ping_set_count == 0


# -- OIDs the machine's exporters handed out, and whose sets are whose ---------------------------

def test_an_oid_no_exporter_handed_out_is_refused_and_nothing_applied(resolver):
    setid = new_set(resolver, [A])
    unknown = 0xDEAD
    assert resolver.complex_ping(setid, 2, [B, unknown], [A]) == (hresult.OR_INVALID_OID, setid)
    assert oids_of(resolver, setid) == {A}  # neither B added nor A removed
    assert resolver.complex_ping(0, 1, [unknown], []) == (hresult.OR_INVALID_OID, 0)
    assert resolver.ping_set_count == 1  # no set made for it


def test_an_oid_the_exporter_released_or_the_exporter_gone_is_refused(resolver):
    resolver.forget_oids(EXPORTER, [A])
    assert resolver.complex_ping(0, 1, [A], []) == (hresult.OR_INVALID_OID, 0)
    resolver.forget_oids(0xBAD, [B])  # another exporter cannot make it forget B
    setid = new_set(resolver, [B])
    resolver.unregister(EXPORTER)
    assert resolver.complex_ping(setid, 2, [C], []) == (hresult.OR_INVALID_OID, setid)


def test_oids_of_an_unknown_exporter_are_not_taken(resolver):
    with pytest.raises(ComError) as info:
        resolver.register_oids(0xBAD, [0x1234])
    assert info.value.hresult == hresult.hresult_from_win32(hresult.OR_INVALID_OXID)
    assert resolver.complex_ping(0, 1, [0x1234], []) == (hresult.OR_INVALID_OID, 0)


def test_a_ping_set_is_its_makers_only(resolver):
    status, setid = resolver.complex_ping(0, 1, [A], [], owner="account:alice")
    assert status == 0
    assert resolver.simple_ping(setid, "account:mallory") == hresult.OR_INVALID_SET
    assert resolver.complex_ping(setid, 2, [], [A], owner="account:mallory") == (
        hresult.OR_INVALID_SET, setid)
    assert oids_of(resolver, setid) == {A}  # mallory removed nothing
    assert resolver.simple_ping(setid, "account:alice") == 0


def test_a_client_drops_the_oids_the_resolver_refuses_and_keeps_pinging_the_others(resolver):
    """pydcom's pinger (MS-DCOM 3.2.6.1) after OR_INVALID_OID: each OID again alone; those
    refused are objects gone, the others are pinged as before."""
    from pydcom.runtime.pinger import Pinger

    with RpcServer("127.0.0.1", 0, interfaces=[resolver.interface()]) as server:
        endpoint = server.address

        def call(where, syntax, opnum, stub, object=None):
            with RpcClient(*where, timeout=5) as rpc:
                return rpc.call(syntax, opnum, stub, object)

        pinger = Pinger(call)
        for oid in (A, 0xDEAD, B):
            pinger.add(endpoint, oid)
        pinger.ping_once()
        [(setid, state)] = resolver.ping_sets().items()
        assert state.oids == {A, B}
        pinger.add(endpoint, C)
        pinger.ping_once()  # the set goes on: C joins it
        assert resolver.ping_sets()[setid].oids == {A, B, C}


def test_one_client_holds_at_most_its_share_of_ping_sets_the_others_keep_theirs(
        resolver, clock, monkeypatch):
    monkeypatch.setattr(resolver_module, "MAX_SETS_PER_CLIENT", 3)
    made = [resolver.complex_ping(0, 1, [A], [], owner="address:10.0.0.9")[1] for _ in range(3)]
    assert all(made)
    assert resolver.complex_ping(0, 1, [A], [], owner="address:10.0.0.9") == (
        hresult.RPC_S_OUT_OF_RESOURCES, 0)
    status, other = resolver.complex_ping(0, 1, [A], [], owner="account:alice")
    assert status == 0 and other  # another client is not held back
    clock.advance(EXPIRY + 1)
    resolver.expire()
    assert resolver.complex_ping(0, 1, [A], [], owner="address:10.0.0.9")[0] == 0  # room again
