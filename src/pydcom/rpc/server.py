"""A DCE/RPC server over TCP (ncacn_ip_tcp, MS-RPCE 2.1.1.1): the thin socket code around
``ServerConnection``.

Worker threads wait in accept() themselves; each connection has the thread that accepted it,
which reads, dispatches and answers one call at a time, then waits for the next connection (PFC_CONC_MPX is not offered, so a client never has two calls in flight on a
connection, MS-RPCE 3.3.1.5.8). Blocking threads were chosen over asyncio because a call then
costs one recv and one send with no event-loop hop in between: bench/bench_server_model.py
measures both on this machine.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Iterable

from pydcom.hresult import ComError
from pydcom.ndr.errors import NdrError
from pydcom.rpc.calls import CallReceived, ConnectionInfo
from pydcom.rpc.constants import (
    NCA_S_FAULT_NDR,
    NCA_S_FAULT_UNSPEC,
    NCA_S_OP_RNG_ERROR,
    SyntaxId,
)
from pydcom.rpc.errors import RpcFault
from pydcom.rpc.interface import Interface, InterfaceTable
from pydcom.rpc.security import ServerAuth
from pydcom.rpc.server_connection import (
    AssociationGroups,
    ServerConnection,
    ServerLimits,
    ServerState,
)
from pydcom.rpc.sockopts import set_kernel_timeouts
from pydcom.rpc.transport import recv_buffer, send_buffers

log = logging.getLogger(__name__)

# A connection reads into a buffer of its own this long, and keeps only the bytes that came:
# sock.recv(n) would allocate n bytes per read and shrink them, which, across hundreds of
# connection threads, fragments the allocator's arenas until they hold many times the
# memory in use (seen as RSS growing for minutes under load). The buffer is a page mapping
# of its own (recv_buffer), outside those arenas, given back whole when the connection ends.
_RECV_SIZE = 65536
MIN_ACCEPTORS = 2  # workers waiting in accept() from the start
MAX_IDLE_WORKERS = 8


def fault_status_for(exc: BaseException) -> int:
    """The fault status a handler's exception becomes (MS-RPCE 3.3.3.4.1, 3.1.3.5.2)."""
    if isinstance(exc, RpcFault):
        return exc.status
    if isinstance(exc, ComError):
        return exc.hresult
    if isinstance(exc, NdrError):  # MS-RPCE 3.1.3.5.2: unmarshal failures are bad stub data
        return NCA_S_FAULT_NDR
    return NCA_S_FAULT_UNSPEC


