"""The client side of DCOM (MS-DCOM 3.2): connections, OXID resolution, proxies, pinging.

One ``ClientRuntime`` per process holds, each under its own lock:
- a pool of RPC connections per machine endpoint, so threads call in parallel;
- the OXID table: what activation replies and ResolveOxid2 taught (bindings, Remote Unknown IPID);
- ping sets, one per remote resolver, kept alive by a timer thread (MS-DCOM 3.2.6.1);
- releases waiting to be sent, batched per exporter into RemRelease calls (MS-DCOM 3.2.4.4.2).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.ndr import NdrError
from pydcom.rpc import RpcClient, SyntaxId
from pydcom.rpc.errors import CallFailed, RpcError, ServerUnavailable
from pydcom.runtime import causality
from pydcom.runtime.apartment import current_apartment
from pydcom.runtime.exporter import ObjectExporter
from pydcom.runtime.interfaces import (
    ORPCTHAT_LEAVES,
    ComInterface,
    Method,
    known_interface,
    syntax_of,
)
from pydcom.runtime.service_link import ServiceLink, service_endpoint
from pydcom.wire import ids, object_exporter as oe
from pydcom.wire.ids import COM_MAJOR_VERSION, COM_MINOR_VERSION
from pydcom.wire.dualstringarray import DualStringArray, StringBinding
from pydcom.wire.errorinfo import error_info_of
from pydcom.wire.objref import DEFAULT_PUBLIC_REFS, ObjRef, ObjRefStandard, StdObjRef
from pydcom.wire.orpc import (
    REMINTERFACEREF,
    MInterfacePointer,
    dualstringarray_of,
    interface_pointer,
    objref_of,
    orpcthis,
)
from pydcom.wire.remunknown import (
    OP_REM_ADD_REF,
    OP_REM_QUERY_INTERFACE,
    OP_REM_RELEASE,
    REMUNKNOWN_SYNTAX,
    RemAddRefRequest,
    RemAddRefResponse,
    RemQueryInterfaceRequest,
    RemQueryInterfaceResponse,
    RemReleaseRequest,
)

log = logging.getLogger("pydcom.runtime")

RESOLVER_PORT = 135  # MS-RPCE 2.1.1.1
# How long a call waits for its answer (PYDCOM_CALL_TIMEOUT): long enough for any real method,
# short enough that a machine that stopped answering frees its caller.
DEFAULT_CALL_TIMEOUT = float(os.environ.get("PYDCOM_CALL_TIMEOUT", "300"))
MAX_PING_CHANGE = 0xFFFF  # cAddToSet / cDelFromSet are unsigned shorts (MS-DCOM 3.1.2.5.1.3)
Endpoint = tuple[str, int]


def endpoint_of(binding: StringBinding, default_port: int | None = None) -> Endpoint:
    """host and port of an ncacn_ip_tcp string binding, "host" or "host[port]"."""
    port = binding.endpoint
    if port is None:
        if default_port is None:
            raise ComError(hresult.hresult_from_win32(hresult.RPC_S_INVALID_BINDING),
                           f"binding {binding.network_addr!r} names no endpoint")
        return binding.host, default_port
    try:
        return binding.host, int(port)
    except ValueError:
        raise ComError(hresult.hresult_from_win32(hresult.RPC_S_INVALID_BINDING),
                       f"binding {binding.network_addr!r} has no TCP port") from None


@dataclass(frozen=True)
class OxidInfo:
    """An OXID table entry (MS-DCOM 3.2.1): where an exporter listens and its Remote Unknown."""

    oxid: int
    endpoint: Endpoint
    ipid_rem_unknown: uuid.UUID
    version: tuple[int, int]
    resolver: Endpoint


class _Pool:
    """Idle connections to one endpoint; a thread takes one, calls, gives it back."""

    def __init__(self, endpoint: Endpoint, connect_timeout: float, call_timeout: float,
                 source: str | None = None) -> None:
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.source = source
        self._idle: list[RpcClient] = []
        self._lock = threading.Lock()

    def take(self) -> RpcClient:
        with self._lock:
            while self._idle:
                client = self._idle.pop()
                if client.usable():
                    return client
        return RpcClient(*self.endpoint, connect_timeout=self.connect_timeout,
                         timeout=self.call_timeout, source=self.source)

    def has_idle(self) -> bool:
        return bool(self._idle)  # a hint: another thread may take it meanwhile

    def give(self, client: RpcClient) -> None:
        if client.closed:
            return
        with self._lock:
            if len(self._idle) < 16:
                self._idle.append(client)
                return
        client.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()


class _PingSet:
    """One remote resolver's ping set as the client keeps it (MS-DCOM 3.2.6.1)."""

    def __init__(self) -> None:
        self.setid = 0
        self.sequence = 0
        self.oids: dict[int, int] = {}  # oid -> proxies holding it
        self.added: set[int] = set()
        self.removed: set[int] = set()


