"""pydcom's NDR beside an independent encoder, impacket's.

Compared byte for byte, except where impacket departs from the spec (SPEC-NOTES section 9):
- alignment padding: impacket writes filler bytes (0xAA, 0xBF, 0xCC, ...), MS-DCOM 2.2 says 0;
  ``same_but_padding`` accepts a difference only where pydcom wrote 0 and impacket a filler byte;
- referent ids: impacket draws them at random; the tests set them to Windows' values first.
Where the layouts themselves differ, the test checks that impacket reads what pydcom writes.
"""

from __future__ import annotations

import uuid

from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dtypes import NULL

from pydcom.wire.object_exporter import ComplexPingRequest
from pydcom.wire.orpc import (
    COMVERSION,
    DUALSTRINGARRAY,
    ORPCTHAT,
    ORPCTHIS,
    REMQIRESULT,
    STDOBJREF,
    MInterfacePointer,
)
from pydcom.wire.remunknown import RemQueryInterfaceResponse

G1 = uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10")
FILLERS = {0xAA, 0xAB, 0xBF, 0xCC, 0xCA, 0xDD, 0xFA}


def same_but_padding(ours: bytes, theirs: bytes) -> bool:
    return len(ours) == len(theirs) and all(
        a == b or (a == 0 and b in FILLERS) for a, b in zip(ours, theirs))


def test_orpcthis():
    theirs = dcomrt.ORPCTHIS()
    theirs["version"]["MajorVersion"] = 5
    theirs["version"]["MinorVersion"] = 7
    theirs["flags"] = 0
    theirs["reserved1"] = 0
    theirs["cid"] = G1.bytes_le
    theirs["extensions"] = NULL
    ours = ORPCTHIS(COMVERSION(5, 7), 0, 0, G1, None).encode()
    assert ours == theirs.getData()


def test_dualstringarray():
    entries = [7, *map(ord, "127.0.0.1"), 0, 0, 0x0A, 0xFFFF, 0, 0]
    theirs = dcomrt.DUALSTRINGARRAY()
    theirs["wNumEntries"] = len(entries)
    theirs["wSecurityOffset"] = 12
    theirs["aStringArray"] = entries
    ours = DUALSTRINGARRAY(len(entries), 12, entries).encode()
    assert ours == theirs.getData()


def test_remqiresult_differs_only_in_padding():
    theirs = dcomrt.REMQIRESULT()
    theirs["hResult"] = 0
    theirs["std"]["flags"] = 0
    theirs["std"]["cPublicRefs"] = 5
    theirs["std"]["oxid"] = 0x1122334455667788
    theirs["std"]["oid"] = 42
    theirs["std"]["ipid"] = G1.bytes_le
    ours = REMQIRESULT(0, STDOBJREF(0, 5, 0x1122334455667788, 42, G1)).encode()
    assert same_but_padding(ours, theirs.getData())
    assert ours[4:8] == bytes(4)  # pydcom's padding is zero


def test_minterfacepointer():
    blob = b"MEOW" + bytes(60)
    theirs = dcomrt.MInterfacePointer()
    theirs["ulCntData"] = len(blob)
    theirs["abData"] = list(blob)
    ours = MInterfacePointer(len(blob), blob).encode()
    assert ours == theirs.getData()


def test_complexping_with_windows_referent_ids():
    theirs = dcomrt.ComplexPing()
    theirs["pSetId"] = 9
    theirs["SequenceNum"] = 1
    theirs["cAddToSet"] = 2
    theirs["cDelFromSet"] = 1
    for field, oids in (("AddToSet", (100, 200)), ("DelFromSet", (300,))):
        for value in oids:
            oid = dcomrt.OID()
            oid["Data"] = value
            theirs[field].append(oid)
    theirs.fields["AddToSet"].fields["ReferentID"] = 0x20000
    theirs.fields["DelFromSet"].fields["ReferentID"] = 0x20004
    ours = ComplexPingRequest(9, 1, 2, 1, [100, 200], [300]).encode()
    assert same_but_padding(ours, theirs.getData())
    parsed = dcomrt.ComplexPing(ours)
    assert [o["Data"] for o in parsed["AddToSet"]] == [100, 200]
    assert [o["Data"] for o in parsed["DelFromSet"]] == [300]


def test_impacket_reads_a_pydcom_remqueryinterface_response():
    # With one result impacket's missing max_count lands in the padding (SPEC-NOTES 9 #7).
    result = REMQIRESULT(0, STDOBJREF(0, 5, 7, 8, G1))
    ours = RemQueryInterfaceResponse(ORPCTHAT(), [result], 0).encode()
    parsed = dcomrt.RemQueryInterfaceResponse(ours)
    assert parsed["ppQIResults"]["std"]["oid"] == 8
    assert parsed["ppQIResults"]["std"]["ipid"] == G1.bytes_le
    assert parsed["ErrorCode"] == 0
