"""Launch and access permissions (pydcom.runtime.permissions): allow and deny lists of users and
groups, a deny winning; the AppID's, else the machine's defaults; checked by the service on
every activation and by the server process on every call."""

from __future__ import annotations

import uuid

import pytest

import pydcom
from pydcom import accounts, registry
from pydcom.automation import wrap
from pydcom.hresult import E_ACCESSDENIED, ComError
from pydcom.rpc import RpcClient
from pydcom.rpc.errors import RpcError
from pydcom.rpc.security import AuthLevel, CallSecurity, ClientAuth
from pydcom.runtime.credentials import server_auth
from pydcom.runtime.permissions import MACHINE_DEFAULTS, permits
from pydcom.runtime.scm_client import remote_activate
from pydcom.service.registry_store import RegistryClassStore
from pydcom.service.service import Service
from pydcom.wire.remunknown import REMUNKNOWN_SYNTAX
from tests.cli.support import pydcom_cli

from .classes import GUARDED_CLSID
from .support import rem_query_interface, runtime

HOST = "127.0.0.35"
APPID = uuid.UUID("7c0b6d2e-41a9-4f53-8e1d-9b2a6c3f5e0a")
ALICE = ClientAuth("alice", "correct horse")
BOB = ClientAuth("bob", "battery staple")
CAROL = ClientAuth("carol", "tr0ub4dor")

pytestmark = pytest.mark.timeout(90)


def who(user: str = "") -> CallSecurity:
    return CallSecurity(AuthLevel.PKT_INTEGRITY, 10, user, "") if user else CallSecurity()


GROUPS = {"alice": frozenset({"Users"}), "bob": frozenset({"Users", "Contractors"})}


@pytest.mark.parametrize("permission, caller, allowed", [
    (None, "", True),                                  # not set: everyone the service lets in
    (("*",), "", True),
    (("*",), "bob", True),
    ((), "alice", False),                              # set to nobody
    (("alice",), "alice", True),
    (("ALICE",), "alice", True),                       # names match without case
    (("alice",), "bob", False),
    (("alice",), "", False),                           # an anonymous caller is named by * only
    (("users",), "bob", True),                         # by a group
    (("Users", "!Contractors"), "bob", False),         # a deny wins
    (("Users", "!Contractors"), "alice", True),
    (("alice", "!alice"), "alice", False),
    (("*", "!*"), "alice", False),
])
def test_permits(permission, caller, allowed):
    assert permits(permission, who(caller), lambda user: GROUPS.get(user, frozenset())) is allowed


# -- the service and its server processes ----------------------------------------------------------

@pytest.fixture
def machine(tmp_path):
    """A registry with the Guarded class under APPID, an accounts file, a service reading both."""
    path = tmp_path / "accounts"
    accounts.add_user(path, "alice", "correct horse", groups=("Users",))
    accounts.add_user(path, "bob", "battery staple", groups=("Users", "Contractors"))
    accounts.add_user(path, "carol", "tr0ub4dor")
    reg = registry.Registry(tmp_path / "registry.sqlite3")
    reg.register(registry.ClassEntry(GUARDED_CLSID, name="Guarded", appid=APPID,
                                     inproc_server="tests.security.classes:Guarded"))
    service = Service(RegistryClassStore(reg), [HOST], 0, grace=1,
                      auth=server_auth(str(path), "integrity")).start()
    try:
        yield reg, service
    finally:
        service.close()
        reg.close()


def activate(auth: ClientAuth, service: Service):
    with runtime(auth) as client:
        [(_, proxy)] = remote_activate(client, (HOST, service.port), GUARDED_CLSID,
                                       [pydcom.IID_IDispatch])
        guarded = wrap(proxy)
        try:
            return guarded.WhoAmI()
        finally:
            guarded.release()


def refused(auth: ClientAuth, service: Service) -> bool:
    with runtime(auth) as client, pytest.raises(ComError) as info:
        remote_activate(client, (HOST, service.port), GUARDED_CLSID, [pydcom.IID_IDispatch])
    return info.value.hresult == E_ACCESSDENIED


def test_launch_permission_of_the_appid(machine):
    reg, service = machine
    reg.set_appid(registry.AppIdEntry(APPID, launch_permission=["Users", "!Contractors"]))
    assert refused(BOB, service)    # in Users, but Contractors are denied
    assert refused(CAROL, service)  # in no group the permission names
    assert service.hosting.launch_count == 0  # nothing was started for them
    assert activate(ALICE, service) == "alice|5"
    assert service.hosting.launch_count == 1


def test_the_machine_default_applies_to_appids_without_their_own(machine):
    reg, service = machine
    reg.set_appid(registry.AppIdEntry(MACHINE_DEFAULTS, launch_permission=["!bob", "*"]))
    reg.set_appid(registry.AppIdEntry(APPID))  # sets no permission of its own
    assert refused(BOB, service)
    assert activate(CAROL, service) == "carol|5"
    reg.set_appid(registry.AppIdEntry(APPID, launch_permission=["bob"]))  # its own wins
    assert activate(BOB, service) == "bob|5"


def test_access_permission_is_checked_on_activation_and_on_every_call(machine):
    reg, service = machine
    reg.set_appid(registry.AppIdEntry(APPID, access_permission=["alice"]))
    assert refused(BOB, service)  # could launch, could not call: no object is made
    assert service.hosting.launch_count == 0
    with runtime(ALICE) as client:
        [(_, proxy)] = remote_activate(client, (HOST, service.port), GUARDED_CLSID,
                                       [pydcom.IID_IDispatch])
        guarded = wrap(proxy)
        assert guarded.Add(1, 2) == 3
        [info] = client.oxids.entries()
        # bob, authenticated, at the server process's exporter: its own access check
        with RpcClient(*info.endpoint, timeout=5, auth=BOB) as rpc:
            with pytest.raises(RpcError) as denied:
                rpc.call(REMUNKNOWN_SYNTAX, 3, rem_query_interface(info.ipid_rem_unknown),
                         object=info.ipid_rem_unknown)
            assert denied.value.hresult == E_ACCESSDENIED
        assert guarded.Add(2, 3) == 5
        guarded.release()


def test_pydcom_appid_set_and_show_permissions(tmp_path):
    path = tmp_path / "r.sqlite3"
    done = pydcom_cli("appid", "set", str(APPID), "--allow-launch", "Users", "--deny-launch",
                      "bob", "--allow-access", "*", registry=path)
    assert done.code == 0, done
    shown = pydcom_cli("appid", "show", str(APPID), registry=path)
    assert 'launch_permission = ["Users", "!bob"]' in shown.out, shown
    assert 'access_permission = ["*"]' in shown.out
    done = pydcom_cli("appid", "set", "machine", "--deny-access", "mallory", registry=path)
    assert done.code == 0, done
    with registry.Registry(path) as reg:
        assert reg.snapshot().appids[MACHINE_DEFAULTS].access_permission == ("!mallory",)
    bad = pydcom_cli("appid", "set", str(APPID), "--allow-launch", "a:b", registry=path)
    assert bad.code == 2, bad
    both = pydcom_cli("appid", "set", str(APPID), "--default-launch-permission",
                      "--deny-launch", "bob", registry=path)
    assert both.code == 2, both
