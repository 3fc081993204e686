"""Server processes of the machine: launching them, their registrations, their class objects.

This is the CLSID table of the resolver (MS-DCOM 3.1.2.1): per CLSID, the exporter of the server
process that registered it. A class with a Python import path runs in a
surrogate; a class with a command line runs as its own program. Either is started on the first
activation and reused by later ones; one launch per class runs at a time, and callers of the same
class wait for it, up to a bound, after which they get CO_E_SERVER_EXEC_FAILURE.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.service.classes import ClassEntry
from pydcom.service.resolver import ExporterRecord, Resolver

log = logging.getLogger(__name__)

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class _Launch:
    """A server process the service started, and what it is waiting for."""

    clsid: uuid.UUID
    token: str
    process: subprocess.Popen
    registered: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _Registration:
    """An exporter registered with the service: the secret its later requests carry, and the
    launch it proved it came from with its token (None: a client's exporter of callbacks)."""

    secret: uuid.UUID
    launch: _Launch | None


class Hosting:
    """Registered classes by CLSID, and the server processes behind them. One lock."""

    def __init__(self, service_endpoint: str, hosts: list[str], resolver: Resolver, *,
                 start_timeout: float = 30.0, grace: float = 5.0,
                 environment: Callable[[ClassEntry], dict[str, str]] = lambda entry: {}
                 ) -> None:
        """``environment(entry)``: what the server process of a class gets in its environment
        beyond the service's own (the security its exporter applies)."""
        self.service_endpoint = service_endpoint
        self.environment = environment
        self.hosts = hosts
        self.resolver = resolver
        self.start_timeout = start_timeout
        self.grace = grace
        self._lock = threading.Lock()
        self._classes: dict[uuid.UUID, int] = {}  # clsid -> oxid of the exporter serving it
        self._launches: dict[uuid.UUID, _Launch] = {}  # clsid -> the last launch
        self._tokens: dict[str, _Launch] = {}  # launch tokens not yet used to register
        self._registrations: dict[int, _Registration] = {}  # by OXID
        self.launch_count = 0  # server processes started so far

    # -- registrations from server processes ---------------------------------------------------
    def register_server(self, record: ExporterRecord, token: str = "") -> uuid.UUID:
        """Add an exporter; the secret its later requests must carry. A process proves that
        the service started it with its launch token, once; a process without one (a
        client passing callbacks) may register an exporter but no class."""
        with self._lock:
            launch = None
            if token:
                launch = self._tokens.pop(token, None)
                if launch is None:
                    raise ComError(hresult.E_ACCESSDENIED, "an unknown or used launch token")
            if record.oxid in self._registrations:
                raise ComError(hresult.E_ACCESSDENIED, f"OXID {record.oxid:#x} is registered")
            registration = _Registration(uuid.uuid4(), launch)
            self._registrations[record.oxid] = registration
        self.resolver.register(record)
        return registration.secret

    def registration(self, oxid: int, secret: uuid.UUID) -> _Registration:
        """The registration of ``oxid``, if ``secret`` is its own; E_ACCESSDENIED if not."""
        with self._lock:
            found = self._registrations.get(oxid)
        if found is None or found.secret != secret:
            raise ComError(hresult.E_ACCESSDENIED, f"OXID {oxid:#x} is not this caller's")
        return found

    def _launch_of(self, oxid: int) -> _Launch | None:
        """The launch behind ``oxid``: None unless this service started its process."""
        with self._lock:
            found = self._registrations.get(oxid)
        return found.launch if found is not None else None

    def token_of(self, oxid: int) -> str:
        """The launch token of the process behind ``oxid`` ("" if the service did not start it)."""
        launch = self._launch_of(oxid)
        return launch.token if launch is not None else ""

    def register_class(self, oxid: int, clsid: uuid.UUID, secret: uuid.UUID) -> None:
        """A server process serves ``clsid``: only one the service started for that class."""
        launch = self.registration(oxid, secret).launch
        if launch is None or launch.clsid != clsid:
            raise ComError(hresult.E_ACCESSDENIED,
                           f"exporter {oxid:#x} was not started for class {format_guid(clsid)}")
        with self._lock:
            self._classes[clsid] = oxid
        launch.registered.set()
        log.info("class %s registered by exporter %#x", format_guid(clsid), oxid)

    def revoke_class(self, oxid: int, clsid: uuid.UUID, secret: uuid.UUID) -> None:
        self.registration(oxid, secret)
        with self._lock:
            if self._classes.get(clsid) == oxid:
                del self._classes[clsid]

    def unregister_server(self, oxid: int, secret: uuid.UUID) -> None:
        self.registration(oxid, secret)
        self._drop(oxid)

    def _drop(self, oxid: int) -> None:
        self.resolver.unregister(oxid)
        with self._lock:
            self._registrations.pop(oxid, None)
            for clsid in [c for c, owner in self._classes.items() if owner == oxid]:
                del self._classes[clsid]

    # -- activation ------------------------------------------------------------------------------
    def server_for(self, entry: ClassEntry) -> ExporterRecord:
        """The exporter serving ``entry``'s class, starting its server if none runs."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            with self._lock:
                oxid = self._classes.get(entry.clsid)
                record = self.resolver.exporter(oxid) if oxid is not None else None
                if record is not None:
                    return record
                launch = self._launches.get(entry.clsid)
                if launch is None or launch.process.poll() is not None or launch.registered.is_set():
                    launch = self._start(entry)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._wait(launch, remaining):
                self._abandon(launch)
                raise ComError(hresult.CO_E_SERVER_EXEC_FAILURE,
                               f"the server of {entry.clsid} did not register its class object "
                               f"within {self.start_timeout:.0f}s")

    def running(self, oxid: int) -> bool:
        """Whether the process behind ``oxid`` is one this service started and still runs."""
        launch = self._launch_of(oxid)
        return launch is not None and launch.process.poll() is None

    def forget(self, oxid: int) -> None:
        """Drop a server that failed to answer (every class it served), so the next
        activation starts anew."""
        self._drop(oxid)

    def _wait(self, launch: _Launch, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if launch.registered.wait(0.05):
                return True
            if launch.process.poll() is not None:
                log.warning("server of %s exited with status %s before registering",
                            format_guid(launch.clsid), launch.process.returncode)
                return False
        return False

    def _start(self, entry: ClassEntry) -> _Launch:
        """Start the server of a class (caller holds the lock)."""
        token = secrets.token_hex(16)
        if entry.python:
            what = f"python {entry.python}"
            argv = [sys.executable, "-m", "pydcom.runtime.surrogate", "--clsid", str(entry.clsid),
                    "--python", entry.python, "--grace", str(self.grace)]
            for iid in entry.interfaces:
                argv += ["--interface", str(iid)]
            if entry.threading:
                argv += ["--threading", entry.threading]
        elif entry.command:
            what = f"command {entry.command}"
            argv = shlex.split(entry.command)
        else:
            raise ComError(hresult.REGDB_E_CLASSNOTREG,
                           f"{entry.clsid} has no server on this machine")
        env = dict(os.environ, **self.environment(entry), PYDCOM_SERVICE=self.service_endpoint,
                   PYDCOM_BIND=",".join(self.hosts), PYDCOM_TOKEN=token,
                   PYDCOM_CLSID=str(entry.clsid))
        # pydcom itself, then the service's own path; a class's recorded folder comes first,
        # as the surrogate's working folder (below), never the service's working folder.
        inherited = env.get("PYTHONPATH", "").split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT, *(os.path.abspath(p) for p in inherited
                                                              if p)])
        try:
            # The server's stdin is a pipe the service holds: when the service ends, however
            # it ends, the server reads EOF and leaves (pydcom.runtime.server).
            process = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                       cwd=(entry.python_path or "/") if entry.python else None)
        except OSError as exc:
            raise ComError(hresult.CO_E_SERVER_EXEC_FAILURE,
                           f"cannot start the server of {entry.clsid}: {exc}") from None
        launch = _Launch(entry.clsid, token, process)
        self.launch_count += 1
        self._launches[entry.clsid] = launch
        self._tokens[token] = launch
        log.info("server pid %d started for %s: %s", process.pid, format_guid(entry.clsid), what)
        # A server leaves on its own (after --grace with no objects); only a thread waiting
        # on it learns when, and reaps it then rather than at close().
        threading.Thread(target=_log_exit, args=(launch,), daemon=True,
                         name=f"server-{process.pid}-exit").start()
        return launch

    def _abandon(self, launch: _Launch) -> None:
        if launch.process.poll() is None:
            launch.process.kill()
        _reap(launch.process)

    def close(self) -> None:
        """Stop every server process this service started (by its pid)."""
        with self._lock:
            launches = list(self._launches.values())
            self._classes.clear()
        for launch in launches:
            if launch.process.poll() is None:
                launch.process.terminate()
        for launch in launches:
            try:
                launch.process.wait(5)
            except subprocess.TimeoutExpired:
                launch.process.kill()
            _reap(launch.process)


def _log_exit(launch: _Launch) -> None:
    code = launch.process.wait()
    if code < 0:
        try:
            how = f"on signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"on signal {-code}"
    else:
        how = f"with status {code}"
    log.info("server pid %d for %s exited %s", launch.process.pid, format_guid(launch.clsid), how)


def _reap(process: subprocess.Popen) -> None:
    process.wait()
    if process.stdin is not None:
        process.stdin.close()
