import string
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, Registry, ThreadingModel, from_toml, to_toml

A = uuid.UUID("0f8e5c2a-4444-4a2b-9c3d-000000000001")

guids = st.uuids()
progids = st.from_regex(r"[A-Za-z][A-Za-z0-9.]{0,38}", fullmatch=True)
names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
words = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
                min_size=1, max_size=12)
dotted = st.from_regex(r"[a-z_][a-z0-9_]{0,8}(\.[a-z_][a-z0-9_]{0,8}){0,2}", fullmatch=True)
import_paths = st.builds(lambda m, c: f"{m}:{c}", dotted, dotted)
classes = st.builds(
    ClassEntry, clsid=guids, name=names, progid=st.none() | progids,
    inproc_server=st.none() | import_paths, local_server=st.none() | words,
    appid=st.none() | guids, threading_model=st.sampled_from(list(ThreadingModel)),
    interfaces=st.lists(guids, max_size=3).map(tuple))
appids = st.builds(
    AppIdEntry, appid=guids, name=names,
    remote_server_name=st.none() | st.sampled_from(["hostb", "hostc[4135]", "127.0.0.2[9000]"]),
    activate_at_storage=st.booleans(), launch_permission=st.none() | st.lists(words, max_size=3),
    access_permission=st.none() | st.lists(words, max_size=3), run_as=st.none() | words)


@settings(max_examples=150, deadline=None)
@given(st.lists(classes, max_size=4, unique_by=lambda e: e.clsid),
       st.lists(appids, max_size=3, unique_by=lambda e: e.appid))
def test_toml_round_trip(class_list, appid_list):
    text = to_toml(class_list, appid_list)
    back_classes, back_appids = from_toml(text)
    assert sorted(back_classes, key=lambda e: str(e.clsid)) == \
        sorted(class_list, key=lambda e: str(e.clsid))
    assert sorted(back_appids, key=lambda e: str(e.appid)) == \
        sorted(appid_list, key=lambda e: str(e.appid))


def test_quotes_backslashes_and_unicode_survive():
    entry = ClassEntry(A, name='say "hi" \\ tschüß ☃', local_server='run.exe "C:\\a b"')
    assert from_toml(to_toml([entry], []))[0] == [entry]


def test_export_then_import_copies_a_machine(tmp_path):
    with Registry(tmp_path / "a.sqlite3") as a, Registry(tmp_path / "b.sqlite3") as b:
        a.register(ClassEntry(A, progid="Demo.A.1", version_independent_progid="Demo.A",
                              appid=A, inproc_server="demo:A", interfaces=[A]))
        a.set_appid(AppIdEntry(A, remote_server_name="hostb[4135]", launch_permission=["*"]))
        snap = a.snapshot()
        classes, appids = from_toml(to_toml(snap.classes.values(), snap.appids.values()))
        b.load_entries(classes, appids)
        assert b.snapshot().classes == snap.classes and b.snapshot().appids == snap.appids
        assert b.snapshot().progids == snap.progids


@pytest.mark.parametrize("text, needle", [
    ("format = 1\n[[class]\n", "not valid TOML"),
    ("format = 2\n", "format 2"),
    ("colour = 1\n", "unknown top-level"),
    ("[class]\nclsid = 'x'\n", "array of tables"),
    ("[[class]]\nclsid = '{0F8E5C2A-4444-4A2B-9C3D-000000000001}'\nprogram = 'x'\n",
     "#1: unknown key(s) program"),
    ("[[class]]\nprogid = 'Demo.X'\n", "#1:"),
    ("[[class]]\nclsid = 'not a guid'\n", "#1: CLSID"),
    ("[[appid]]\nappid = '{0F8E5C2A-4444-4A2B-9C3D-000000000001}'\nactivate_at_storage = 'yes'\n",
     "#1: ActivateAtStorage"),
    ("[[class]]\nclsid = '{0F8E5C2A-4444-4A2B-9C3D-000000000001}'\n"
     "[[class]]\nclsid = '{0f8e5c2a-4444-4a2b-9c3d-000000000001}'\n", "#2: {0F8E5C2A"),
    ("class = [1]\n", "#1 is not a table"),
])
def test_bad_files_say_what_and_where(text, needle):
    with pytest.raises(ComError) as info:
        from_toml(text)
    assert needle in str(info.value)
    assert info.value.hresult in (hresult.E_INVALIDARG, hresult.CO_E_CLASSSTRING)


def test_printable_ascii_names_are_plain_toml():
    entry = ClassEntry(A, name=string.printable.strip().replace("\x0b", "").replace("\x0c", ""))
    assert from_toml(to_toml([entry], []))[0] == [entry]
