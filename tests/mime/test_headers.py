from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tidings.mime import (
    EmailAddress,
    decode_encoded_words,
    parse_address_list,
    parse_date,
    parse_headers,
)

BASIC = (
    b"Return-Path: <alice@example.org>\r\n"
    b"Received: from mx.example.org by imap.example.net;\r\n"
    b"\tTue, 4 Jun 2024 10:00:01 +0000\r\n"
    b"Message-ID: <CAF=abc123@mail.example.org>\r\n"
    b"In-Reply-To: <root@example.org> (Bob's message of Monday)\r\n"
    b"References: <root@example.org>\r\n"
    b"  <middle@example.org>\r\n"
    b'From: "Alice Example" <Alice@Example.ORG>\r\n'
    b'To: bob@example.com, "Doe, Jane" <jane@EXAMPLE.com>\r\n'
    b"Cc: undisclosed-recipients:;\r\n"
    b"Subject: Re: Quarterly\r\n"
    b" report\r\n"
    b"Date: Tue, 4 Jun 2024 12:00:00 +0200\r\n"
    b"\r\n"
    b"body is ignored\r\n"
)


def test_basic_summary() -> None:
    summary = parse_headers(BASIC)
    assert summary.message_id == "<CAF=abc123@mail.example.org>"
    assert summary.in_reply_to == ("<root@example.org>",)
    assert summary.references == ("<root@example.org>", "<middle@example.org>")
    assert summary.subject == "Re: Quarterly report"
    assert summary.from_ == (EmailAddress("Alice Example", "Alice@example.org"),)
    assert summary.to == (
        EmailAddress("", "bob@example.com"),
        EmailAddress("Doe, Jane", "jane@example.com"),
    )
    assert summary.cc == ()
    assert summary.date == datetime(2024, 6, 4, 10, 0, tzinfo=UTC)
    assert summary.date is not None and summary.date.utcoffset() == timedelta(hours=2)
    assert [name for name, _ in summary.headers] == [
        "Return-Path", "Received", "Message-ID", "In-Reply-To", "References",
        "From", "To", "Cc", "Subject", "Date",
    ]  # fmt: skip
    assert summary.get_all("received") == (
        "from mx.example.org by imap.example.net;\tTue, 4 Jun 2024 10:00:01 +0000",
    )
    assert summary.warnings == ()


