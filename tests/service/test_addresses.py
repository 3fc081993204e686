"""Addresses a service names to its clients: a wildcard bind stands for the machine's real
addresses, loopback is never handed to a caller elsewhere, and a client can choose the address
it speaks from. Outside 127.0.0.0/8, in a network namespace the test makes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from pydcom.rpc.addresses import advertised, interface_addresses, is_loopback, is_wildcard
from pydcom.wire.dualstringarray import DualStringArray, StringBinding
from tests.runtime.support import subprocess_env

SERVER, CLIENT = "10.77.0.1", "10.77.0.2"

# A namespace of its own: loopback up, and a veth pair carrying two addresses outside 127/8.
NAMESPACE_SETUP = f"""set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add {SERVER}/24 dev v0
ip addr add {CLIENT}/24 dev v1
ip link set v0 up
ip link set v1 up
"""


def test_wildcards_and_loopback():
    assert is_wildcard("0.0.0.0") and is_wildcard("::") and not is_wildcard("127.0.0.1")
    assert is_loopback("127.0.0.9") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example")
    assert advertised("127.0.0.2") == ["127.0.0.2"]
    here = advertised("0.0.0.0")
    assert here and "0.0.0.0" not in here and all(":" not in a for a in here)
    assert set(here) <= set(interface_addresses()) | {"127.0.0.1"}
    if any(not is_loopback(a) for a in interface_addresses()):
        assert not any(is_loopback(a) for a in here)


def test_bindings_seen_by_a_caller():
    bindings = DualStringArray.tcp(["127.0.0.1", "10.1.1.1", "10.2.2.2"], 4000)
    outside = bindings.seen_from("10.2.2.2", "10.9.9.9")
    assert [b.host for b in outside.string_bindings] == ["10.2.2.2", "10.1.1.1"]
    inside = bindings.seen_from("127.0.0.1", "127.0.0.1")
    assert [b.host for b in inside.string_bindings] == ["127.0.0.1", "10.1.1.1", "10.2.2.2"]
    only_loopback = DualStringArray((StringBinding.tcp("127.0.0.1", 5),))
    assert only_loopback.seen_from(None, "10.9.9.9") is only_loopback


@pytest.mark.slow
def test_a_service_on_every_address_names_real_ones(tmp_path):
    assert shutil.which("unshare") and shutil.which("ip"), "needs util-linux and iproute2"
    script = NAMESPACE_SETUP + f'exec "{sys.executable}" -m tests.service.netns_addresses ' \
                               f'{SERVER} {CLIENT}\n'
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120,
                          env=subprocess_env(PYDCOM_ADDRESS=CLIENT,
                                             PYDCOM_REGISTRY=str(tmp_path / "r.sqlite3")))
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    port = seen["port"]
    assert set(seen["service_bindings"]) == {f"{SERVER}[{port}]", f"{CLIENT}[{port}]"}
    assert seen["alive2_from_outside"][0] == f"{SERVER}[{port}]"  # the way the caller came
    assert not any(a.startswith(("0.0.0.0", "127.")) for a in seen["alive2_from_outside"])
    assert not any(a.startswith("0.0.0.0") for a in seen["alive2_over_loopback"])
    assert seen["private_from_outside"] == 0x80070005  # the service's own interface: refused
    assert seen["add"] == 5
    assert seen["oxid_endpoints"] and set(seen["oxid_endpoints"]) <= {SERVER, CLIENT}
    assert seen["sources"] == [CLIENT]  # PYDCOM_ADDRESS: connections go out from it
