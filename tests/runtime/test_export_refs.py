"""Whose references an exporter holds (pydcom.runtime.export_tables): public references are
credited to the client identity they were handed to (MS-DCOM 3.1.1.5.1, 3.1.1.5.6), and
RemRelease (3.1.1.5.6.1.3) or an OBJREF come back (3.1.1.5.3) takes only from the caller's own,
so that one client cannot release another's references."""

from __future__ import annotations

import uuid

from pydcom.rpc.security import AuthLevel, CallSecurity
from pydcom.runtime import causality
from pydcom.runtime.export_tables import THIS_PROCESS, ExportTables
from pydcom.runtime.exporter import ObjectExporter
from pydcom.runtime.iids import IID_IDispatch, IID_IUnknown
from pydcom.wire.objref import ObjRefStandard, StdObjRef
from pydcom.wire.orpc import REMINTERFACEREF

ALICE, BOB, CAROL = "account:alice", "account:bob", "account:carol"


class Thing:
    pass


def release(tables: ExportTables, ipid: uuid.UUID, identity: str, public: int,
            private: int = 0) -> None:
    tables.release_refs([REMINTERFACEREF(ipid, public, private)], identity)


def alive(tables: ExportTables, ipid: uuid.UUID) -> bool:
    return tables.called(ipid) is not None


def test_one_identitys_release_cannot_drop_anothers_references():
    tables = ExportTables()
    entry, _ = tables.add(Thing(), IID_IUnknown, 5, owner=BOB)
    release(tables, entry.ipid, ALICE, 5)
    release(tables, entry.ipid, "anonymous", 1000)
    assert alive(tables, entry.ipid)
    assert entry.public_refs == {BOB: 5}
    assert tables.take_gone() == []


def test_an_identitys_own_release_gives_its_references_back():
    tables = ExportTables()
    entry, _ = tables.add(Thing(), IID_IUnknown, 5, owner=ALICE)
    release(tables, entry.ipid, ALICE, 2)
    assert alive(tables, entry.ipid) and entry.public_refs == {ALICE: 3}
    release(tables, entry.ipid, ALICE, 3)
    assert not alive(tables, entry.ipid)
    assert tables.object_count == 0
    assert tables.take_gone() == [entry.oid]


def test_counts_clamp_at_zero_per_identity():
    tables = ExportTables()
    entry, _ = tables.add(Thing(), IID_IUnknown, 5, owner=ALICE)
    assert tables.add_refs([REMINTERFACEREF(entry.ipid, 2, 0)], BOB) == [0]
    release(tables, entry.ipid, ALICE, 100)  # more than alice holds: hers go, bob's stay
    assert entry.public_refs == {BOB: 2}
    release(tables, entry.ipid, ALICE, 1)  # alice holds none now: nothing changes
    assert entry.public_refs == {BOB: 2}
    release(tables, entry.ipid, BOB, 100)
    assert not alive(tables, entry.ipid)


def test_the_object_goes_only_when_every_holder_has_released():
    tables = ExportTables()
    target = Thing()
    entry, _ = tables.add(target, IID_IUnknown, 5, owner=ALICE)
    tables.add_refs([REMINTERFACEREF(entry.ipid, 1, 0)], BOB)
    tables.add_refs([REMINTERFACEREF(entry.ipid, 0, 2)], CAROL)  # private references
    release(tables, entry.ipid, ALICE, 50)  # more than her own: bob's and carol's stay
    assert alive(tables, entry.ipid)
    assert entry.public_refs == {BOB: 1} and entry.private_refs == {CAROL: 2}
    release(tables, entry.ipid, BOB, 1)
    assert alive(tables, entry.ipid)  # carol's private references hold it
    release(tables, entry.ipid, BOB, 0, 2)  # bob cannot give back carol's private ones
    assert alive(tables, entry.ipid)
    release(tables, entry.ipid, CAROL, 0, 2)
    assert not alive(tables, entry.ipid)
    assert not tables.exported(target)


def test_rem_query_interface_credits_the_caller():
    tables = ExportTables()
    target = Thing()
    first, _ = tables.add(target, IID_IUnknown, 5, owner=ALICE)
    [(code, entry)] = tables.query(first.ipid, [IID_IDispatch], 3,
                                   lambda _: frozenset({IID_IUnknown, IID_IDispatch}), BOB)
    assert code == 0 and entry.public_refs == {BOB: 3}
    release(tables, entry.ipid, ALICE, 3)
    assert alive(tables, entry.ipid)
    release(tables, entry.ipid, BOB, 3)
    assert not alive(tables, entry.ipid)
    assert alive(tables, first.ipid)  # the object's other interface is alice's still


def test_take_back_gives_back_the_senders_references_only():
    tables = ExportTables()
    target = Thing()
    entry, _ = tables.add(target, IID_IUnknown, 5, owner=ALICE)
    assert tables.take_back(entry.ipid, 5, BOB) is target  # bob sends alice's back: no effect
    assert entry.public_refs == {ALICE: 5}
    assert tables.take_back(entry.ipid, 1, ALICE) is target
    assert entry.public_refs == {ALICE: 4}
    tables.take_back(entry.ipid, 4, ALICE)
    assert not alive(tables, entry.ipid)


def test_references_this_process_handed_out_are_given_back_by_any_caller_but_not_others():
    """Marshaled outside any call (an [in] parameter of this process's own call, a callback),
    a reference has no known receiver: whoever gives it back may, after its own; the
    references handed to a named client stay that client's."""
    tables = ExportTables()
    entry, _ = tables.add(Thing(), IID_IUnknown, 5)
    assert entry.public_refs == {THIS_PROCESS: 5}
    tables.add_refs([REMINTERFACEREF(entry.ipid, 2, 0)], BOB)
    tables.add_refs([REMINTERFACEREF(entry.ipid, 3, 0)], ALICE)
    release(tables, entry.ipid, BOB, 100)  # bob's 2, then this process's 5: not alice's 3
    assert entry.public_refs == {ALICE: 3}
    release(tables, entry.ipid, ALICE, 3)
    assert not alive(tables, entry.ipid)


def test_an_exporter_takes_an_objref_back_from_the_caller_it_serves():
    """exporter.unmarshal of one of its own OBJREFs: the references come off the balance of
    the identity of the call being served (MS-DCOM 3.1.1.5.3)."""
    exporter = ObjectExporter(["127.0.0.1"])
    alice = CallSecurity(AuthLevel.PKT_INTEGRITY, 10, "alice", "")
    bob = CallSecurity(AuthLevel.PKT_INTEGRITY, 10, "bob", "")
    target = Thing()
    try:
        objref = causality.run(uuid.uuid4().bytes_le, alice, exporter.marshal, target)
        std = objref.std
        one = ObjRefStandard(objref.iid, StdObjRef(0, 1, std.oxid, std.oid, std.ipid),
                             objref.resolver)  # one reference sent back
        assert causality.run(uuid.uuid4().bytes_le, bob, exporter.unmarshal, one) is target
        assert exporter.unmarshal(one) is target  # outside a call: this process, holding none
        for _ in range(objref.std.public_refs - 1):
            assert causality.run(uuid.uuid4().bytes_le, alice, exporter.unmarshal, one) is target
        assert exporter.exported(target)  # alice's last reference
        causality.run(uuid.uuid4().bytes_le, alice, exporter.unmarshal, one)
        assert not exporter.exported(target)
    finally:
        exporter.close()