class ClientRuntime:
    """Process-wide DCOM client state. Thread-safe; see the module docstring."""

    def __init__(self, *, connect_timeout: float = 5.0, ping_period: float = 120.0,
                 release_delay: float = 0.05, local_service: str | None = None,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT,
                 local_address: str | None = None) -> None:
        # This machine's address, when the host has several (or stands for several machines):
        # connections go out from it and the exporter of callbacks listens on it.
        self.local_address = local_address
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.local_service = local_service
        self._exporter = None
        self._exporter_lock = threading.Lock()
        self.ping_period = ping_period
        self.release_delay = release_delay
        self._pools: dict[Endpoint, _Pool] = {}
        self._pools_lock = threading.Lock()
        self._oxids: dict[tuple[Endpoint, int], OxidInfo] = {}
        self._oxids_lock = threading.Lock()
        self._pings: dict[Endpoint, _PingSet] = defaultdict(_PingSet)
        self._pings_lock = threading.Lock()
        self._releases: dict[OxidInfo, list[REMINTERFACEREF]] = defaultdict(list)
        self._releases_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._worker = threading.Thread(target=self._background, daemon=True,
                                        name="dcom-client")
        self._worker.start()

    # -- connections -----------------------------------------------------------------------
    def _pool(self, endpoint: Endpoint) -> _Pool:
        pool = self._pools.get(endpoint)  # no lock to look: the table only grows, or is replaced
        if pool is not None:
            return pool
        with self._pools_lock:
            pool = self._pools.get(endpoint)
            if pool is None:
                pool = self._pools[endpoint] = _Pool(endpoint, self.connect_timeout,
                                                     self.call_timeout, self.local_address)
            return pool

    def call(self, endpoint: Endpoint, syntax: SyntaxId, opnum: int, stub: bytes,
             object: uuid.UUID | None = None) -> bytes:
        """One call on a pooled connection. A connection found dead before the request went
        out is replaced once; every failure is an RpcError with its true HRESULT, and no call
        waits longer than ``call_timeout`` for its answer (CallTimedOut, RPC_E_TIMEOUT).

        Made from an apartment's thread, the call waits in ``Apartment.call_out``, so that
        calls of its causality that come back meanwhile run on that thread (MS-DCOM 3.2.4.2:
        a callback carries the cid of the call it answers)."""
        apartment = current_apartment()
        if apartment is not None:
            return apartment.call_out(lambda: self._pooled_call(endpoint, syntax, opnum, stub,
                                                                object), causality.current())
        return self._pooled_call(endpoint, syntax, opnum, stub, object)

    def _pooled_call(self, endpoint: Endpoint, syntax: SyntaxId, opnum: int, stub: bytes,
                     object: uuid.UUID | None) -> bytes:
        pool = self._pool(endpoint)
        for attempt in (0, 1):
            client = pool.take()
            try:
                result = client.call(syntax, opnum, stub, object)
            except ServerUnavailable:
                client.close()
                if attempt:
                    raise
                continue  # a stale pooled connection: the call never went out
            except BaseException:
                client.close()
                raise
            pool.give(client)
            return result
        raise AssertionError("unreachable")

    def prepare(self, endpoint: Endpoint, syntaxes: list[SyntaxId], *,
                quiet: bool = True) -> None:
        """Connect to ``endpoint`` and offer ``syntaxes`` now, without waiting for the answer,
        so that the first call there finds its round trips under way while the caller gets
        that call ready. An activation does this for the service it asks and for the exporter
        it is answered with, which it calls (or at least releases references at) next.
        Nothing is done where a connection is already open. Failures are left for the call,
        except that without ``quiet`` a failure to connect is raised at once, as the call
        would raise it: waiting out a connect timeout twice would say nothing new."""
        pool = self._pool(endpoint)
        if pool.has_idle():
            return
        try:
            client = pool.take()
        except RpcError:
            if quiet:
                return
            raise
        client.offer(syntaxes)
        pool.give(client)

    def exporter(self) -> ObjectExporter:
        """This process's object exporter, for objects it passes to other machines; made on
        first use and joined to this machine's service (PYDCOM_SERVICE, "host[port]";
        127.0.0.1 by default), which its clients ping, as Windows needs rpcss."""
        with self._exporter_lock:
            if self._exporter is None:
                endpoint = service_endpoint(self.local_service)
                link = ServiceLink(endpoint)
                self._exporter = ObjectExporter([self.local_address or endpoint[0]],
                                                resolver_bindings=link.resolver_bindings(),
                                                resolver=link, unmarshal_remote=self.unmarshal)
            return self._exporter

    def marshal(self, value: Any, iid: uuid.UUID) -> MInterfacePointer:
        """An interface pointer parameter for ``value``: a proxy passes its own reference on,
        a local object is exported."""
        to_objref = getattr(value, "_marshal_objref_", None)
        if to_objref is not None:
            return interface_pointer(to_objref(iid))
        return interface_pointer(self.exporter().marshal(value, iid))

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        self._worker.join(5)
        self.flush_releases()
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
        if self._exporter is not None:
            self._exporter.close()

    # -- OXIDs -------------------------------------------------------------------------------
    def learn_oxid(self, info: OxidInfo) -> None:
        with self._oxids_lock:
            self._oxids[(info.resolver, info.oxid)] = info

    def oxid_info(self, resolver: Endpoint, oxid: int) -> OxidInfo:
        """The OXID table entry, resolved with ResolveOxid2 when unknown (MS-DCOM 3.2.4.1.2.2)."""
        with self._oxids_lock:
            info = self._oxids.get((resolver, oxid))
        if info is not None:
            return info
        request = oe.ResolveOxidRequest(oxid, 1, [7]).encode()
        answer = oe.ResolveOxid2Response.decode(
            self.call(resolver, oe.SYNTAX, oe.OP_RESOLVE_OXID2, request))
        if answer.status:
            raise ComError(hresult.hresult_from_win32(answer.status),
                           f"resolving OXID {oxid:#x} at {resolver[0]}[{resolver[1]}]")
        bindings = dualstringarray_of(answer.ppdsaOxidBindings)
        info = OxidInfo(oxid, pick_endpoint(bindings, resolver[0]), answer.pipidRemUnknown,
                        (answer.pComVersion.MajorVersion, answer.pComVersion.MinorVersion),
                        resolver)
        self.learn_oxid(info)
        return info

    def endpoint_alive(self, endpoint: Endpoint) -> bool:
        """Whether anything still takes TCP connections at ``endpoint``."""
        try:
            socket.create_connection(endpoint, timeout=self.connect_timeout).close()
            return True
        except OSError:
            return False

    def resolver_alive(self, resolver: Endpoint) -> bool:
        """ServerAlive (MS-DCOM 3.1.2.5.1.4) answered by the machine's resolver."""
        try:
            stub = self.call(resolver, oe.SYNTAX, oe.OP_SERVER_ALIVE, b"")
            return oe.StatusResponse.decode(stub).status == 0
        except (RpcError, ComError):
            return False

    # -- proxies -----------------------------------------------------------------------------
    def unmarshal(self, objref: ObjRef, resolver_hint: Endpoint | None = None) -> Any:
        """A proxy for an OBJREF_STANDARD (MS-DCOM 3.2.4.1.2); for one naming an object this
        process exports (a callback handed back), that object itself, as COM gives it."""
        if not isinstance(objref, ObjRefStandard):
            raise ComError(hresult.RPC_E_INVALID_OBJREF,
                           f"{type(objref).__name__} cannot be unmarshaled here")
        exporter = self._exporter
        if exporter is not None and objref.std.oxid == exporter.oxid:
            return exporter.unmarshal(objref)
        resolver = resolver_endpoint(objref.resolver, resolver_hint)
        info = self.oxid_info(resolver, objref.std.oxid)
        return Proxy(self, info, objref.iid, objref.std)

    def unmarshal_pointer(self, pointer: MInterfacePointer | None,
                          resolver_hint: Endpoint | None = None) -> Any:
        if pointer is None:
            return None
        return self.unmarshal(objref_of(pointer), resolver_hint)

    # -- references --------------------------------------------------------------------------
    def queue_release(self, info: OxidInfo, ipid: uuid.UUID, public_refs: int) -> None:
        if not public_refs:
            return
        with self._releases_lock:
            self._releases[info].append(REMINTERFACEREF(ipid, public_refs, 0))
        self._wake.set()

    def flush_releases(self) -> None:
        """Send the queued releases: one RemRelease per exporter (MS-DCOM 3.1.1.5.6.1.3)."""
        with self._releases_lock:
            batches, self._releases = self._releases, defaultdict(list)
        for info, refs in batches.items():
            request = RemReleaseRequest(orpcthis(causality.outgoing()), len(refs), refs).encode()
            try:
                self.call(info.endpoint, REMUNKNOWN_SYNTAX, OP_REM_RELEASE, request,
                          info.ipid_rem_unknown)
            except (RpcError, ComError) as exc:
                # The exporter is gone or will reclaim them when the pings stop.
                log.debug("releasing %d references at %s failed: %s", len(refs), info.endpoint, exc)

    # -- pinging (MS-DCOM 3.2.6.1) -------------------------------------------------------------
    def _ping_add(self, resolver: Endpoint, oid: int) -> None:
        with self._pings_lock:
            ping = self._pings[resolver]
            count = ping.oids.get(oid, 0)
            ping.oids[oid] = count + 1
            if not count:
                if oid in ping.removed:
                    ping.removed.discard(oid)
                else:
                    ping.added.add(oid)

    def _ping_remove(self, resolver: Endpoint, oid: int) -> None:
        with self._pings_lock:
            ping = self._pings.get(resolver)
            if ping is None or oid not in ping.oids:
                return
            ping.oids[oid] -= 1
            if ping.oids[oid] <= 0:
                del ping.oids[oid]
                if oid in ping.added:
                    ping.added.discard(oid)
                else:
                    ping.removed.add(oid)

    def ping_once(self) -> None:
        """One round: ComplexPing where a set changed, SimplePing where it did not."""
        with self._pings_lock:
            work = []
            for resolver, ping in list(self._pings.items()):
                if not ping.oids and not ping.removed and not ping.setid:
                    del self._pings[resolver]
                    continue
                work.append((resolver, ping, sorted(ping.added), sorted(ping.removed)))
                ping.added, ping.removed = set(), set()
        for resolver, ping, added, removed in work:
            try:
                self._ping(resolver, ping, added, removed)
            except (RpcError, ComError) as exc:
                log.info("ping to %s[%d] failed: %s", *resolver, exc)
                with self._pings_lock:  # try the changes again next period
                    ping.added.update(o for o in added if o in ping.oids)
                    ping.removed.update(o for o in removed if o not in ping.oids)

    def _ping(self, resolver: Endpoint, ping: _PingSet, added: list[int], removed: list[int]) -> None:
        if ping.setid and not added and not removed:
            answer = oe.StatusResponse.decode(self.call(
                resolver, oe.SYNTAX, oe.OP_SIMPLE_PING, oe.SimplePingRequest(ping.setid).encode()))
            if answer.status == hresult.OR_INVALID_SET:  # the resolver forgot us: start over
                with self._pings_lock:
                    ping.setid, ping.sequence = 0, 0
                    ping.added.update(ping.oids)
            return
        if not ping.setid and not added:
            return
        # cAddToSet and cDelFromSet are 16 bits: larger changes take several ComplexPings.
        for start in range(0, max(len(added), len(removed)), MAX_PING_CHANGE):
            adds = added[start:start + MAX_PING_CHANGE]
            dels = removed[start:start + MAX_PING_CHANGE]
            ping.sequence = (ping.sequence + 1) & 0xFFFF or 1
            request = oe.ComplexPingRequest(ping.setid, ping.sequence, len(adds), len(dels),
                                            adds or None, dels or None).encode()
            answer = oe.ComplexPingResponse.decode(
                self.call(resolver, oe.SYNTAX, oe.OP_COMPLEX_PING, request))
            if answer.status == hresult.OR_INVALID_SET:
                with self._pings_lock:
                    ping.setid, ping.sequence = 0, 0
                    ping.added.update(ping.oids)
                return
            if answer.status:
                raise ComError(hresult.hresult_from_win32(answer.status), "ComplexPing")
            ping.setid = answer.pSetId

    def _background(self) -> None:
        """Send releases soon after they are queued (a short delay gathers a batch), and ping
        every period."""
        next_ping = time.monotonic() + self.ping_period
        while not self._closing.is_set():
            woke = self._wake.wait(max(0.0, next_ping - time.monotonic()))
            if self._closing.is_set():
                return
            try:
                if woke:
                    self._wake.clear()
                    self._closing.wait(self.release_delay)
                    self.flush_releases()
                if time.monotonic() >= next_ping:
                    next_ping = time.monotonic() + self.ping_period
                    self.ping_once()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.warning("client background work failed", exc_info=True)


