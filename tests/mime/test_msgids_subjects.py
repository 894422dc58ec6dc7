from __future__ import annotations

import pytest

from tidings.mime import normalize_message_id, normalize_subject, parse_message_ids, split_subject


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("<a@b> <c@d>", ("<a@b>", "<c@d>")),
        ("<a@b>,<c@d>", ("<a@b>", "<c@d>")),
        ("a@b c@d", ("<a@b>", "<c@d>")),
        ("<a@b> (a comment <x@y>) <c@d>", ("<a@b>", "<c@d>")),
        ("(nested (comment) <x@y>) <a@b>", ("<a@b>",)),
        ('"Bob\'s message <not@id>" <a@b>', ("<a@b>",)),
        ("Your message of Monday <a@b>", ("<a@b>",)),
        ("<<a@b>>", ("<a@b>",)),
        ("<a@\r\n b>", ("<a@b>",)),
        ("<a@b> <a@b> <c@d>", ("<a@b>", "<c@d>")),
        ("junk", ()),
        ("", ()),
        ("<>", ()),
        ("<unclosed@x", ("<unclosed@x>",)),
        ("<1234>", ("<1234>",)),
    ],
)
def test_parse_message_ids(value: str, ids: tuple[str, ...]) -> None:
    assert parse_message_ids(value) == ids


def test_normalize_message_id() -> None:
    assert normalize_message_id("  a@b ") == "<a@b>"
    assert normalize_message_id("") is None
    assert normalize_message_id("<" + "x" * 2000 + ">") is None


@pytest.mark.parametrize(
    ("subject", "normalized", "prefixed"),
    [
        ("Hello World", "hello world", False),
        ("Re: Hello", "hello", True),
        ("RE: re: Fwd: Hello", "hello", True),
        ("Re[2]: Hello", "hello", True),
        ("Re^3: Hello", "hello", True),
        ("AW: SV: VS: Antw: Hello", "hello", True),
        ("Fw: Hello", "hello", True),
        ("RE : Hello", "hello", True),
        ("[list] Re: [list] Hello", "hello", True),
        ("[list]   Hello   there ", "hello there", False),
        ("回复: 你好", "你好", True),
        ("转发\uff1a你好", "你好", True),  # a full-width colon
        ("Hello (fwd)", "hello", True),
        ("Resolution: approved", "resolution: approved", False),
        ("Reply needed", "reply needed", False),
        ("[only-a-tag]", "[only-a-tag]", False),
        ("", "", False),
        ("Re:", "", True),
        ("STRASSE", "strasse", False),
        ("Straße", "strasse", False),
    ],
)
def test_split_subject(subject: str, normalized: str, prefixed: bool) -> None:
    assert split_subject(subject) == (normalized, prefixed)
    assert normalize_subject(subject) == normalized
