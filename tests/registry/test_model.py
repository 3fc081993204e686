import dataclasses
import uuid

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, ThreadingModel, parse_machine_name

CLSID = uuid.UUID("0f8e5c2a-1111-4a2b-9c3d-000000000001")


def code_of(fn, *args, **kwargs) -> int:
    with pytest.raises(ComError) as info:
        fn(*args, **kwargs)
    return info.value.hresult


def test_class_entry_takes_guid_text_and_lists():
    iid = "{0F8E5C2A-1111-4A2B-9C3D-0000000000AA}"
    entry = ClassEntry(str(CLSID), progid="Demo.Calc.1", interfaces=[iid, iid.lower()],
                       threading_model="apartment", appid=str(CLSID))
    assert entry.clsid == CLSID and entry.appid == CLSID
    assert entry.interfaces == (uuid.UUID(iid),)
    assert entry.threading_model is ThreadingModel.APARTMENT
    assert entry.progids == ("Demo.Calc.1",)


def test_entries_are_frozen_and_hashable():
    entry = ClassEntry(CLSID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.progid = "X"  # type: ignore[misc]
    assert hash(entry) == hash(ClassEntry(CLSID))


@pytest.mark.parametrize("progid", ["", "9Lives", "Has_Underscore", "Has-Dash", "A" * 40, 12])
def test_progid_follows_the_windows_rule(progid):
    assert code_of(ClassEntry, CLSID, progid=progid) == hresult.CO_E_CLASSSTRING


def test_a_39_character_progid_is_fine():
    assert ClassEntry(CLSID, progid="A" * 39).progid == "A" * 39


@pytest.mark.parametrize("fields, code", [
    ({"clsid": "{not-a-guid}"}, hresult.CO_E_CLASSSTRING),
    ({"treat_as": "nope"}, hresult.CO_E_CLASSSTRING),
    ({"treat_as": CLSID}, hresult.E_INVALIDARG),
    ({"inproc_server": "no colon"}, hresult.E_INVALIDARG),
    ({"inproc_server": "pkg.mod:"}, hresult.E_INVALIDARG),
    ({"local_server": "  "}, hresult.E_INVALIDARG),
    ({"local_server": "two\nlines"}, hresult.E_INVALIDARG),
    ({"name": "bell\x07"}, hresult.E_INVALIDARG),
    ({"appid": "zz"}, hresult.E_INVALIDARG),
    ({"interfaces": "{0F8E5C2A-1111-4A2B-9C3D-0000000000AA}"}, hresult.E_INVALIDARG),
    ({"interfaces": [42]}, hresult.E_INVALIDARG),
    ({"threading_model": "single"}, hresult.E_INVALIDARG),
])
def test_bad_class_fields(fields, code):
    fields = {"clsid": CLSID, **fields}
    assert code_of(ClassEntry, **fields) == code


def test_appid_entry():
    entry = AppIdEntry(str(CLSID), remote_server_name=" hostb[4135] ",
                       launch_permission=["alice", "alice", "*"], access_permission=[])
    assert entry.remote_server_name == "hostb[4135]"
    assert entry.launch_permission == ("alice", "*")
    assert entry.access_permission == ()  # nobody: not the same as None (the default)
    assert AppIdEntry(CLSID).launch_permission is None


@pytest.mark.parametrize("fields, code", [
    ({"remote_server_name": "host[0]"}, hresult.CO_E_BAD_SERVER_NAME),
    ({"remote_server_name": ""}, hresult.CO_E_BAD_SERVER_NAME),
    ({"activate_at_storage": "yes"}, hresult.E_INVALIDARG),
    ({"launch_permission": "alice"}, hresult.E_INVALIDARG),
    ({"access_permission": [""]}, hresult.E_INVALIDARG),
    ({"run_as": ""}, hresult.E_INVALIDARG),
])
def test_bad_appid_fields(fields, code):
    assert code_of(AppIdEntry, CLSID, **fields) == code


@pytest.mark.parametrize("text, expected", [
    ("hostb", ("hostb", 135)),
    ("hostb[4135]", ("hostb", 4135)),
    ("\\\\hostb", ("hostb", 135)),
    ("host-b.example.com[65535]", ("host-b.example.com", 65535)),
    ("127.0.0.2[9135]", ("127.0.0.2", 9135)),
    ("::1", ("::1", 135)),
])
def test_machine_names(text, expected):
    assert parse_machine_name(text) == expected


@pytest.mark.parametrize("text", ["", "host[0]", "host[65536]", "host[]", "ho st", "host[x]",
                                  "host]", "[135]", None])
def test_bad_machine_names(text):
    assert code_of(parse_machine_name, text) == hresult.CO_E_BAD_SERVER_NAME
