from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.imap.errors import CommandError
from tidings.imap.seqset import MAX_NUMBER, SeqSet


def test_compresses_into_ranges() -> None:
    assert str(SeqSet.from_ints([9, 1, 2, 3, 4, 5, 7, 10, 11, 12, 3])) == "1:5,7,9:12"
    assert str(SeqSet.of(1, range(2, 6), (12, 9), 7)) == "1:5,7,9:12"


def test_star_and_tail() -> None:
    assert str(SeqSet.all()) == "1:*"
    assert str(SeqSet.span(5)) == "5:*"
    assert str(SeqSet.of(1, 2, "*")) == "1:2,*"
    # Ranges reaching the tail are swallowed, and n:* already includes *.
    assert str(SeqSet.of(1, range(3, 8), "8:*", "*")) == "1,3:*"
    assert not SeqSet.all().concrete
    assert 10**6 in SeqSet.span(5)
    assert 4 not in SeqSet.span(5)


def test_parse() -> None:
    assert SeqSet.parse("5:1,7,9:12") == SeqSet(((1, 5), (7, 7), (9, 12)))
    assert SeqSet.parse("*:4") == SeqSet((), 4)
    assert SeqSet.parse("*") == SeqSet((), None, True)
    for bad in ["", "0", "1,,2", "a", "1:", "01", "1:2:3", f"{MAX_NUMBER + 1}", "\uff11"]:
        with pytest.raises(CommandError):
            SeqSet.parse(bad)


def test_len_iter_contains() -> None:
    s = SeqSet.parse("1:3,7,10:11")
    assert len(s) == 6
    assert list(s) == [1, 2, 3, 7, 10, 11]
    assert 7 in s and 8 not in s and 0 not in s and 12 not in s
    assert "7" not in s
    with pytest.raises(CommandError):
        len(SeqSet.all())
    with pytest.raises(CommandError):
        list(SeqSet.parse("1,*"))
    assert not SeqSet() and SeqSet.all() and SeqSet.parse("*")


def test_chunks() -> None:
    s = SeqSet.parse("1:5,7,9:12")
    assert [str(c) for c in s.chunks(4)] == ["1:4", "5,7,9:10", "11:12"]
    assert [str(c) for c in SeqSet.span(1, 3).chunks(3)] == ["1:3"]
    with pytest.raises(CommandError):
        list(s.chunks(0))
    with pytest.raises(CommandError):
        list(SeqSet.all().chunks(10))


@pytest.mark.parametrize("bad", [0, -1, MAX_NUMBER + 1, True])
def test_out_of_range_numbers(bad: int) -> None:
    with pytest.raises(CommandError):
        SeqSet.from_ints([bad])


def test_union() -> None:
    assert str(SeqSet.parse("1:3") | SeqSet.parse("4,9:*")) == "1:4,9:*"


_numbers = st.lists(st.integers(1, 5000), max_size=200)


@given(_numbers)
def test_from_ints_round_trips(numbers: list[int]) -> None:
    s = SeqSet.from_ints(numbers)
    assert list(s) == sorted(set(numbers))
    assert len(s) == len(set(numbers))
    if numbers:
        assert SeqSet.parse(str(s)) == s
    assert all(n in s for n in numbers)


@given(_numbers, st.integers(1, 50))
def test_chunks_partition_in_order(numbers: list[int], size: int) -> None:
    s = SeqSet.from_ints(numbers)
    parts = list(s.chunks(size))
    assert all(0 < len(p) <= size for p in parts)
    assert [n for p in parts for n in p] == list(s)


@given(st.lists(st.tuples(st.integers(1, 300), st.integers(1, 300)), max_size=20),
       st.one_of(st.none(), st.integers(1, 300)))
def test_of_matches_a_plain_set(pairs: list[tuple[int, int]], tail: int | None) -> None:
    items: list[tuple[int, int] | str] = list(pairs)
    if tail is not None:
        items.append(f"{tail}:*")
    s = SeqSet.of(*items)
    members = {n for lo, hi in pairs for n in range(min(lo, hi), max(lo, hi) + 1)}
    for n in range(1, 400):
        assert (n in s) == (n in members or (tail is not None and n >= tail))
    if s:
        assert SeqSet.parse(str(s)) == s
