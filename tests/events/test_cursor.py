"""Cursor tokens: round trips and clear errors for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.events import InvalidCursor, decode_cursor, encode_cursor


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_cursors_round_trip(position: int) -> None:
    cursor = encode_cursor(position)
    assert cursor.isascii()
    assert "=" not in cursor
    assert decode_cursor(cursor) == position


@pytest.mark.parametrize(
    "garbage", ["", "x", "!!!!", "AQ", "AgAAAAAAAAAB", "AQAAAAAAAAABAA", "é", "a" * 200]
)
def test_garbage_is_refused_clearly(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(garbage)


def test_other_format_versions_are_refused() -> None:
    assert decode_cursor("AQAAAAAAAAAB") == 1
    with pytest.raises(InvalidCursor, match="format 2"):
        decode_cursor("AgAAAAAAAAAB")


def test_negative_positions_do_not_exist() -> None:
    with pytest.raises(ValueError, match="negative"):
        encode_cursor(-1)