# Bindings are immutable and a few repeat all the time. A DUALSTRINGARRAY holds at most 128 KiB,
# so 64 kept answers cost at most 8 MiB whatever a peer sends.
@functools.lru_cache(maxsize=64)
def resolver_endpoint(bindings: DualStringArray, hint: Endpoint | None = None) -> Endpoint:
    """Where to reach the resolver an OBJREF names: its first TCP binding, on port 135 unless
    the binding names another ("host[port]", which pydcom services on other ports write)."""
    tcp = bindings.tcp_bindings()
    if not tcp:
        if hint is not None:
            return hint
        raise ComError(hresult.RPC_E_INVALID_OBJREF, "OBJREF names no TCP resolver binding")
    return endpoint_of(tcp[0], RESOLVER_PORT)


@functools.lru_cache(maxsize=64)
def pick_endpoint(bindings: DualStringArray, prefer_host: str | None = None) -> Endpoint:
    """The exporter endpoint to use: one on the host we reached the resolver at, else the first."""
    tcp = [b for b in bindings.tcp_bindings() if b.endpoint is not None]
    if not tcp:
        raise ComError(hresult.hresult_from_win32(hresult.RPC_S_INVALID_BINDING),
                       "exporter bindings name no TCP endpoint")
    for binding in tcp:
        if binding.host == prefer_host:
            return endpoint_of(binding)
    return endpoint_of(tcp[0])