class RpcServer:
    """Serves registered interfaces on one TCP address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 interfaces: Iterable[Interface] = (), limits: ServerLimits = ServerLimits(),
                 name: str = "rpc", auth: ServerAuth | None = None) -> None:
        self._requested = (host, port)
        self.auth = auth  # NTLM and the least level a call needs; None: no authentication
        self.limits = limits
        self.name = name
        self._table = InterfaceTable(tuple(interfaces))
        self._table_lock = threading.Lock()
        self._groups = AssociationGroups()
        self._listener: socket.socket | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._per_address: dict[str, int] = {}  # connections open by client address
        self._connections_lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._accepting = 0  # workers waiting in accept()
        self._closing = threading.Event()
        self.address: tuple[str, int] = (host, port)

    # -- interfaces --------------------------------------------------------------------------
    def register(self, interface: Interface) -> None:
        """Serve an interface from now on (replaces one of the same syntax)."""
        with self._table_lock:
            self._table = self._table.with_interface(interface)

    def unregister(self, syntax: SyntaxId) -> None:
        with self._table_lock:
            self._table = self._table.without(syntax)

    def lookup(self, syntax: SyntaxId) -> Interface | None:
        return self._table.lookup(syntax)

    @property
    def interface_count(self) -> int:
        return len(self._table)

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> "RpcServer":
        host, port = self._requested
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit these from the listener (Linux copies them at accept), which
        # saves three system calls per connection: the timeout is the one a connection has
        # until its first bind. accept() itself then wakes that often with EAGAIN, and the
        # worker waits again.
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        set_kernel_timeouts(listener, min(self.limits.bind_timeout, self.limits.idle_timeout))
        try:
            listener.bind((host, port))
            listener.listen(128)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self.address = listener.getsockname()[:2]
        for _ in range(MIN_ACCEPTORS):
            self._spawn_worker()
        log.info("%s serving on %s[%d]", self.name, *self.address)
        return self

    def __enter__(self) -> "RpcServer":
        return self.start() if self._listener is None else self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def connection_count(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting; let each connection finish the call it is in; then close all."""
        if self._closing.is_set():
            return
        self._closing.set()
        listener = self._listener
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
            except OSError:
                pass
            listener.close()
        with self._connections_lock:
            connections = list(self._connections.items())
        for sock, _thread in connections:
            try:
                sock.shutdown(socket.SHUT_RD)  # the reader sees EOF after its current call
            except OSError:
                pass
        for sock, thread in connections:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s: connection thread did not finish in %.1fs", self.name, timeout)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    # -- threads -----------------------------------------------------------------------------
    def _spawn_worker(self) -> None:
        thread = threading.Thread(target=self._worker, daemon=True, name=f"{self.name}-worker")
        with self._connections_lock:
            self._workers.add(thread)
            self._accepting += 1  # counted now, so no second one is started for the same need
        thread.start()

    def _worker(self) -> None:
        """Leader/follower: a worker waits in accept() itself and serves the connection it gets,
        so a new connection wakes one thread, not an acceptor and then a worker. Another worker
        is started only when none is left waiting; at most MAX_IDLE_WORKERS stay idle."""
        listener = self._listener
        assert listener is not None
        try:
            while True:
                try:
                    sock, peer = listener.accept()
                except OSError:
                    if self._closing.is_set():
                        return
                    continue
                host = peer[0]
                with self._connections_lock:
                    self._accepting -= 1
                    closing = self._closing.is_set()
                    full = len(self._connections) >= self.limits.max_connections
                    crowded = (self._per_address.get(host, 0)
                               >= self.limits.max_connections_per_address)
                    if not (closing or full or crowded):
                        self._connections[sock] = threading.current_thread()
                        self._per_address[host] = self._per_address.get(host, 0) + 1
                    short = self._accepting < 1 and not closing
                if short:
                    self._spawn_worker()
                if closing or full or crowded:
                    # INFO, not WARNING: a peer can cause it at will, and `pydcom serve` shows
                    # WARNING without -v.
                    if closing:
                        log.debug("%s: refused connection from %s[%d]: closing", self.name,
                                  *peer[:2])
                    elif full:
                        log.info("%s: refused connection from %s[%d]: max_connections %d "
                                 "reached", self.name, *peer[:2], self.limits.max_connections)
                    else:
                        log.info("%s: refused connection from %s[%d]: "
                                 "max_connections_per_address %d reached", self.name,
                                 *peer[:2], self.limits.max_connections_per_address)
                    sock.close()
                else:
                    self._serve(sock, peer)
                with self._connections_lock:
                    if self._closing.is_set() or self._accepting >= MAX_IDLE_WORKERS:
                        return
                    self._accepting += 1
        finally:
            with self._connections_lock:
                self._workers.discard(threading.current_thread())

    def _serve(self, sock: socket.socket, peer: tuple) -> None:
        info = ConnectionInfo(peer[:2], sock.getsockname()[:2])
        conn = ServerConnection(self.lookup, limits=self.limits, groups=self._groups,
                                connection=info, port_spec=str(self.address[1]),
                                interface_count=lambda: self.interface_count, auth=self.auth)
        sendall, recv_into = sock.sendall, sock.recv_into
        reads = recv_buffer(_RECV_SIZE)
        receive_data, next_event = conn.receive_data, conn.next_event
        receive_buffer, received = conn.receive_buffer, conn.received
        respond, data_to_send = conn.respond, conn.data_to_send
        buffers_to_send = conn.buffers_to_send
        closing, bound = ServerState.CLOSING, ServerState.BOUND
        # Until its first bind is answered a connection has bind_timeout, in all; then each
        # read waits up to idle_timeout.
        bind_deadline = time.monotonic() + self.limits.bind_timeout
        awaiting_bind = True
        try:
            while True:
                try:
                    count = recv_into(reads)
                except BlockingIOError:  # SO_RCVTIMEO expired
                    log.info("%s: closing %s connection from %s", self.name,
                             "unbound" if awaiting_bind else "idle", peer)
                    return
                if not count:
                    return
                receive_data(reads[:count].tobytes())
                call = next_event()
                while call is None:  # a bind, an alter_context, a fault, or not a whole PDU yet
                    out = data_to_send()
                    if out:
                        sendall(out)
                    if awaiting_bind:
                        if conn.state is bound:
                            awaiting_bind = False
                            set_kernel_timeouts(sock, self.limits.idle_timeout)
                        elif time.monotonic() > bind_deadline:
                            log.info("%s: closing connection from %s: no bind in %gs",
                                     self.name, peer, self.limits.bind_timeout)
                            return
                    # A long call arriving in fragments is read into the connection's own
                    # buffer, as much as has come, with no bytes object per read.
                    space = receive_buffer()
                    if space is None:
                        break
                    try:
                        count = recv_into(space)
                    except BlockingIOError:  # SO_RCVTIMEO expired
                        log.info("%s: closing idle connection from %s", self.name, peer)
                        return
                    finally:
                        del space  # before anything can resize the buffer it views
                    if not count:
                        return
                    received(count)
                    call = next_event()
                while call is not None:
                    # The call runs here rather than in a method of its own: on this path each
                    # Python call is measurable (bench/bench_rpc.py).
                    operation = call.interface.operations.get(call.opnum)
                    if operation is None:
                        conn.fault(call, NCA_S_OP_RNG_ERROR, did_not_execute=True)
                    else:
                        try:
                            stub = operation(call)
                        except Exception as exc:  # noqa: BLE001 - a fault, never a crash
                            self._failed(conn, call, exc)
                        else:
                            respond(call, stub)
                    # Read on to the next call before sending, never running it: what the
                    # protocol answers up to there leaves with this call's answer, in order, in
                    # one send.
                    call = next_event()
                    out = buffers_to_send()
                    if len(out) == 1:
                        sendall(out[0])
                    else:  # a fragmented response: its headers and stub pieces in one write
                        send_buffers(sock, out)
                if conn.state is closing:
                    return
        except OSError as exc:
            log.debug("%s: connection from %s ended: %s", self.name, peer, exc)
        finally:
            conn.close()
            with self._connections_lock:
                self._connections.pop(sock, None)
                left = self._per_address.get(peer[0], 1) - 1
                if left:
                    self._per_address[peer[0]] = left
                else:
                    self._per_address.pop(peer[0], None)
            try:
                sock.close()
            except OSError:
                pass

    def _failed(self, conn: ServerConnection, call: CallReceived, exc: Exception) -> None:
        """Queue the fault for an operation that raised (MS-RPCE 3.3.3.4.1)."""
        status = fault_status_for(exc)
        if status == NCA_S_FAULT_UNSPEC:
            log.exception("%s: %s opnum %d raised", self.name, call.interface.syntax, call.opnum,
                          exc_info=exc)
        conn.fault(call, status, getattr(exc, "did_not_execute", False))
