"""A DCE/RPC client over TCP: the thin socket code around ``ClientConnection``.

Thread safety: a client is one connection and runs one call at a time, as a connection without
PFC_CONC_MPX must (MS-RPCE 3.3.1.5.8); threads that share it take turns on its lock. For calls in
parallel, open several clients (the DCOM runtime keeps a pool per machine).

Errors: no connection (refused, unreachable, timed out) → ``ServerUnavailable`` (0x800706BA); the
connection broke after the request went out, so the call may have run → ``CallFailed``
(0x800706BE); a fault PDU → ``RpcFault``; a rejected bind → ``BindRejected``.
"""

from __future__ import annotations

import functools
import ipaddress
import select
import socket
import threading
import uuid
from typing import Iterable

from pydcom.rpc.client_connection import (
    BindOutcome,
    ClientConnection,
    FaultReceived,
    ShutdownReceived,
)
from pydcom.rpc.constants import (
    DEFAULT_MAX_FRAG,
    BindNakReason,
    ContextResult,
    ProviderReason,
    SyntaxId,
)
from pydcom.rpc.errors import (
    BindRejected,
    CallFailed,
    CallTimedOut,
    ProtocolError,
    RpcError,
    RpcFault,
    ServerUnavailable,
)
from pydcom.rpc.security import ClientAuth, SecurityError
from pydcom.rpc.sockopts import set_kernel_timeouts, set_send_timeout
from pydcom.rpc.transport import recv_buffer, send_buffers

_RECV_SIZE = 65536  # read into a buffer of the connection's own (see rpc.server's)


