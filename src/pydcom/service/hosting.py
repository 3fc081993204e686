"""Server processes of the machine: launching them, their registrations, their class objects.

This is the CLSID table of the resolver (MS-DCOM 3.1.2.1): per CLSID, the class object a server
process registered and the exporter that holds it. A class with a Python import path runs in a
surrogate; a class with a command line runs as its own program. Either is started on the first
activation and reused by later ones; one launch per class runs at a time, and callers of the same
class wait for it, up to a bound, after which they get CO_E_SERVER_EXEC_FAILURE.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.runtime.client import ClientRuntime, OxidInfo, Proxy, pick_endpoint
from pydcom.service.classes import ClassEntry
from pydcom.service.resolver import ExporterRecord, Resolver
from pydcom.wire.orpc import MInterfacePointer, objref_of

log = logging.getLogger("pydcom.service")

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class _Launch:
    """A server process the service started, and what it is waiting for."""

    clsid: uuid.UUID
    token: str
    process: subprocess.Popen
    registered: threading.Event = field(default_factory=threading.Event)


class Hosting:
    """Class objects by CLSID, and the server processes behind them. One lock."""

    def __init__(self, service_endpoint: str, hosts: list[str], resolver: Resolver,
                 runtime: ClientRuntime, resolver_endpoint: tuple[str, int], *,
                 start_timeout: float = 30.0, grace: float = 5.0) -> None:
        self.service_endpoint = service_endpoint
        self.resolver_endpoint = resolver_endpoint  # how OBJREFs of this machine name it
        self.hosts = hosts
        self.resolver = resolver
        self.runtime = runtime
        self.start_timeout = start_timeout
        self.grace = grace
        self._lock = threading.Lock()
        self._class_objects: dict[uuid.UUID, tuple[int, Proxy]] = {}  # clsid -> (oxid, factory)
        self._launches: dict[uuid.UUID, _Launch] = {}  # clsid -> launch in progress or done
        self._tokens: dict[str, _Launch] = {}
        self._pids: dict[int, int] = {}  # oxid -> process id

    # -- registrations from server processes ---------------------------------------------------
    def register_server(self, record: ExporterRecord, pid: int, token: str) -> None:
        self.resolver.register(record)
        with self._lock:
            self._pids[record.oxid] = pid
        endpoint = pick_endpoint(record.bindings)
        self.runtime.learn_oxid(OxidInfo(record.oxid, endpoint, record.ipid_rem_unknown,
                                         (record.version.MajorVersion, record.version.MinorVersion),
                                         resolver=self.resolver_endpoint))

    def register_class(self, oxid: int, clsid: uuid.UUID, pointer: MInterfacePointer) -> None:
        objref = objref_of(pointer)
        factory = self.runtime.unmarshal(objref)
        with self._lock:
            old = self._class_objects.get(clsid)
            self._class_objects[clsid] = (oxid, factory)
            launch = self._launches.get(clsid)
        if old is not None:
            old[1].release()
        if launch is not None:
            launch.registered.set()
        log.info("class %s registered by exporter %#x", clsid, oxid)

    def revoke_class(self, oxid: int, clsid: uuid.UUID) -> None:
        with self._lock:
            current = self._class_objects.get(clsid)
            if current is None or current[0] != oxid:
                return
            del self._class_objects[clsid]
        current[1].release()

    def unregister_server(self, oxid: int) -> None:
        self.resolver.unregister(oxid)
        with self._lock:
            self._pids.pop(oxid, None)
            gone = [clsid for clsid, (owner, _) in self._class_objects.items() if owner == oxid]
            factories = [self._class_objects.pop(clsid)[1] for clsid in gone]
        for factory in factories:
            factory.release()

    def launched_token(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    # -- activation ------------------------------------------------------------------------------
    def class_object(self, entry: ClassEntry) -> tuple[ExporterRecord, Proxy]:
        """The registered class object of ``entry``, starting its server if none runs."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            with self._lock:
                found = self._class_objects.get(entry.clsid)
                record = self.resolver.exporter(found[0]) if found else None
                if found is not None and record is not None:
                    return record, found[1]
                launch = self._launches.get(entry.clsid)
                if launch is None or launch.process.poll() is not None or launch.registered.is_set():
                    launch = self._start(entry)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._wait(launch, remaining):
                self._abandon(launch)
                raise ComError(hresult.CO_E_SERVER_EXEC_FAILURE,
                               f"the server of {entry.clsid} did not register its class object "
                               f"within {self.start_timeout:.0f}s")

    def forget(self, clsid: uuid.UUID, factory: Proxy) -> None:
        """Drop a class object that failed to answer, so the next activation starts anew."""
        with self._lock:
            current = self._class_objects.get(clsid)
            if current is not None and current[1] is factory:
                del self._class_objects[clsid]

    def _wait(self, launch: _Launch, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if launch.registered.wait(0.05):
                return True
            if launch.process.poll() is not None:
                log.warning("server of %s exited with status %s before registering",
                            launch.clsid, launch.process.returncode)
                return False
        return False

    def _start(self, entry: ClassEntry) -> _Launch:
        """Start the server of a class (caller holds the lock)."""
        token = secrets.token_hex(16)
        if entry.python:
            argv = [sys.executable, "-m", "pydcom.runtime.surrogate", "--clsid", str(entry.clsid),
                    "--python", entry.python, "--grace", str(self.grace)]
        elif entry.command:
            argv = shlex.split(entry.command)
        else:
            raise ComError(hresult.REGDB_E_CLASSNOTREG,
                           f"{entry.clsid} has no server on this machine")
        env = dict(os.environ, PYDCOM_SERVICE=self.service_endpoint,
                   PYDCOM_BIND=",".join(self.hosts), PYDCOM_TOKEN=token,
                   PYDCOM_CLSID=str(entry.clsid))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, os.getcwd(),
                                                        env.get("PYTHONPATH", "")) if p)
        try:
            process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise ComError(hresult.CO_E_SERVER_EXEC_FAILURE,
                           f"cannot start the server of {entry.clsid}: {exc}") from None
        launch = _Launch(entry.clsid, token, process)
        self._launches[entry.clsid] = launch
        self._tokens[token] = launch
        log.info("started server of %s as process %d", entry.clsid, process.pid)
        return launch

    def _abandon(self, launch: _Launch) -> None:
        if launch.process.poll() is None:
            launch.process.kill()
            launch.process.wait()

    def close(self) -> None:
        """Stop every server process this service started (by its pid)."""
        with self._lock:
            launches = list(self._launches.values())
            factories = [factory for _, factory in self._class_objects.values()]
            self._class_objects.clear()
        for factory in factories:
            factory.release()
        for launch in launches:
            if launch.process.poll() is None:
                launch.process.terminate()
        for launch in launches:
            try:
                launch.process.wait(5)
            except subprocess.TimeoutExpired:
                launch.process.kill()
                launch.process.wait()
