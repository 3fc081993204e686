import uuid

import pytest

from pydcom import hresult
from pydcom.hresult import ComError
from pydcom.registry import AppIdEntry, ClassEntry, Snapshot

A, B, C = (uuid.UUID(f"0f8e5c2a-2222-4a2b-9c3d-00000000000{n}") for n in (1, 2, 3))


def build(*classes, appids=()):
    return Snapshot.build(1, classes, appids)


def test_progids_are_case_insensitive_and_version_independent_ones_find_the_newest():
    snap = build(ClassEntry(A, progid="Demo.Calc.1", version_independent_progid="Demo.Calc"),
                 ClassEntry(B, progid="Demo.Calc.10", version_independent_progid="Demo.Calc"),
                 ClassEntry(C, progid="Demo.Calc.9", version_independent_progid="Demo.Calc"))
    assert snap.clsid_of("demo.calc.1") == A
    assert snap.clsid_of("DEMO.CALC") == B  # 10 > 9 > 1: numbers, not text
    assert snap.clsid_of(str(C)) == C
    assert snap.clsid_of("{" + str(C) + "}") == C
    assert snap.clsid_of(C) == C


def test_the_current_version_does_not_depend_on_order():
    one = ClassEntry(A, progid="Demo.X.2", version_independent_progid="Demo.X")
    two = ClassEntry(B, progid="Demo.X.3", version_independent_progid="Demo.X")
    assert build(one, two).clsid_of("Demo.X") == build(two, one).clsid_of("Demo.X") == B


@pytest.mark.parametrize("text, code", [
    ("{" + "1" * 8 + "}", hresult.CO_E_CLASSSTRING),
    ("Unknown.Prog", hresult.CO_E_CLASSSTRING),
    (42, hresult.E_INVALIDARG),
    (None, hresult.E_INVALIDARG),
])
def test_clsid_of_bad_input(text, code):
    with pytest.raises(ComError) as info:
        build().clsid_of(text)
    assert info.value.hresult == code


def test_a_progid_names_one_class():
    with pytest.raises(ComError, match="already names"):
        build(ClassEntry(A, progid="Demo.Same"), ClassEntry(B, progid="demo.same"))
    with pytest.raises(ComError, match="already the ProgID"):
        build(ClassEntry(A, progid="Demo.Same"),
              ClassEntry(B, progid="Demo.Same.2", version_independent_progid="Demo.Same"))
    same = build(ClassEntry(A, progid="Demo.Own", version_independent_progid="Demo.Own"))
    assert same.clsid_of("Demo.Own") == A


def test_treat_as_chains_and_cycles():
    snap = build(ClassEntry(A, treat_as=B), ClassEntry(B, treat_as=C))
    assert snap.treat_as(A) == C  # C need not be registered here
    with pytest.raises(ComError, match="TreatAs cycle") as info:
        build(ClassEntry(A, treat_as=B), ClassEntry(B, treat_as=C), ClassEntry(C, treat_as=A))
    assert info.value.hresult == hresult.E_INVALIDARG


def test_snapshot_mappings_cannot_be_changed():
    snap = build(ClassEntry(A), appids=[AppIdEntry(B)])
    with pytest.raises(TypeError):
        snap.classes[B] = ClassEntry(B)  # type: ignore[index]
    with pytest.raises(TypeError):
        snap.progids["x"] = A  # type: ignore[index]
    assert snap.appid_of(ClassEntry(A, appid=B)) == AppIdEntry(B)
    assert snap.appid_of(ClassEntry(A, appid=C)) is None
