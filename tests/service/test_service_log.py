"""What a running service logs: activations with caller, CLSID, HRESULT and time; server
processes started and gone; connections refused at the connection limit (INFO); ping sets made
and dropped (DEBUG). Services on 127.0.0.61 and 127.0.0.62, used by no other test."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import uuid

import pytest

from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.rpc import RpcClient, ServerLimits
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.resolver import ExporterRecord
from pydcom.wire import iactivation, ids
from pydcom.wire import object_exporter as oe
from pydcom.wire.dualstringarray import DualStringArray
from pydcom.wire.orpc import orpcthis
from tests.cli.support import stop
from tests.runtime.support import ROOT, subprocess_env
from tests.support import poll_until

from .machines import register_samples
from .sample_classes import CALC_CLSID, ICalc

HOST = "127.0.0.61"
CLI_HOST = "127.0.0.62"
CALC = re.escape(format_guid(CALC_CLSID))
ADDRESS = r"127\.0\.0\.1\[\d+\]"
TIMEOUT = 15.0


def wait_for(caplog, pattern: str, timeout: float = TIMEOUT) -> re.Match:
    """The first captured message matching ``pattern``, waited for up to ``timeout``."""
    def matching() -> re.Match | None:
        return next(filter(None, (re.search(pattern, record.getMessage())
                                  for record in list(caplog.records))), None)

    found = poll_until(matching, timeout)
    if not found:
        raise AssertionError(f"no log line matches {pattern!r} in:\n{caplog.text}")
    return found


def test_activation_and_its_server_process_are_logged(make_service, caplog):
    caplog.set_level(logging.INFO, logger="pydcom")
    service = make_service(HOST, grace=1.0)
    endpoint = (HOST, service.port)
    runtime = ClientRuntime(connect_timeout=2)
    try:
        [(code, calc)] = remote_activate(runtime, endpoint, CALC_CLSID, [ICalc.iid])
        assert code == 0
        pid, _ = calc.Where()
        callers = {f"{h}[{p}]" for h, p in
                   (client.local_address for client in runtime.connections.pool(endpoint).idle())}
        calc.release()
    finally:
        runtime.close()  # sends the release: the server has no objects left and leaves

    line = wait_for(caplog, rf"activation of {CALC} from ({ADDRESS}) by RemoteCreateInstance: "
                            r"S_OK in \d+\.\d ms$")
    assert line.group(1) in callers
    wait_for(caplog, rf"^server pid {pid} started for {CALC}: "
                     r"python tests\.service\.sample_classes:Calculator$")
    wait_for(caplog, rf"^server pid {pid} for {CALC} exited with status 0$")


def test_an_unregistered_class_logs_its_failure_through_both_interfaces(make_service, caplog):
    caplog.set_level(logging.INFO, logger="pydcom")
    service = make_service(HOST)
    missing = uuid.UUID("0badf00d-0000-4000-8000-0000000000c1")
    runtime = ClientRuntime(connect_timeout=2)
    try:
        with pytest.raises(ComError):
            remote_activate(runtime, (HOST, service.port), missing, [ids.IID_IUnknown])
    finally:
        runtime.close()
    wait_for(caplog, rf"activation of {re.escape(format_guid(missing))} from {ADDRESS} by "
                     r"RemoteCreateInstance: REGDB_E_CLASSNOTREG \(0x80040154\) in \d+\.\d ms$")

    # IActivation, from a connection whose address the test knows
    request = iactivation.RemoteActivationRequest(orpcthis(), missing, None, None, 2, 0, 1,
                                          [ids.IID_IUnknown], 1, [7])
    with RpcClient(HOST, service.port, connect_timeout=2, timeout=TIMEOUT) as client:
        answer = iactivation.RemoteActivationResponse.decode(
            client.call(iactivation.ACTIVATION_SYNTAX, iactivation.OP_REMOTE_ACTIVATION, request.encode()))
        caller = "{}[{}]".format(*client.local_address)
    assert answer.phr == 0x80040154
    wait_for(caplog, rf"activation of {re.escape(format_guid(missing))} from "
                     rf"{re.escape(caller)} by RemoteActivation: REGDB_E_CLASSNOTREG "
                     r"\(0x80040154\) in \d+\.\d ms$")


def test_a_connection_over_the_limit_is_logged_with_its_peer(make_service, caplog):
    caplog.set_level(logging.INFO, logger="pydcom")
    service = make_service(HOST, limits=ServerLimits(max_connections=1))
    with RpcClient(HOST, service.port, connect_timeout=2, timeout=TIMEOUT) as first:
        first.call(oe.SYNTAX, oe.OP_SERVER_ALIVE, oe.EmptyRequest().encode())  # counted now
        with socket.create_connection((HOST, service.port), timeout=TIMEOUT) as second:
            caller = "{}[{}]".format(*second.getsockname()[:2])
            assert second.recv(1) == b""  # closed by the service, after it logged
    wait_for(caplog, rf"^service-{re.escape(HOST)}: refused connection from "
                     rf"{re.escape(caller)}: max_connections 1 reached$")


def test_ping_sets_made_and_dropped_are_logged_at_debug(make_service, caplog):
    caplog.set_level(logging.DEBUG, logger="pydcom.service.resolver")
    period = 0.1  # the set is dropped 3 periods after its last ping
    service = make_service(HOST, ping_period=period)
    # OIDs an exporter of the machine handed out: the resolver takes pings for no others
    service.resolver.register(ExporterRecord(0x5E, DualStringArray(), None))
    service.resolver.register_oids(0x5E, [0x1001, 0x1002])
    request = oe.ComplexPingRequest(0, 1, 2, 0, [0x1001, 0x1002], None)
    with RpcClient(HOST, service.port, connect_timeout=2, timeout=TIMEOUT) as client:
        answer = oe.ComplexPingResponse.decode(
            client.call(oe.SYNTAX, oe.OP_COMPLEX_PING, request.encode()))
    assert answer.status == 0 and answer.pSetId
    setid = f"{answer.pSetId:#x}"
    wait_for(caplog, rf"^ping set {setid} created with 2 OIDs$")
    wait_for(caplog, rf"^ping set {setid} expired with 2 OIDs$")


def test_nothing_is_logged_at_info_unless_asked(make_service, caplog):
    caplog.set_level(logging.WARNING, logger="pydcom")
    service = make_service(HOST)
    runtime = ClientRuntime(connect_timeout=2)
    try:
        with pytest.raises(ComError):
            remote_activate(runtime, (HOST, service.port), uuid.uuid4(), [ids.IID_IUnknown])
    finally:
        runtime.close()
    assert not [r for r in caplog.records if r.name.startswith("pydcom")]


def test_pydcom_serve_v_logs_activations_on_stderr(tmp_path):
    registry = tmp_path / "registry.sqlite3"
    register_samples(registry)
    process = subprocess.Popen(
        [sys.executable, "-m", "pydcom", "--registry", str(registry), "serve", "-v",
         "--bind", CLI_HOST, "--port", "0", "--min-auth-level", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(),
        cwd=ROOT)
    err = ""
    try:
        line = process.stdout.readline()
        assert "listening on" in line, line
        port = int(line.split()[-1].rsplit("[", 1)[1].rstrip("]"))
        runtime = ClientRuntime(connect_timeout=2)
        try:
            [(code, calc)] = remote_activate(runtime, (CLI_HOST, port), CALC_CLSID, [ICalc.iid])
            assert code == 0 and calc.Add(1, 2) == 3
            calc.release()
        finally:
            runtime.close()
    finally:
        _, err = stop(process)
    assert process.returncode == 0, err
    assert re.search(rf"^pydcom serve: activation of {CALC} from {ADDRESS} by "
                     r"RemoteCreateInstance: S_OK in \d+\.\d ms$", err, re.MULTILINE), err
    assert re.search(rf"^pydcom serve: server pid \d+ started for {CALC}: ", err,
                     re.MULTILINE), err
