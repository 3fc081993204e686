"""Bounded memo tables: what a peer sends can never make them grow past their bounds."""

from pydcom.memo import MAX_KEPT_SIZE, Memo
from pydcom.wire import dualstringarray
from pydcom.wire.dualstringarray import DualStringArray


def test_a_full_table_starts_again_and_large_inputs_are_not_kept():
    memo = Memo(3)
    for key in range(3):
        assert memo.keep(key, key * 10) == key * 10
    assert dict(memo) == {0: 0, 1: 10, 2: 20}
    memo.keep(3, 30)
    assert dict(memo) == {3: 30}
    assert memo.keep("big", "value", MAX_KEPT_SIZE + 1) == "value"
    assert "big" not in memo


def test_repeated_bindings_are_parsed_once_and_huge_ones_never_kept():
    small = DualStringArray.tcp(["127.0.0.2"], 4000)
    entries, offset = small.entries()
    first = DualStringArray.from_entries(entries, offset)
    assert DualStringArray.from_entries(list(entries), offset) is first
    assert first == small

    hosts = [f"10.{i // 250}.{i % 250}.1" for i in range(500)]  # about 6,000 entries
    huge = DualStringArray.tcp(hosts, 135)
    entries, offset = huge.entries()
    assert len(entries) > MAX_KEPT_SIZE
    assert DualStringArray.from_entries(entries, offset) == huge
    assert (tuple(entries), offset) not in dualstringarray._parsed
