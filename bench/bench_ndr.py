"""NDR encode/decode of DCOM-shaped stubs beside a raw struct.pack of the same bytes.

    python bench/bench_ndr.py

A benchmark, not a test: prints microseconds per operation and the ratio to the raw baseline.
"""

from __future__ import annotations

import os
import struct
import sys
import timeit
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pydcom import ndr  # noqa: E402
from pydcom.wire.object_exporter import ComplexPingRequest  # noqa: E402
from pydcom.wire.orpc import COMVERSION, ORPCTHAT, ORPCTHIS, REMQIRESULT, STDOBJREF  # noqa: E402
from pydcom.wire.remunknown import RemQueryInterfaceResponse  # noqa: E402


class SmallRequest(ndr.Params):
    """The shape of a small ORPC request: ORPCTHIS, an IID, a count, a NULL unique pointer."""
    orpcthis = ORPCTHIS
    riid = ndr.GUID
    count = ndr.u32
    name = ndr.unique(ndr.wstring)


def per_call(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    cid, iid = uuid.uuid4(), uuid.uuid4()
    request = SmallRequest(ORPCTHIS(COMVERSION(5, 7), 0, 0, cid, None), iid, 1, None)
    raw = request.encode()
    raw_fmt = struct.Struct("<HHII16sI16sII")

    def raw_pack() -> bytes:
        return raw_fmt.pack(5, 7, 0, 0, cid.bytes_le, 0, iid.bytes_le, 1, 0)

    def raw_unpack():
        return raw_fmt.unpack(raw)

    results = [REMQIRESULT(0, STDOBJREF(0, 5, 1, i, uuid.uuid4())) for i in range(100)]
    response = RemQueryInterfaceResponse(ORPCTHAT(), results, 0)
    response_raw = response.encode()
    ping = ComplexPingRequest(1, 1, 10000, 0, list(range(10000)), None)
    ping_raw = ping.encode()

    rows = [
        ("small request encode", per_call(request.encode, 20000), per_call(raw_pack, 20000)),
        ("small request decode", per_call(lambda: SmallRequest.decode(raw), 20000),
         per_call(raw_unpack, 20000)),
        ("100 REMQIRESULT encode", per_call(response.encode, 500), None),
        ("100 REMQIRESULT decode", per_call(lambda: RemQueryInterfaceResponse.decode(response_raw), 500),
         None),
        ("ComplexPing 10,000 OIDs encode", per_call(ping.encode, 50), None),
        ("ComplexPing 10,000 OIDs decode", per_call(lambda: ComplexPingRequest.decode(ping_raw), 50),
         None),
    ]
    print(f"{'operation':34}{'pydcom us':>12}{'struct us':>12}{'ratio':>8}")
    for name, ours, base in rows:
        ratio = f"{ours / base:8.1f}" if base else ""
        print(f"{name:34}{ours:12.2f}{(base or 0):12.2f}{ratio}" if base else f"{name:34}{ours:12.2f}")


if __name__ == "__main__":
    main()