@functools.lru_cache(maxsize=1024)
def _family(host: str) -> int | None:
    """The address family of an address literal; None for a name."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None


def _connect(host: str, port: int, timeout: float, source: str | None = None) -> socket.socket:
    """A blocking TCP connection with TCP_NODELAY, from the address ``source`` if given. An
    address literal skips the name lookup create_connection makes, and the kernel bounds
    connect() by SO_SNDTIMEO, so the socket is never switched to non-blocking mode and back
    (Python's settimeout)."""
    family = _family(host)
    if family is None:
        sock = socket.create_connection((host, port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
        sock.settimeout(None)
    else:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            set_send_timeout(sock, timeout)
            if source and _family(source) == family:  # a v4 source cannot reach a v6 peer
                sock.bind((source, 0))
            sock.connect((host, port))
        except BlockingIOError:  # EINPROGRESS: SO_SNDTIMEO ran out
            sock.close()
            raise TimeoutError(f"no answer in {timeout}s") from None
        except OSError:
            sock.close()
            raise
        set_send_timeout(sock, 0)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class RpcClient:
    """One connection to a DCE/RPC server. ``call`` binds each interface on first use.

    With ``auth`` the first bind authenticates with NTLM at ``auth.level`` (MS-RPCE 3.3.1.5.2)
    and every call is then signed or sealed as that level asks; a server that refuses the
    credentials refuses the first call with access denied (0x80070005)."""

    def __init__(self, host: str, port: int = 135, *, connect_timeout: float = 5.0,
                 timeout: float | None = None, max_frag: int = DEFAULT_MAX_FRAG,
                 feature_negotiation: bool = True, source: str | None = None,
                 auth: ClientAuth | None = None) -> None:
        self.host = host
        self.port = port
        self.auth = auth
        self._conn = ClientConnection(max_xmit_frag=max_frag, max_recv_frag=max_frag,
                                      feature_negotiation=feature_negotiation, auth=auth)
        self._lock = threading.Lock()
        self._closed = False
        self._shutdown_requested = False
        self._last_syntax: SyntaxId | None = None
        self._last_context = 0
        self._offered = False  # a bind went out whose answer has not been read yet
        self._connect_timeout = connect_timeout
        self._answered = False  # the peer has answered a bind: it speaks DCE/RPC to us
        try:
            sock = _connect(host, port, connect_timeout, source)
        except OSError as exc:
            raise ServerUnavailable(f"cannot connect to {host}[{port}]: {exc}") from None
        if timeout:  # every read and write bounded in the kernel: no poll() per call
            set_kernel_timeouts(sock, timeout)
        self.timeout = timeout
        self._sock = sock
        self._reads = recv_buffer(_RECV_SIZE)
        self._poll = select.poll()  # for usable(): a poll object costs a third of select()
        self._poll.register(sock, select.POLLIN)

    # -- life cycle --------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RpcClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def local_address(self) -> tuple[str, int]:
        return self._sock.getsockname()[:2]

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def answered(self) -> bool:
        """Whether the peer has answered a bind on this connection (it speaks DCE/RPC to us)."""
        return self._answered

    def usable(self) -> bool:
        """False once the server closed its end or anything broke; checked without blocking
        (beyond reading an offered bind's answer that has arrived)."""
        if self._closed or self._shutdown_requested:
            return False
        try:
            readable = self._poll.poll(0)
            if readable and self._offered:
                # The answer to an offer is all an idle connection may hold: read it, so that
                # an end of the connection behind it shows.
                with self._lock:
                    if self._offered:
                        self._bind_answer()
                readable = self._poll.poll(0)
            if readable and not self._sock.recv(1, socket.MSG_PEEK):
                self.close()
                return False
        except (OSError, ValueError, RpcError):
            self.close()
            return False
        return True

    @property
    def assoc_group_id(self) -> int:
        return self._conn.assoc_group_id

    @property
    def max_xmit_frag(self) -> int:
        return self._conn.max_xmit_frag

    @property
    def features(self) -> int:
        return self._conn.features

    # -- binding -----------------------------------------------------------------------------
    def bind(self, *syntaxes: SyntaxId, assoc_group_id: int = 0) -> BindOutcome:
        """Offer interfaces (bind first, alter_context after). BindRejected on bind_nak."""
        with self._lock:
            return self._bind_locked(syntaxes, assoc_group_id)

    def _bind_locked(self, syntaxes: Iterable[SyntaxId], assoc_group_id: int = 0) -> BindOutcome:
        if self._offered:
            self._bind_answer()
        self._check_open()
        self._send([self._conn.bind(syntaxes, assoc_group_id)])
        return self._bind_answer()

    def _bind_answer(self) -> BindOutcome:
        self._offered = False
        if self._answered:
            outcome = self._receive_event(bind=True)
        else:
            outcome = self._first_bind_answer()
        assert isinstance(outcome, BindOutcome)
        after = self._conn.data_to_send()  # the auth3 that finishes the handshake
        if after:
            self._send([after])
        if outcome.nak_reason is not None:
            self.close()
            raise BindRejected(f"{self.host}[{self.port}] rejected the bind "
                               f"(reason {outcome.nak_reason})", outcome.nak_reason)
        if outcome.fault is not None:
            # The server refused the whole alter_context and kept the connection and the
            # contexts bound before it (MS-RPCE 3.3.1.5.2.1): report its status as any fault.
            raise RpcFault(outcome.fault, f"{self.host}[{self.port}] refused the alter_context "
                                          f"with fault status 0x{outcome.fault:08X}")
        return outcome

    def _first_bind_answer(self) -> BindOutcome:
        """The first bind's answer completes the connection, so the connect timeout bounds it:
        a peer that accepts and never answers is as unavailable as one that never accepts."""
        set_kernel_timeouts(self._sock, self._connect_timeout)
        try:
            outcome = self._receive_event(bind=True)
        except ServerUnavailable as exc:
            if not isinstance(exc.__cause__, CallTimedOut):  # closed, not silent: said as it is
                raise
            raise ServerUnavailable(f"{self.host}[{self.port}] accepted the connection but did "
                                    f"not answer its bind in {self._connect_timeout:g}s") from None
        finally:
            if not self._closed:
                set_kernel_timeouts(self._sock, self.timeout or 0)
        self._answered = True
        return outcome

    def offer(self, syntaxes: Iterable[SyntaxId]) -> None:
        """Send a bind (or alter_context) for those of ``syntaxes`` not bound yet, without
        waiting: its answer is read before this connection's next call or bind, so the round
        trip overlaps whatever the caller does meanwhile. Errors surface there too."""
        with self._lock:
            missing = [s for s in syntaxes if s not in self._conn.contexts]
            if not missing or self._offered or self._closed:
                return
            try:
                self._send([self._conn.bind(missing)])
            except ServerUnavailable:
                return  # closed: the pool replaces it, and the next call says what is wrong
            self._offered = True

    def context_for(self, syntax: SyntaxId) -> int:
        with self._lock:
            return self._context_locked(syntax)

    def _context_locked(self, syntax: SyntaxId) -> int:
        if self._offered:
            self._bind_answer()
        context_id = self._conn.contexts.get(syntax)
        if context_id is not None:
            return context_id
        outcome = self._bind_locked([syntax])
        if syntax not in outcome.accepted:
            result = outcome.rejected.get(syntax)
            # A context refused for the server's context limit is what a bind_nak reason 2
            # says for a whole bind (MS-RPCE 3.3.3.5.5): report it the same way.
            limit = (result is not None and result.result == ContextResult.PROVIDER_REJECTION
                     and result.reason == ProviderReason.LOCAL_LIMIT_EXCEEDED)
            raise BindRejected(f"{self.host}[{self.port}] does not serve {syntax}: {result}",
                               BindNakReason.LOCAL_LIMIT_EXCEEDED if limit else None)
        return outcome.accepted[syntax]

    # -- calls -------------------------------------------------------------------------------
    def call(self, syntax: SyntaxId, opnum: int, stub: bytes = b"",
             object: uuid.UUID | None = None) -> bytes:
        """Make one call and return the response stub. RpcFault if the server faults it."""
        with self._lock:
            if syntax is self._last_syntax and not self._offered:
                context_id = self._last_context  # hashing a SyntaxId hashes a UUID: skip it
            else:
                context_id = self._context_locked(syntax)
                self._last_syntax, self._last_context = syntax, context_id
            if self._closed:
                self._check_open()
            conn = self._conn
            single = conn.single_request(context_id, opnum, stub, object)
            if single is not None:
                # _send and _recv, inlined: on this path every Python call is measurable.
                call_id, request = single
                try:
                    self._sock.sendall(request)
                except OSError as exc:
                    self._send_failed(exc)
                try:
                    count = self._sock.recv_into(self._reads)
                except OSError as exc:
                    self._recv_failed(exc)
                if not count:
                    self._recv_failed(None)
                stub = conn.single_response(call_id, self._reads[:count].tobytes())
                if stub is not None:
                    return stub
            else:
                call_id, fragments = conn.fragments(context_id, opnum, stub, object)
                try:  # every fragment in one gathering write: the stub is not copied
                    send_buffers(self._sock, [part for parts in fragments for part in parts])
                except OSError as exc:
                    self._send_failed(exc)
                data = self._recv()
                if conn.security is not None:
                    try:
                        stub = conn.signed_response(call_id, data)
                    except SecurityError:
                        self.close()
                        raise
                    if stub is not None:
                        return stub
                else:
                    conn.receive_data(data)
            event = self._receive_event(bind=False)
            while event.call_id != call_id:  # a late answer to an abandoned call
                event = self._receive_event(bind=False)
            if isinstance(event, FaultReceived):
                raise RpcFault(event.status, did_not_execute=event.did_not_execute)
            return event.stub

    # -- socket plumbing ---------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ServerUnavailable(f"connection to {self.host}[{self.port}] is closed")

    def _send(self, fragments: list[bytes]) -> None:
        try:
            for fragment in fragments:
                self._sock.sendall(fragment)
        except OSError as exc:
            self._send_failed(exc)

    def _send_failed(self, exc: OSError) -> None:
        # The last fragment did not go out whole, so the server cannot have run the call.
        self.close()
        raise ServerUnavailable(f"sending to {self.host}[{self.port}] failed: {exc}") from None

    def _recv(self) -> bytes:
        try:
            count = self._sock.recv_into(self._reads)
        except OSError as exc:
            self._recv_failed(exc)
        if not count:
            self._recv_failed(None)
        return self._reads[:count].tobytes()

    def _recv_into(self, space: memoryview) -> int:
        try:
            count = self._sock.recv_into(space)
        except OSError as exc:
            self._recv_failed(exc)
        if not count:
            self._recv_failed(None)
        return count

    def _recv_failed(self, exc: OSError | None) -> None:
        """The request went out and no answer came: the call may have run."""
        self.close()
        if isinstance(exc, (socket.timeout, BlockingIOError)):  # SO_RCVTIMEO ran out
            raise CallTimedOut(f"no answer from {self.host}[{self.port}] in "
                               f"{self.timeout}s") from None
        if exc is None:
            raise CallFailed(f"{self.host}[{self.port}] closed the connection")
        raise CallFailed(f"connection to {self.host}[{self.port}] broke: {exc}") from None

    def _receive_event(self, bind: bool):
        conn = self._conn
        while True:
            try:
                event = conn.next_event()
            except (ProtocolError, SecurityError):
                self.close()
                raise
            if event is None:
                try:
                    space = conn.receive_buffer()
                    if space is None:
                        conn.receive_data(self._recv())
                    else:  # a long response: read into the connection's own buffer
                        conn.received(self._recv_into(space))
                        del space  # before anything can resize the buffer it views
                except CallFailed as exc:
                    if bind:  # nothing ran yet: the server is not there for us
                        raise ServerUnavailable(exc.detail) from exc
                    raise
                continue
            if isinstance(event, ShutdownReceived):
                self._shutdown_requested = True  # finish this call; usable() turns false
                continue
            if bind != isinstance(event, BindOutcome):
                self.close()
                raise ProtocolError(f"unexpected {type(event).__name__} from "
                                    f"{self.host}[{self.port}]")
            return event