def read_answer(method: Method, data: bytes) -> Any:
    """A method's decoded response; ComError for a failure HRESULT, with the server's error
    information when the ORPCTHAT carries a readable one (MS-DCOM 2.2.21.1)."""
    try:
        answer = method.response.decode(data)
    except NdrError:
        # The HRESULT is the last 4 bytes of every ORPC response (MS-DCOM 3.2.4.2): a failure
        # stays that failure, bare, when what comes before it cannot be read.
        code = struct.unpack_from("<I", data, len(data) - 4)[0] if len(data) >= 12 else 0
        if code & 0x80000000:
            raise ComError(code, f"{method.name} (the rest of its answer is unreadable)") from None
        raise
    code = getattr(answer, method.hresult_name)
    if code & 0x80000000:
        raise remote_error(code, method.name, getattr(answer, method.orpcthat_name))
    return answer


def remote_error(code: int, what: str, orpcthat: Any) -> ComError:
    """The ComError for a failed ORPC call: the HRESULT, and the source and description of the
    error information extension in the response's ORPCTHAT, when it has a readable one
    (MS-DCOM 2.2.21.1-2.2.21.3); otherwise the bare HRESULT."""
    info = error_info_of(orpcthat)
    if info is None:
        return ComError(code, what)
    said = ": ".join(text for text in (info.source, info.description) if text)
    return ComError(code, f"{what}: {said}" if said else what,
                    source=info.source, description=info.description)


