"""Objects one client may have exported for it at a time (pydcom.runtime.export_tables): past
its share it gets RPC_S_OUT_OF_RESOURCES and nothing is made; the other clients keep theirs, and
an object released gives its place back."""

from __future__ import annotations

import uuid

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.rpc.security import AuthLevel, CallSecurity
from pydcom.runtime import causality
from pydcom.runtime.export_tables import ExportTables
from pydcom.runtime.exporter import ObjectExporter
from pydcom.runtime.iids import IID_IUnknown
from pydcom.wire.orpc import REMINTERFACEREF

OUT_OF_RESOURCES = hresult.hresult_from_win32(hresult.RPC_S_OUT_OF_RESOURCES)


class Thing:
    pass


def test_one_clients_share_of_objects_is_bounded_the_others_keep_theirs():
    tables = ExportTables()
    tables.max_per_owner = 2
    first, _ = tables.add(Thing(), IID_IUnknown, 5, owner="account:alice")
    tables.add(Thing(), IID_IUnknown, 5, owner="account:alice")
    with pytest.raises(ComError) as info:
        tables.add(Thing(), IID_IUnknown, 5, owner="account:alice")
    assert info.value.hresult == OUT_OF_RESOURCES
    assert tables.object_count == 2  # nothing was made for the refused one
    tables.add(Thing(), IID_IUnknown, 5, owner="account:bob")  # bob has a share of his own
    tables.add(Thing(), IID_IUnknown, 5, pinned=True, owner="account:alice")  # class objects: not counted
    tables.release_refs([REMINTERFACEREF(first.ipid, 5, 0)], "account:alice")
    tables.add(Thing(), IID_IUnknown, 5, owner="account:alice")  # the released one's place


def test_an_exporter_counts_objects_against_the_caller_it_serves():
    exporter = ObjectExporter(["127.0.0.1"])
    exporter._tables.max_per_owner = 1
    alice = CallSecurity(AuthLevel.PKT_INTEGRITY, 10, "alice", "")
    try:
        causality.run(uuid.uuid4().bytes_le, alice, exporter.marshal, Thing())
        with pytest.raises(ComError) as info:
            causality.run(uuid.uuid4().bytes_le, alice, exporter.marshal, Thing())
        assert info.value.hresult == OUT_OF_RESOURCES
        exporter.marshal(Thing())  # outside a call: this process's own share
    finally:
        exporter.close()
