"""Scanning primitives of tidings.imap.lexer."""

from __future__ import annotations

import pytest

from tidings.imap.errors import LimitExceeded, ProtocolError
from tidings.imap.lexer import Cursor
from tidings.imap.limits import DEFAULT_LIMITS, Limits


def cursor(
    *segments: bytes, literals: tuple[bytes, ...] = (), limits: Limits = DEFAULT_LIMITS
) -> Cursor:
    return Cursor(segments, literals, limits)


def test_quoted_string_unescapes_backslash_and_quote() -> None:
    cur = cursor(rb'"a\\b\"c" rest')
    assert cur.string() == b'a\\b"c'
    cur.sp()
    assert cur.atom() == b"rest"
    assert cur.at_end()


def test_quoted_string_keeps_8bit_octets() -> None:
    # UTF8=ACCEPT (RFC 9051 §6.3.1) lets servers send raw UTF-8 in quoted strings.
    cur = cursor('"Grüße"'.encode())
    assert cur.string() == "Grüße".encode()


def test_unterminated_quote_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="closing quote"):
        cursor(b'"abc').string()


@pytest.mark.parametrize("header", [b"{5}", b"{5+}", b"~{5}"])
def test_literal_forms_take_the_framed_literal(header: bytes) -> None:
    cur = cursor(b"X " + header, b" tail", literals=(b"hello",))
    assert cur.atom() == b"X"
    cur.sp()
    assert cur.string() == b"hello"
    cur.sp()
    assert cur.atom() == b"tail"
    assert cur.at_end()


def test_literal_header_not_at_segment_end_is_not_a_literal() -> None:
    with pytest.raises(ProtocolError):
        cursor(b"{5} x", literals=()).string()


def test_nil_is_case_insensitive_and_not_a_prefix_match() -> None:
    assert cursor(b"nil").nstring() is None
    cur = cursor(b"NILE")
    assert not cur.nil()
    assert cur.astring() == b"NILE"


def test_astring_allows_close_bracket_but_atom_stops_there() -> None:
    assert cursor(b"a]b").astring() == b"a]b"
    assert cursor(b"a]b").atom() == b"a"


def test_flags_including_wildcard() -> None:
    cur = cursor(rb"\Seen \* $Forwarded")
    assert cur.flag() == "\\Seen"
    cur.sp()
    assert cur.flag() == "\\*"
    cur.sp()
    assert cur.flag() == "$Forwarded"


def test_numbers_are_bounded_in_digits() -> None:
    assert cursor(b"18446744073709551615").number() == 18446744073709551615
    with pytest.raises(ProtocolError):
        cursor(b"9" * 5000).number()


def test_sequence_set_expands_ranges_in_either_order() -> None:
    assert cursor(b"3,7:5,9").sequence_set() == (3, 5, 6, 7, 9)


def test_sequence_set_refuses_to_expand_past_the_limit() -> None:
    with pytest.raises(LimitExceeded) as info:
        cursor(b"1:4294967295").sequence_set()
    assert info.value.limit == "numbers in a set"


def test_sequence_set_limit_counts_all_pieces() -> None:
    limits = Limits(max_set=10)
    assert len(cursor(b"1:5,11:15", limits=limits).sequence_set()) == 10
    with pytest.raises(LimitExceeded):
        cursor(b"1:5,11:16", limits=limits).sequence_set()


def test_skip_value_handles_nested_lists_strings_and_literals() -> None:
    cur = cursor(b'(a "b)" (c {3}', b") d) next", literals=(b"x)y",))
    cur.skip_value()
    cur.sp()
    assert cur.atom() == b"next"


def test_skip_value_is_bounded_in_depth() -> None:
    with pytest.raises(LimitExceeded) as info:
        cursor(b"(" * 10_000 + b")" * 10_000).skip_value()
    assert info.value.limit == "nesting depth"


def test_rest_reframes_literals() -> None:
    cur = cursor(b'A ("x" {3}', b' "y")', literals=(b"abc",))
    cur.atom()
    cur.sp()
    assert cur.rest() == b'("x" {3}\r\nabc "y")'
    assert cur.at_end()


def test_error_shows_where_parsing_stopped() -> None:
    cur = cursor(b"abc (")
    cur.atom()
    with pytest.raises(ProtocolError, match="expected number"):
        cur.number()
