"""The shortcuts taken for speed give exactly what the long way gives."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tidings.mime import make_snippet, parse_headers
from tidings.mime.charsets import scrub_text

# The characters make_snippet collapses, and a few that it keeps.
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_bodies = st.text(alphabet=st.sampled_from(list(" \t\r\n\u00a0\u200b\fab-é")), max_size=3000)


def _snippet_the_long_way(text: str, length: int) -> str:
    head = _SPACES.sub(" ", text[: length * 8 + 1024]).strip()
    return head[:length].rstrip()


@given(_bodies, st.integers(min_value=1, max_value=300))
def test_snippet_from_a_short_prefix_matches_the_long_way(text: str, length: int) -> None:
    expected = _snippet_the_long_way(text, length) if text.strip() else ""
    assert make_snippet(text, None, length=length) == expected


def test_snippet_of_a_body_that_starts_with_a_long_blank_run() -> None:
    text = " \n" * 600 + "late words " * 30  # past the short prefix, inside the long one
    assert make_snippet(text, None) == _snippet_the_long_way(text, 100)
    assert make_snippet(text, None).startswith("late words")


def test_scrub_text_ascii_path() -> None:
    clean = "plain ascii"
    assert scrub_text(clean) is clean
    assert scrub_text("nul\x00here") == "nul\ufffdhere"
    assert scrub_text("lone \ud800 surrogate é") == "lone \ufffd surrogate é"


def test_repeated_address_lists_keep_their_warnings() -> None:
    raw = b"From: Broken <nobody>, Ann <ann@Example.org>\r\nMessage-ID: <a@b>\r\n"
    first, second = parse_headers(raw), parse_headers(raw)
    assert first == second
    assert [a.email for a in second.from_] == ["ann@example.org"]
    assert any("unusable address" in w for w in second.warnings)


def test_an_ascii_section_with_a_charset_parameter_is_unaffected_by_it() -> None:
    raw = (b"Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/plain; charset=koi8-r\r\n"
           b"Message-ID: <a@b>\r\n")
    summary = parse_headers(raw)
    assert summary.subject == "café"
    assert not any("8-bit" in w for w in summary.warnings)
