"""The object resolver's ServerAlive2 and ResolveOxid2 replies byte for byte (MS-DCOM
3.1.2.5.1.5-6, the DUALSTRINGARRAY of 2.2.19, NDR of C706 chapter 14), read back by pydcom and
by impacket.

Two things in these replies look wrong to Wireshark 4.0 and are right by the spec. The tests
keep them so, so that nobody "fixes" them for the dissector:

- When aStringArray holds an odd number of unsigned shorts, the stub has 2 zero bytes after it:
  the next [out] parameter (pReserved, or the IPID) is 4-byte aligned. Wireshark's ServerAlive2
  dissector reads the last 8 bytes right after the array without aligning, so it reports them
  as a "Long frame (2 bytes)".
- With no security, the security part is an empty SECURITYBINDING (wAuthnSvc 0,
  RPC_C_AUTHN_NONE, alone) and then the terminator, the same pair of zeros as in the spec's
  smallest array (2.2.19.1). Wireshark's DUALSTRINGARRAY dissector stops at the first zero
  there and ignores wNumEntries, so it falls 2 bytes short of the array's end.
"""

from __future__ import annotations

import struct
import uuid

import pytest
from impacket.dcerpc.v5 import dcomrt

from pydcom.rpc import RpcClient, RpcServer
from pydcom.service.resolver import ExporterRecord, Resolver
from pydcom.wire import object_exporter as oe
from pydcom.wire.dualstringarray import DualStringArray, SecurityBinding, StringBinding
from pydcom.wire.orpc import dualstringarray_of

OXID = 0x1122334455667788
IPID = uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10")
NTLM = (SecurityBinding(0x0A, ""),)
REFERENT = b"\x00\x00\x02\x00"  # the unique pointer's referent id, as Windows numbers them


def utf16z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\x00\x00"


def array(address: str, security: bytes) -> bytes:
    """aStringArray: one ncacn_ip_tcp STRINGBINDING, its terminator, then ``security``."""
    return b"\x07\x00" + utf16z(address) + b"\x00\x00" + security


NTLM_SECURITY = b"\x0a\x00" + b"\xff\xff" + utf16z("") + b"\x00\x00"
# an empty SECURITYBINDING (RPC_C_AUTHN_NONE), then the terminator
NO_SECURITY = b"\x00\x00" + b"\x00\x00"

CASES = {
    # address, security bindings, aStringArray, the NDR pad after it
    "odd count, NTLM": ("10.0.0.1", NTLM, array("10.0.0.1", NTLM_SECURITY), b"\x00\x00"),
    "even count, NTLM": ("10.0.0.12", NTLM, array("10.0.0.12", NTLM_SECURITY), b""),
    "odd count, no security": ("10.0.0.1", (), array("10.0.0.1", NO_SECURITY), b"\x00\x00"),
    "even count, no security": ("10.0.0.12", (), array("10.0.0.12", NO_SECURITY), b""),
}


@pytest.fixture
def ask():
    """ask(bindings, opnum, stub) -> the reply stub from a resolver with those bindings, over
    loopback RPC (the resolver gives a loopback caller its loopback bindings as they are)."""
    servers = []

    def ask(bindings: DualStringArray, opnum: int, stub: bytes = b"") -> bytes:
        resolver = Resolver(lambda: bindings)
        resolver.register(ExporterRecord(OXID, bindings, IPID, authn_hint=2))
        server = RpcServer("127.0.0.1", 0, interfaces=[resolver.interface()]).start()
        servers.append((server, resolver))
        with RpcClient(*server.address, connect_timeout=5, timeout=10) as client:
            return client.call(oe.SYNTAX, opnum, stub)

    try:
        yield ask
    finally:
        for server, resolver in servers:
            server.close()
            resolver.close()


@pytest.mark.parametrize("case", CASES)
def test_server_alive2_reply(ask, case):
    address, security, entries, pad = CASES[case]
    bindings = DualStringArray((StringBinding.tcp(address),), security)
    count = len(entries) // 2
    offset = 1 + len(address) + 1 + 1  # the tower id, the address and its NUL, the terminator
    stub = ask(bindings, oe.OP_SERVER_ALIVE2)

    assert (count % 2 == 1) == bool(pad)
    assert stub == (b"\x05\x00\x07\x00"  # pComVersion 5.7
                    + REFERENT + struct.pack("<I", count)  # *ppdsaOrBindings, max_count
                    + struct.pack("<HH", count, offset) + entries
                    + pad  # aligns pReserved to 4 (C706 14.2.2)
                    + bytes(4)  # pReserved, 0 (3.1.2.5.1.6)
                    + bytes(4))  # error_status_t

    ours = oe.ServerAlive2Response.decode(stub)
    assert (ours.pComVersion.MajorVersion, ours.pComVersion.MinorVersion) == (5, 7)
    assert dualstringarray_of(ours.ppdsaOrBindings) == bindings
    assert (ours.pReserved, ours.status) == (0, 0)

    theirs = dcomrt.ServerAlive2Response(stub)
    assert theirs["ppdsaOrBindings"]["wNumEntries"] == count
    assert theirs["ppdsaOrBindings"]["wSecurityOffset"] == offset
    shorts = list(struct.unpack(f"<{count}H", entries))
    assert list(theirs["ppdsaOrBindings"]["aStringArray"]) == shorts
    assert theirs["ErrorCode"] == 0


@pytest.mark.parametrize("case", CASES)
def test_resolve_oxid2_reply(ask, case):
    address, security, entries, pad = CASES[case]
    bindings = DualStringArray((StringBinding.tcp(address, 4966),), security)
    entries = entries.replace(utf16z(address), utf16z(f"{address}[4966]"))  # 6 more shorts
    count = len(entries) // 2
    request = oe.ResolveOxidRequest(OXID, 1, [7]).encode()
    stub = ask(bindings, oe.OP_RESOLVE_OXID2, request)

    offset = 1 + len(address) + 6 + 1 + 1
    assert (count % 2 == 1) == bool(pad)
    assert stub == (REFERENT + struct.pack("<I", count)  # *ppdsaOxidBindings, max_count
                    + struct.pack("<HH", count, offset) + entries
                    + pad  # the IPID is 4-byte aligned
                    + IPID.bytes_le + struct.pack("<I", 2)  # pipidRemUnknown, pAuthnHint
                    + b"\x05\x00\x07\x00" + bytes(4))  # pComVersion, error_status_t

    ours = oe.ResolveOxid2Response.decode(stub)
    assert dualstringarray_of(ours.ppdsaOxidBindings) == bindings
    assert (ours.pipidRemUnknown, ours.pAuthnHint, ours.status) == (IPID, 2, 0)

    theirs = dcomrt.ResolveOxid2Response(stub)
    shorts = list(struct.unpack(f"<{count}H", entries))
    assert list(theirs["ppdsaOxidBindings"]["aStringArray"]) == shorts
    assert theirs["pipidRemUnknown"] == IPID.bytes_le
    assert (theirs["pAuthnHint"], theirs["ErrorCode"]) == (2, 0)