class Proxy:
    """A reference to an interface of a remote object (MS-DCOM 3.2.4.4).

    ``query_interface``, ``add_ref`` and ``release`` follow IUnknown; methods of the interface,
    when it is a known ``ComInterface``, are callable by name. The proxy holds the public
    references its OBJREF granted and gives them back with its last release.
    """

    def __init__(self, runtime: ClientRuntime, info: OxidInfo, iid: uuid.UUID, std: StdObjRef) -> None:
        self._runtime = runtime
        self._info = info
        self.iid = iid
        self.oid = std.oid
        self.ipid = std.ipid
        self._lock = threading.Lock()
        self._local_refs = 1
        self._public_refs = std.public_refs
        self._released = False
        self._pinged = not std.no_ping
        if self._pinged:
            runtime._ping_add(info.resolver, std.oid)
        if not std.public_refs:  # MS-DCOM 3.2.4.4.1: get references before use
            self._add_remote_refs(DEFAULT_PUBLIC_REFS)

    # -- IUnknown --------------------------------------------------------------------------
    def query_interface(self, iid: uuid.UUID | str) -> "Proxy":
        """RemQueryInterface (MS-DCOM 3.2.4.4.3); E_NOINTERFACE if the object lacks it."""
        iid = uuid.UUID(str(iid))
        if iid == self.iid:
            self.add_ref()
            return self
        if self._released:
            raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
        [(code, proxy)] = self.remote_query([iid])
        if proxy is None:
            raise ComError(code, f"QueryInterface for {iid}")
        return proxy

    def remote_query(self, iids: list[uuid.UUID]) -> list[tuple[int, "Proxy | None"]]:
        """One RemQueryInterface for several IIDs, each answered with a new reference:
        (HRESULT, proxy or None) per IID (MS-DCOM 3.1.1.5.6.1.1)."""
        request = RemQueryInterfaceRequest(orpcthis(causality.outgoing()), self.ipid,
                                           DEFAULT_PUBLIC_REFS, len(iids), list(iids))
        answer = RemQueryInterfaceResponse.decode(self._call(
            REMUNKNOWN_SYNTAX, OP_REM_QUERY_INTERFACE, request.encode(), self._info.ipid_rem_unknown))
        if answer.hr:
            raise ComError(answer.hr, "RemQueryInterface")
        results = list(answer.ppQIResults or ())
        if len(results) != len(iids):
            raise ComError(hresult.RPC_E_UNEXPECTED, f"{len(results)} answers for {len(iids)} IIDs")
        found: list[tuple[int, Proxy | None]] = []
        for iid, result in zip(iids, results):
            if result.hResult:
                found.append((result.hResult, None))
                continue
            std = result.std
            found.append((hresult.S_OK, Proxy(self._runtime, self._info, iid, StdObjRef(
                std.flags, std.cPublicRefs, std.oxid, std.oid, std.ipid))))
        return found

    def add_ref(self) -> int:
        with self._lock:
            if self._released:
                raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
            self._local_refs += 1
            return self._local_refs

    def release(self) -> int:
        """Drop a local reference; the last one gives the remote references back (batched)."""
        with self._lock:
            if self._released:
                return 0
            self._local_refs -= 1
            if self._local_refs:
                return self._local_refs
            self._released = True
            refs, self._public_refs = self._public_refs, 0
        self._runtime.queue_release(self._info, self.ipid, refs)
        if self._pinged:
            self._runtime._ping_remove(self._info.resolver, self.oid)
        return 0

    def __del__(self) -> None:
        try:
            if not self._released and self._public_refs:
                self._local_refs = 1
                self.release()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def _add_remote_refs(self, count: int) -> None:
        request = RemAddRefRequest(orpcthis(causality.outgoing()), 1,
                                   [REMINTERFACEREF(self.ipid, count, 0)])
        answer = RemAddRefResponse.decode(self._call(
            REMUNKNOWN_SYNTAX, OP_REM_ADD_REF, request.encode(), self._info.ipid_rem_unknown))
        code = answer.hr or (answer.pResults[0] if answer.pResults else hresult.E_UNEXPECTED)
        if code:
            raise ComError(code, "RemAddRef")
        with self._lock:
            self._public_refs += count

    def _call(self, syntax: SyntaxId, opnum: int, stub: bytes, ipid: uuid.UUID) -> bytes:
        """A call on the object's exporter. When the exporter is gone but its machine answers,
        the object is disconnected (RPC_E_DISCONNECTED); when the machine does not answer
        either, the failure stays RPC_S_SERVER_UNAVAILABLE."""
        try:
            return self._runtime.call(self._info.endpoint, syntax, opnum, stub, ipid)
        except (ServerUnavailable, CallFailed) as exc:
            # A connection that broke under the call is also the exporter's death when the
            # exporter no longer takes connections.
            if isinstance(exc, CallFailed) and self._runtime.endpoint_alive(self._info.endpoint):
                raise
            if not self._runtime.resolver_alive(self._info.resolver):
                raise
            raise ComError(hresult.RPC_E_DISCONNECTED,
                           f"the exporter of this object at {self._info.endpoint[0]}"
                           f"[{self._info.endpoint[1]}] is gone") from None

    # -- IClassFactory, with the names of pydcom.runtime.unknown.ClassFactory ------------------
    def create_instance(self, iid: uuid.UUID | str = ids.IID_IUnknown, outer: Any = None) -> "Proxy":
        """IClassFactory::CreateInstance; aggregation does not cross machines."""
        if outer is not None:
            raise ComError(hresult.CLASS_E_NOAGGREGATION, "aggregation across processes")
        return self._class_factory_call("CreateInstance", uuid.UUID(str(iid)))

    def lock_server(self, lock: bool) -> None:
        self._class_factory_call("LockServer", 1 if lock else 0)

    def _class_factory_call(self, name: str, *args: Any) -> Any:
        if self.iid != ids.IID_IClassFactory:
            raise ComError(hresult.E_NOINTERFACE, f"{name} needs IClassFactory")
        interface = known_interface(ids.IID_IClassFactory)
        return self.invoke(interface.by_name(name), *args)

    # -- passing the reference on (MS-DCOM 3.2.4.3) ----------------------------------------------
    def _marshal_objref_(self, iid: uuid.UUID) -> ObjRefStandard:
        if iid != self.iid:
            return self.query_interface(iid)._give_away()
        return self._give_away()

    def detach(self) -> ObjRefStandard:
        """This reference as an OBJREF carrying every public reference the proxy holds; the
        proxy is done (a reference handed on whole, as an activator hands it to its client)."""
        with self._lock:
            if self._released:
                raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
            self._released = True
            refs, self._public_refs = self._public_refs, 0
        if self._pinged:
            self._runtime._ping_remove(self._info.resolver, self.oid)
        return ObjRefStandard(self.iid, StdObjRef(0, refs, self._info.oxid, self.oid, self.ipid),
                              DualStringArray((StringBinding.tcp(*self._info.resolver),)))

    def _give_away(self) -> ObjRefStandard:
        with self._lock:
            spare = self._public_refs > 1
            if spare:
                self._public_refs -= 1
        if not spare:
            self._add_remote_refs(DEFAULT_PUBLIC_REFS)
            with self._lock:
                self._public_refs -= 1
        resolver = DualStringArray((StringBinding.tcp(*self._info.resolver),))
        return ObjRefStandard(self.iid, StdObjRef(0, 1, self._info.oxid, self.oid, self.ipid), resolver)

    # -- calls ---------------------------------------------------------------------------------
    @property
    def interface(self) -> ComInterface | None:
        return known_interface(self.iid)

    def invoke(self, method: Method, *args: Any) -> Any:
        """Call an ORPC method: the [in] values after ORPCTHIS in order; returns the [out]
        values between ORPCTHAT and the HRESULT (one value, a tuple, or None)."""
        if self._released:
            raise ComError(hresult.RPC_E_DISCONNECTED, "the proxy was released")
        ins = method.ins
        if len(args) != len(ins):
            raise ComError(hresult.E_INVALIDARG, f"{method.name} takes {len(ins)} arguments")
        flat = method.flat
        if flat is not None:  # numbers in, numbers out: one struct call each way
            try:
                stub = flat[0].pack(COM_MAJOR_VERSION, COM_MINOR_VERSION, 0, 0,
                                    causality.outgoing(), 0, *args)
            except struct.error as exc:
                raise ComError(hresult.E_INVALIDARG, f"{method.name}: {exc}") from None
            data = self._call(syntax_of(self.iid), method.opnum, stub, self.ipid)
            leaves = flat[1].unpack(data)
            if leaves is not None:
                code = leaves[-1]
                if code & 0x80000000:
                    raise ComError(code, method.name)
                outs = leaves[ORPCTHAT_LEAVES:-1]
                return None if not outs else outs[0] if len(outs) == 1 else outs
            return self._answer(method, data)  # an answer with extensions: read it whole
        values = [orpcthis(causality.outgoing())]
        for (name, pointer), value in zip(ins, args):
            if pointer and value is not None and not isinstance(value, MInterfacePointer):
                value = self._runtime.marshal(value, method.in_iids.get(name, ids.IID_IUnknown))
            values.append(value)
        stub = method.request(*values).encode()
        return self._answer(method, self._call(syntax_of(self.iid), method.opnum, stub,
                                               self.ipid))

    def _answer(self, method: Method, data: bytes) -> Any:
        """The [out] values of a method's response; ComError for a failure HRESULT."""
        answer = read_answer(method, data)
        outs = []
        for name, _, pointer in method.outs:
            value = getattr(answer, name)
            if pointer:
                value = self._runtime.unmarshal_pointer(value, self._info.resolver)
            outs.append(value)
        return None if not outs else outs[0] if len(outs) == 1 else tuple(outs)

    def __getattr__(self, name: str) -> Any:
        interface = known_interface(self.__dict__.get("iid")) if "iid" in self.__dict__ else None
        method = interface.by_name(name) if interface is not None else None
        if method is None:
            raise AttributeError(name)
        return functools.partial(self.invoke, method)

    def __repr__(self) -> str:
        name = self.interface.name if self.interface else str(self.iid)
        return f"<Proxy {name} ipid={self.ipid} at {self._info.endpoint[0]}[{self._info.endpoint[1]}]>"
