"""Nothing in tidings.mime raises on hostile input, and every string it returns is valid
Unicode text (no lone surrogates) that protobuf and the store accept."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.mime.samples import ALTERNATIVE, FORWARDED, MIXED_WITH_ATTACHMENTS, rfc9051_example
from tidings.mime import (
    HeaderSummary,
    ParsedMessage,
    PartNotFound,
    content_fingerprint,
    decode_part,
    html_to_text,
    iter_part_bytes,
    make_snippet,
    parse_headers,
    parse_message,
    parse_message_ids,
    synthesize_message_id,
    text_to_html,
)

# Pieces that reach the parsers' less travelled paths when shuffled together.
_FRAGMENTS = [
    b"Subject: ", b"From: ", b"To: ", b"Message-ID: ", b"References: ", b"Date: ",
    b"Content-Type: multipart/mixed; boundary=b\r\n", b"Content-Type: multipart/alternative;"
    b" boundary=b\r\n", b"Content-Type: message/rfc822\r\n", b"Content-Type: text/html\r\n",
    b"Content-Type: text/plain; charset=x-unknown\r\n",
    b"Content-Type: text/plain; charset=utf-7\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Transfer-Encoding: x-uuencode\r\n", b"Content-Disposition: attachment; filename*0*=",
    b"UTF-8''%E2%82", b"; filename*1=%AC", b"Content-ID: <c@d>\r\n", b"MIME-Version: 1.0\r\n",
    b"=?utf-8?B?4oKs?=", b"=?x-bad?Q?=FF_?=", b"=?gb2312?B?xOO6w8rAvec", b"<a@b>", b"(c <x@y>)",
    b'"q, r" <s@t>', b"\r\n", b"\n", b"\r\n\r\n", b" ", b"\t", b"--b\r\n", b"--b--\r\n", b":",
    b"begin 644 f\r\n", b"end\r\n", b"\xff\xfe", b"\xe2\x82", b"\x00", b"=\r\n", b"=4", b"<",
    b"<p>", b"</p>", b"<![", b"<script>", b"&#x110000;", b"&amp", b"R0lGOD=", b"====",
]  # fmt: skip
_mail_like = st.lists(st.sampled_from(_FRAGMENTS) | st.binary(max_size=8), max_size=60).map(
    b"".join
)
_any_bytes = st.binary(max_size=2000) | _mail_like


def _valid_text(value: str) -> None:
    value.encode("utf-8")  # raises on lone surrogates


def _check_summary(summary: HeaderSummary) -> None:
    _valid_text(summary.subject)
    for name, value in summary.headers:
        _valid_text(name)
        _valid_text(value)
    for address in (*summary.from_, *summary.to, *summary.cc, *summary.reply_to):
        _valid_text(address.name)
        _valid_text(address.email)
        assert "@" in address.email
    for message_id in (summary.message_id or "<x>", *summary.references, *summary.in_reply_to):
        assert message_id.startswith("<") and message_id.endswith(">")
    assert summary.date is None or summary.date.tzinfo is not None
    assert all(isinstance(w, str) for w in summary.warnings)


@given(_any_bytes)
def test_parse_headers_never_raises(raw: bytes) -> None:
    _check_summary(parse_headers(raw))


@given(_any_bytes)
def test_parse_message_never_raises(raw: bytes) -> None:
    parsed: ParsedMessage = parse_message(raw)
    _check_summary(parsed.headers)
    for body in (parsed.text, parsed.html):
        if body is not None:
            _valid_text(body)
    for attachment in parsed.attachments:
        assert attachment.size >= 0
        assert attachment.filename is None or attachment.filename.strip()
        try:
            iter_part_bytes(raw, attachment.part)
        except PartNotFound:
            raise AssertionError(f"listed part {attachment.part} cannot be read") from None


@given(
    st.binary(max_size=2000) | _mail_like,
    st.none() | st.sampled_from(["base64", "quoted-printable", "x-uuencode", "8bit", "bogus", ""]),
    st.none()
    | st.sampled_from(["utf-8", "utf-7", "utf-16", "iso-2022-jp", "gb2312", "x-unknown", "hz"])
    | st.text(max_size=12),
)
def test_decode_part_never_raises(data: bytes, encoding: str | None, charset: str | None) -> None:
    decoded = decode_part(data, encoding, charset)
    _valid_text(decoded.text)
    assert "\r" not in decoded.text
    assert decoded.charset


@given(st.text(max_size=500) | _mail_like.map(lambda b: b.decode("latin-1")))
def test_text_helpers_never_raise(text: str) -> None:
    _valid_text(html_to_text(text.encode("utf-8", "replace").decode("utf-8")))
    # Everything is escaped: the only markup is our own paragraphs, breaks and links.
    assert set(re.findall(r"</?([a-zA-Z]+)", text_to_html(text))) <= {"p", "br", "a"}
    assert len(make_snippet(text, text)) <= 100
    for message_id in parse_message_ids(text):
        assert message_id.startswith("<") and message_id.endswith(">")


@given(_any_bytes, st.integers(min_value=0, max_value=10**9))
def test_identity_is_deterministic(raw: bytes, size: int) -> None:
    assert synthesize_message_id(raw) == synthesize_message_id(raw)
    assert content_fingerprint(raw, size) == content_fingerprint(raw, size)


@given(
    st.sampled_from([ALTERNATIVE, FORWARDED, MIXED_WITH_ATTACHMENTS, rfc9051_example()]),
    st.integers(min_value=0, max_value=4000),
)
def test_truncated_real_messages(raw: bytes, cut: int) -> None:
    """A message cut anywhere (a fetch that broke off) still parses."""
    parsed = parse_message(raw[:cut])
    _check_summary(parsed.headers)
