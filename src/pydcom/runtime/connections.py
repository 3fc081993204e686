"""Pooled RPC connections, one pool per machine endpoint, so that threads call in parallel
(MS-RPCE 3.3: PFC_CONC_MPX is not negotiated, so a connection carries one call at a time).
"""

from __future__ import annotations

import socket
import threading
import uuid

from pydcom.rpc import RpcClient, SyntaxId
from pydcom.rpc.errors import RpcError, ServerUnavailable
from pydcom.rpc.security import ClientAuth
from pydcom.runtime.credentials import Credentials
from pydcom.runtime.endpoints import Endpoint

MAX_IDLE = 16  # idle connections kept per endpoint; more are closed when given back


class ConnectionPool:
    """Idle connections to one endpoint; a thread takes one, calls, gives it back."""

    def __init__(self, endpoint: Endpoint, connect_timeout: float, call_timeout: float,
                 source: str | None = None, auth: ClientAuth | None = None) -> None:
        self.endpoint = endpoint
        self.auth = auth
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
                         timeout=self.call_timeout, source=self.source, auth=self.auth)

    def has_idle(self) -> bool:
        return bool(self._idle)  # a hint: another thread may take it meanwhile

    def idle(self) -> list[RpcClient]:
        """The idle connections now (a copy, for a look)."""
        with self._lock:
            return list(self._idle)

    def give(self, client: RpcClient) -> None:
        if client.closed:
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(client)
                return
        client.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()


class Connections:
    """A pool per endpoint and credentials, made on first use. Every connection goes out from
    ``source`` when given (the machine's own address, when the host stands for several), and
    authenticates as ``credentials`` say for its host."""

    def __init__(self, connect_timeout: float, call_timeout: float,
                 source: str | None = None, credentials: Credentials | None = None) -> None:
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.source = source
        self.credentials = credentials or Credentials()
        self._pools: dict[tuple[Endpoint, ClientAuth | None], ConnectionPool] = {}
        self._lock = threading.Lock()

    def pool(self, endpoint: Endpoint) -> ConnectionPool:
        key = (endpoint, self.credentials.for_host(endpoint[0]))
        pool = self._pools.get(key)  # no lock to look: the table only grows, or is replaced
        if pool is not None:
            return pool
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = ConnectionPool(
                    endpoint, self.connect_timeout, self.call_timeout, self.source, key[1])
            return pool

    def pools(self) -> list[ConnectionPool]:
        return list(self._pools.values())

    def call(self, endpoint: Endpoint, syntax: SyntaxId, opnum: int, stub: bytes,
             object: uuid.UUID | None = None) -> bytes:
        """One call on a pooled connection. A connection found dead before the request went
        out is replaced once; every failure is an RpcError with its true HRESULT."""
        pool = self.pool(endpoint)
        for attempt in (0, 1):
            client = pool.take()
            worked = client.answered  # before this call: a peer that spoke to it once
            try:
                result = client.call(syntax, opnum, stub, object)
            except ServerUnavailable:
                client.close()
                if attempt or not worked:  # a peer that never answered will not now either
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
        pool = self.pool(endpoint)
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

    def alive(self, endpoint: Endpoint) -> bool:
        """Whether anything still takes TCP connections at ``endpoint``."""
        try:
            socket.create_connection(endpoint, timeout=self.connect_timeout).close()
            return True
        except OSError:
            return False

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
