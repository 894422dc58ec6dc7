"""Composing outgoing mail: what goes in comes back out of the parser; Bcc only in the
kept copy; header fields can be stripped from raw bytes, folded lines and all."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tidings.mime import EmailAddress, parse_message
from tidings.mime.compose import Composition, OutgoingPart, compose, strip_header_fields

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _composition(**changes: object) -> Composition:
    fields: dict[str, object] = {
        "from_": (EmailAddress("Ann Lée", "ann@example.com"),),
        "to": (EmailAddress("", "bob@example.org"),),
        "bcc": (EmailAddress("", "quiet@example.net"),),
        "subject": "Zürich plans",
        "body": "<p>See <b>you</b> there</p>",
        "message_id": "<abc@example.com>",
        "date": WHEN,
    }
    fields.update(changes)
    return Composition(**fields)  # type: ignore[arg-type]


def test_round_trip_with_alternative_inline_and_attachment() -> None:
    raw = compose(_composition(
        in_reply_to="q1@example.com", references=("q0@example.com", "<q1@example.com>"),
        extra_headers=(("X-Campaign", "autumn"),),
        attachments=(
            OutgoingPart(filename="data.bin", content_type="application/octet-stream",
                         content=bytes(range(256))),
            OutgoingPart(filename="logo.png", content_type="image/png", content=b"\x89PNG",
                         content_id="logo1", inline=True),
        )), include_bcc=False)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = parse_message(raw)
    headers = parsed.headers
    assert headers.subject == "Zürich plans"
    assert headers.from_ == (EmailAddress("Ann Lée", "ann@example.com"),)
    assert headers.bcc == ()
    assert headers.message_id == "<abc@example.com>"
    assert headers.in_reply_to == ("<q1@example.com>",)
    assert headers.references == ("<q0@example.com>", "<q1@example.com>")
    assert parsed.html is not None and "<b>you</b>" in parsed.html
    assert parsed.text is not None and "you" in parsed.text
    by_name = {a.filename: a for a in parsed.attachments}
    assert by_name["data.bin"].size == 256 and not by_name["data.bin"].is_inline
    assert by_name["logo.png"].content_id == "logo1" and by_name["logo.png"].is_inline
    assert b"X-Campaign: autumn" in raw


def test_bcc_only_in_the_kept_copy_and_plain_text_alone() -> None:
    kept = compose(_composition(body="just text", is_plaintext=True), include_bcc=True)
    parsed = parse_message(kept)
    assert parsed.headers.bcc == (EmailAddress("", "quiet@example.net"),)
    assert parsed.html is None and parsed.text is not None
    assert parsed.text.strip() == "just text"


def test_strip_header_fields_removes_folded_lines_only_in_the_header() -> None:
    raw = (b"From: a@example.com\r\nBcc: one@example.net,\r\n two@example.net\r\n"
           b"Subject: hi\r\n\r\nBcc: this line is body text\r\n")
    stripped = strip_header_fields(raw, ["bcc"])
    assert stripped == (b"From: a@example.com\r\nSubject: hi\r\n\r\n"
                        b"Bcc: this line is body text\r\n")


@given(subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=120),
       body=st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_subject_and_text_body_survive(subject: str, body: str) -> None:
    raw = compose(_composition(subject=subject, body=body, is_plaintext=True),
                  include_bcc=False)
    parsed = parse_message(raw)
    assert parsed.headers.subject == " ".join(subject.split())
    assert not parsed.warnings
