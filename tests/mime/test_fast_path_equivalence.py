"""The fast paths of header parsing, fingerprints, part decoding, snippets and text
rendered as HTML give
exactly what the implementation before them gave (kept in ``tests/mime/reference_*``),
byte for byte: stored data and message ids depend on it."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.mime import reference_body as old_body
from tests.mime import reference_headers as old
from tests.mime import reference_htmltext as old_html
from tests.mime.header_strategies import header_sections
from tidings.mime import (
    HeaderSummary,
    content_fingerprint_of,
    decode_part,
    make_snippet,
    parse_date,
    parse_headers,
    parse_message_ids,
    synthesize_message_id_of,
    text_to_html,
)
from tidings.mime.charsets import _codec_chain
from tidings.mime.fields import field_pairs, header_section
from tidings.mime.spaces import RunCollapser


def _same_summary(new: HeaderSummary, reference: HeaderSummary) -> None:
    assert new == reference
    # Dates compare by instant; the stored value also keeps the offset.
    assert repr(new) == repr(reference)


_BASIC = (b"Return-Path: <a@example.org>\r\nReceived: from x;\r\n\tTue, 4 Jun 2024 10:00:01"
          b" +0000\r\nReceived: from y\r\nMessage-ID: <m@x>\r\nFrom: A <a@Example.org>\r\n"
          b"To: b@example.com\r\nTo: c@example.com\r\nSubject: =?utf-8?q?caf=C3=A9?= \r\n"
          b" now\r\nDate: Tue, 4 Jun 2024 12:00:00 +0200\r\n\r\nbody")


@given(header_sections())
@example(_BASIC)
@example(b"")
@example(b"\r\n\r\nbody")
@example(b"Subject: a\rb\r\n")
@example(b"Subject: x\n\nFrom: a@b\n")
@example(b" folded first\r\nSubject: x\r\n")
@example(b"Subject: " + b"y" * 70_000 + b"\r\n")
def test_parse_headers_matches_the_reference(raw: bytes) -> None:
    _same_summary(parse_headers(raw), old.parse_headers(raw))


@given(st.binary(max_size=300) | header_sections())
def test_arbitrary_bytes_parse_as_before(raw: bytes) -> None:
    _same_summary(parse_headers(raw), old.parse_headers(raw))


@given(st.lists(st.sampled_from([b"\r", b"\n", b"a", b":", b" ", b"\t", b"\r\n"]),
                max_size=40).map(b"".join))
@example(b"\r\r\n\r\nx")
@example(b"a\r\n\nb")
@example(b"a\n\r\nb")
@example(b"a\n :")
@example(b"Subject: x\r\nab\r\n\t: y\r\nTo: c@d\r\n")
@example(b"Subject: x\nSub\n ject: y\n\tz\nTo: a@b\n")
def test_header_section_and_fields_match_the_reference(raw: bytes) -> None:
    assert header_section(raw) == old.header_section(raw)
    fields, warnings = old.split_fields(raw)
    assert field_pairs(raw) == ([(f.name, f.value) for f in fields], warnings)


_DAYS = st.sampled_from(["", "Mon, ", "Sun, ", "Xyz, ", "Sun,", "sun, "])
_MONTHS = st.sampled_from(["Jan", "Feb", "Sep", "Dec", "sep", "Foo"])
_ZONES = st.sampled_from(["+0000", "-0000", "+0200", "-0730", "+0060", "-9999", "+2400",
                          "GMT", "EST", "", "+02:00"])


@st.composite
def _dates(draw: st.DrawFn) -> str:
    day = draw(st.integers(0, 40))
    year = draw(st.sampled_from(["2026", "1999", "0050", "0099", "0000", "26", "9999"]))
    clock = ":".join(f"{draw(st.integers(0, 99)):02d}" for _ in range(draw(st.integers(2, 3))))
    zone = draw(_ZONES)
    comment = draw(st.sampled_from(["", " (UTC)", " (Pacific Standard Time)", " (x"]))
    width = draw(st.sampled_from([" ", "  ", "\t"]))
    parts = [f"{draw(_DAYS)}{day:0{draw(st.integers(1, 2))}d}", draw(_MONTHS), year, clock,
             zone]
    return width.join(parts) + comment


@given(_dates() | st.text(max_size=60))
@example("Sun, 06 Sep 2026 19:53:04 +0000")
@example("Sun, 06 Sep 2026 19:53:60 -0000 (UTC)")
@example("06 Sep 2026 23:59:59 +9959")
@example("31 Apr 2026 10:00:00 +0100")
def test_parse_date_matches_the_reference(value: str) -> None:
    new, reference = parse_date(value), old.parse_date(value)
    assert new == reference
    if isinstance(new, datetime) and isinstance(reference, datetime):
        assert new.utcoffset() == reference.utcoffset()
        assert new.isoformat() == reference.isoformat()


@given(st.lists(st.sampled_from(["<a@b>", "<c@d>", " ", ",", "(x <e@f>)", '"q"', "a@b", ""]),
                max_size=8).map("".join) | st.text(max_size=40))
def test_parse_message_ids_matches_the_reference(value: str) -> None:
    assert parse_message_ids(value) == old.parse_message_ids(value)


@given(header_sections(), st.integers(0, 10**9))
@example(_BASIC, 1234)
def test_fingerprints_and_synthetic_ids_match_the_reference(raw: bytes, size: int) -> None:
    summary = parse_headers(raw)
    assert content_fingerprint_of(summary, size) == old_body.content_fingerprint_of(summary, size)
    assert synthesize_message_id_of(summary) == old_body.synthesize_message_id_of(summary)


@given(st.sampled_from(["utf-8", " UTF-8 ", '"iso-8859-1"', "utf-8*en", "us-ascii", "ascii",
                        "x-unknown", "gb2312", "shift_jis", "koi8-r", "idna", "", "rot13",
                        "windows-1252", "utf-7", "latin1", "x-sjis"]) | st.text(max_size=12))
def test_codec_chain_matches_the_reference(label: str) -> None:
    assert _codec_chain(label) == old_body.codec_chain(label)
    assert _codec_chain(label) == old_body.codec_chain(label)  # and once cached


_BODY_BYTES = st.lists(st.sampled_from([b"line", b"\r\n", b"\r", b"\n", b"=\r\n", b"=C3=A9",
                                        b"=", b"\xc3\xa9", b"\xe9", b" ", b"\t", b"\x00",
                                        b"aGVsbG8=", b"\xff"]), max_size=40).map(b"".join)


@given(_BODY_BYTES | st.binary(max_size=200),
       st.sampled_from([None, "7bit", "quoted-printable", " Base64 ", "x-uuencode", "bogus"]),
       st.sampled_from([None, "utf-8", "iso-8859-1", "us-ascii", "x-unknown", "utf-16"]))
def test_decode_part_matches_the_reference(data: bytes, encoding: str | None,
                                           charset: str | None) -> None:
    assert decode_part(data, encoding, charset) == old_body.decode_part(data, encoding, charset)


_SNIPPET_TEXT = st.lists(st.sampled_from(["word", " ", "  ", "\t", "\n", "\r\n", "\u00a0",
                                          "\u200b", "\f", "\v", "\u2003", "é"]),
                         max_size=300).map("".join)


@given(_SNIPPET_TEXT | st.none(), st.sampled_from([None, "<p>Hi <b>there</b></p>", ""]),
       st.integers(0, 150))
def test_make_snippet_matches_the_reference(text: str | None, html: str | None,
                                            length: int) -> None:
    assert make_snippet(text, html, length) == old_body.make_snippet(text, html, length)


_CLASSES = [r"[\s\x00-\x1f\x7f]", r"\s", r"[ \t\r\n\f\v\u00a0\u200b]"]  # as the modules use
_ASCII_TEXT = st.lists(st.sampled_from(["a", "bc", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c",
                                        "\x00", "\x1c", "\x1f", "\x7f", "~"]),
                       max_size=80).map("".join)


@given(st.sampled_from(_CLASSES), _ASCII_TEXT | _SNIPPET_TEXT | st.text(max_size=80))
@example(r"\s", " " * 1025 + "x" + "\t" * 3)
def test_run_collapser_matches_the_regular_expression(character_class: str, text: str) -> None:
    expected = re.sub(f"{character_class}+", " ", text)
    assert RunCollapser.of(character_class)(text) == expected


def test_run_collapser_needs_the_space_in_its_class() -> None:
    with pytest.raises(ValueError, match="space"):
        RunCollapser.of(r"[\t\n]")


_TEXT_PIECES = st.sampled_from([
    "a", "word", " ", "\t", "\n", "\r", "\r\n", "\n\n", "\n \n", "<", ">", "&", '"', "'",
    "http://x.org/p?q=1&r=2", "https://a.b/c_(d)", "www.example.com", "www.", "mailto:a@b.c",
    "ftp://f.g/h", "://", ".", ",", ")", "(", "é", "\u2028",
    "WWW.Example.COM", "MailTo:c@d.e", "HTTPS://A.B", ":", "mailto", "ww", "w.", "\x00",
    "&amp;", "\x1c",
])


@given(st.lists(_TEXT_PIECES, max_size=40).map("".join) | st.text(max_size=200))
@example("Hi <Bob>\nsee https://example.org/a?b=1&c=2.\n\nwww.example.com (x)")
@example("\n\n  \n")
@example("a\x00b <c>\n\n\x00\n \n'd' & \"e\"")
@example("line one\r\nline two\rline three\n \nnext http://a.b\nhttp://c.d")
def test_text_to_html_matches_the_reference(text: str) -> None:
    assert text_to_html(text) == old_html.text_to_html(text)