@pytest.mark.parametrize(
    ("raw", "subject"),
    [
        (b"=?utf-8?B?R3LDvMOfZSDigqw=?=", "Grüße €"),
        (b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_=E2=82=AC?=", "Grüße €"),
        (b"=?iso-8859-1?Q?Caf=E9_d=E9j=E0_vu?=", "Café déjà vu"),
        (b"=?ISO-8859-1?B?Q2Fm6SBk6WrgIHZ1?=", "Café déjà vu"),
        (b"=?koi8-r?B?8NLJ18XULCDNydI=?=", "Привет, мир"),
        (b"=?shift_jis?B?grGC8YLJgr+CzZCiikU=?=", "こんにちは世界"),
        (b"=?gb2312?B?xOO6w8rAvec=?=", "你好世界"),
        # Whitespace between adjacent encoded-words is dropped (RFC 2047 §6.2).
        (b"=?utf-8?q?a?= =?utf-8?q?b?= c =?utf-8?q?d?=", "ab c d"),
        # A UTF-8 character split across two encoded-words.
        (b"=?utf-8?B?4oI=?=\r\n =?utf-8?B?rA==?=", "€"),
        # Encoded-word glued to text, and a language suffix (RFC 2231 §5).
        (b"Re:=?utf-8*en?q?hi?=", "Re:hi"),
        (b"=?x-unknown?q?caf=C3=A9?=", "café"),
        (b"=?utf-8?q?not closed", "=?utf-8?q?not closed"),
    ],
)
def test_encoded_word_subjects(raw: bytes, subject: str) -> None:
    summary = parse_headers(b"Subject: " + raw + b"\r\n\r\n")
    assert summary.subject == subject


def test_unknown_charset_in_encoded_word_is_reported() -> None:
    summary = parse_headers(b"Subject: =?x-unknown?q?caf=E9?=\r\n")
    assert summary.subject == "café"
    assert any("unknown charset" in w for w in summary.warnings)


def test_raw_utf8_header() -> None:
    summary = parse_headers("Subject: Grüße aus Köln\r\nFrom: Jörg <jörg@bücher.de>\r\n".encode())
    assert summary.subject == "Grüße aus Köln"
    assert summary.from_ == (EmailAddress("Jörg", "jörg@bücher.de"),)
    assert summary.warnings == ("no Message-ID",)


def test_raw_legacy_charset_header_uses_content_type_hint() -> None:
    raw = (
        b"Subject: \xf0\xd2\xc9\xd7\xc5\xd4\r\n"
        b"Content-Type: text/plain; charset=koi8-r\r\n"
        b"Message-ID: <a@b>\r\n"
    )
    summary = parse_headers(raw)
    assert summary.subject == "Привет"
    assert any("8-bit" in w for w in summary.warnings)


def test_raw_latin1_header_without_hint() -> None:
    summary = parse_headers(b"Subject: Caf\xe9\r\nMessage-ID: <a@b>\r\n")
    assert summary.subject == "Café"


def test_missing_message_id_and_duplicates() -> None:
    assert parse_headers(b"Subject: x\r\n").message_id is None
    summary = parse_headers(b"Message-ID: <one@x>\r\nMessage-ID: <two@x>\r\n")
    assert summary.message_id == "<one@x>"
    assert any("2 message-id fields" in w for w in summary.warnings)
    several = parse_headers(b"Message-ID: <one@x> <two@x>\r\n")
    assert several.message_id == "<one@x>"
    assert several.warnings


def test_message_id_without_brackets_and_unusable() -> None:
    assert parse_headers(b"Message-ID: abc@host\r\n").message_id == "<abc@host>"
    unusable = parse_headers(b"Message-ID: <>\r\n")
    assert unusable.message_id is None
    assert any("unusable Message-ID" in w for w in unusable.warnings)


def test_broken_address_lists() -> None:
    raw = (
        b"Message-ID: <a@b>\r\n"
        b"From: Foo Bar <foo@bar.com\r\n"
        b'To: John Doe, jane@x.org,, <@>, "unbalanced <q@x.org>\r\n'
        b"Cc: =?utf-8?q?M=C3=BCller=2C_Hans?= <hans@x.de>\r\n"
    )
    summary = parse_headers(raw)
    assert summary.from_ == (EmailAddress("Foo Bar", "foo@bar.com"),)
    assert EmailAddress("", "jane@x.org") in summary.to
    # The comma inside the encoded-word does not split the address.
    assert summary.cc == (EmailAddress("Müller, Hans", "hans@x.de"),)
    assert any("unusable address" in w for w in summary.warnings)


def test_group_syntax() -> None:
    found, warnings = parse_address_list("Team: a@x.org, b@x.org;, c@x.org")
    assert [a.email for a in found] == ["a@x.org", "b@x.org", "c@x.org"]
    assert warnings == ()


def test_several_to_fields_are_joined() -> None:
    summary = parse_headers(b"To: a@x.org\r\nTo: b@x.org\r\n")
    assert [a.email for a in summary.to] == ["a@x.org", "b@x.org"]


def test_junk_lines_do_not_lose_later_headers() -> None:
    raw = (
        b"From mailer-daemon Tue Jun  4 10:00:00 2024\r\n"
        b"Subject: kept\r\n"
        b"this line is junk\r\n"
        b"Message-ID: <after@junk>\r\n"
        b": no name\r\n"
    )
    summary = parse_headers(raw)
    assert summary.subject == "kept"
    assert summary.message_id == "<after@junk>"
    assert any("not fields skipped" in w for w in summary.warnings)


def test_obsolete_space_before_colon() -> None:
    summary = parse_headers(b"Subject : spaced\r\n")
    assert summary.subject == "spaced"


def test_absurdly_long_header() -> None:
    refs = b" ".join(b"<r%d@x>" % i for i in range(5000))
    raw = b"Subject: " + b"x" * 200_000 + b"\r\nReferences: " + refs + b"\r\n"
    summary = parse_headers(raw)
    assert len(summary.subject) == 64 * 1024
    assert len(summary.references) == 256
    assert summary.references[0] == "<r0@x>"
    assert summary.references[-1] == "<r4999@x>"
    assert any("cut" in w for w in summary.warnings)


def test_huge_header_section_is_capped() -> None:
    raw = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 100) for i in range(20_000))
    summary = parse_headers(raw)
    assert 0 < len(summary.headers) <= 5000
    assert summary.warnings


def test_rfc2231_parameters_in_headers_are_decoded() -> None:
    raw = (
        b"Content-Type: application/pdf; name*=UTF-8''%E2%82%AC%20rates.pdf\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*0*=UTF-8''%E2%82%AC;\r\n"
        b' filename*1=" rates.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
    )
    summary = parse_headers(raw)
    assert summary.get_all("content-type") == ('application/pdf; name="€ rates.pdf"',)
    assert summary.get_all("content-disposition") == ('attachment; filename="€ rates.pdf"',)
    assert summary.get_all("content-transfer-encoding") == ("base64",)


def test_empty_and_headerless_input() -> None:
    for raw in (b"", b"\r\n", b"\r\n\r\nSubject: body, not header\r\n", b"\x00\xff\xfe"):
        summary = parse_headers(raw)
        assert summary.subject == ""
        assert summary.message_id is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "Tue, 4 Jun 2024 12:00:00 +0200",
            datetime(2024, 6, 4, 12, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("4 Jun 2024 12:00:00 GMT", datetime(2024, 6, 4, 12, tzinfo=UTC)),
        ("Tue, 04 Jun 24 12:00 -0000", datetime(2024, 6, 4, 12, tzinfo=UTC)),
        ("Tue, 4 Jun 2024 12:00:00 +0200 (CEST)", datetime(2024, 6, 4, 10, tzinfo=UTC)),
        ("Sat, 31 Dec 2016 23:59:60 +0000", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("yesterday", None),
        ("Tue, 31 Feb 2024 12:00:00 +0000", None),
        ("", None),
    ],
)
def test_parse_date(value: str, expected: datetime | None) -> None:
    parsed = parse_date(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


def test_unparseable_date_is_reported() -> None:
    summary = parse_headers(b"Date: the day after tomorrow\r\nMessage-ID: <a@b>\r\n")
    assert summary.date is None
    assert any("unparseable Date" in w for w in summary.warnings)


def test_decode_encoded_words_leaves_plain_text_alone() -> None:
    assert decode_encoded_words("plain = text ?") == ("plain = text ?", ())
