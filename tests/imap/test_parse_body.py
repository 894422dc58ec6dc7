"""BODY / BODYSTRUCTURE: nesting, extension data and IMAP section numbers."""

from __future__ import annotations

import pytest

from tests.imap.wire import parse_all
from tidings.imap.errors import LimitExceeded, ProtocolError
from tidings.imap.limits import Limits
from tidings.imap.reader import NEED_DATA, ResponseReader
from tidings.imap.responses import BodyPart, BodyStructure, Fetch, Multipart


def structure(data: bytes) -> BodyStructure:
    (event,) = parse_all(b"* 1 FETCH (UID 1 BODYSTRUCTURE " + data + b")\r\n")
    assert isinstance(event, Fetch)
    assert event.bodystructure is not None
    return event.bodystructure


GMAIL = (
    b'((("text" "plain" ("charset" "UTF-8") NIL NIL "quoted-printable" 120 4 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "UTF-8") NIL NIL "quoted-printable" 340 8 NIL NIL NIL NIL)'
    b' "alternative" ("boundary" "000000000000a1") NIL NIL NIL)'
    b'("application" "pdf" ("name" "report.pdf") "<f_lx1>" NIL "base64" 53410 NIL'
    b' ("attachment" ("filename" "report.pdf")) NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 2345'
    b' ("Mon, 1 Jan 2024 10:00:00 +0000" "Fwd" (("A" NIL "a" "x.org")) NIL NIL NIL NIL NIL NIL'
    b' "<inner@x.org>")'
    b' (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)'
    b'("image" "png" ("name" "a.png") "<img1>" NIL "base64" 1000 NIL ("inline" NIL) NIL NIL)'
    b' "related" ("boundary" "b2") NIL NIL NIL) 40 NIL ("attachment" ("filename" "fwd.eml"))'
    b" NIL NIL)"
    b' "mixed" ("boundary" "000000000000b2") NIL NIL NIL)'
)


def test_gmail_nested_multipart_with_attachment_and_forwarded_message() -> None:
    top = structure(GMAIL)
    assert isinstance(top, Multipart)
    assert (top.part, top.subtype, top.params) == ("", "mixed", {"boundary": "000000000000b2"})
    alternative, pdf, forwarded = top.parts
    assert isinstance(alternative, Multipart)
    assert alternative.part == "1"
    assert [(p.part, p.mime_type, p.lines) for p in alternative.walk()] == [
        ("1.1", "text/plain", 4),
        ("1.2", "text/html", 8),
    ]
    assert isinstance(pdf, BodyPart)
    assert (pdf.part, pdf.id, pdf.encoding, pdf.size) == ("2", "<f_lx1>", "base64", 53410)
    assert (pdf.disposition, pdf.disposition_params) == ("attachment", {"filename": "report.pdf"})
    assert isinstance(forwarded, BodyPart)
    assert (forwarded.part, forwarded.mime_type, forwarded.lines) == ("3", "message/rfc822", 40)
    assert forwarded.envelope is not None
    assert forwarded.envelope.message_id == "<inner@x.org>"
    inner = forwarded.body
    assert isinstance(inner, Multipart)
    assert (inner.part, inner.subtype) == ("3", "related")
    assert [(p.part, p.mime_type) for p in inner.walk()] == [
        ("3.1", "text/plain"),
        ("3.2", "image/png"),
    ]
    assert [p.part for p in top.walk()] == ["1.1", "1.2", "2", "3"]


def test_rfc9051_multipart_example_with_upper_case_types() -> None:
    top = structure(
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")'
    )
    assert isinstance(top, Multipart)
    assert top.subtype == "mixed"
    _, second = top.parts
    assert isinstance(second, BodyPart)
    assert (second.part, second.type, second.subtype) == ("2", "text", "plain")
    assert second.params == {"charset": "US-ASCII", "name": "cc.diff"}
    assert (second.description, second.encoding, second.size, second.lines) == (
        "Compiler diff",
        "base64",
        4554,
        73,
    )


def test_single_part_message_rfc822_body_is_numbered_n_dot_1() -> None:
    top = structure(
        b'(("text" "plain" NIL NIL NIL "7bit" 10 1)'
        b'("message" "rfc822" NIL NIL NIL "7bit" 300 (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b' ("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 20 2) 12) "mixed")'
    )
    assert isinstance(top, Multipart)
    message = top.parts[1]
    assert isinstance(message, BodyPart)
    assert message.part == "2"
    assert isinstance(message.body, BodyPart)
    assert message.body.part == "2.1"


def test_single_part_message_is_part_1() -> None:
    top = structure(b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1)')
    assert isinstance(top, BodyPart)
    assert top.part == "1"


def test_extension_data_md5_language_location_and_unknown_extensions() -> None:
    top = structure(
        b'(("text" "plain" NIL NIL NIL "7bit" 10 1 "Q2hlY2s=" ("inline" NIL) "en" "http://x/"'
        b' 42 ("future" (1 2)))'
        b'("text" "html" NIL NIL NIL "7bit" 10 1 NIL NIL ("en" "de") NIL)'
        b' "alternative" NIL ("inline" NIL) {2}\r\nfr "loc" "more")'
    )
    assert isinstance(top, Multipart)
    plain, html = top.parts
    assert isinstance(plain, BodyPart)
    assert (plain.md5, plain.disposition, plain.language, plain.location) == (
        "Q2hlY2s=",
        "inline",
        ("en",),
        "http://x/",
    )
    assert isinstance(html, BodyPart)
    assert html.language == ("en", "de")
    assert (top.disposition, top.language, top.location) == ("inline", ("fr",), "loc")


def test_lenient_forms_seen_from_servers() -> None:
    # "()" for no parameters, NIL encoding, spaces between parts, text without lines.
    top = structure(
        b'(("text" "plain" () NIL NIL NIL 5) ("text" "html" NIL NIL NIL "7BIT" 5) "mixed")'
    )
    assert [(p.params, p.encoding, p.lines) for p in top.walk()] == [
        ({}, "7bit", None),
        ({}, "7bit", None),
    ]


def test_deep_nesting_raises_limit_exceeded_not_recursion_error() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* 1 FETCH (BODYSTRUCTURE " + b"(" * 10_000 + b")" * 10_000 + b")\r\n")
    with pytest.raises(LimitExceeded) as info:
        reader.next_event()
    assert info.value.limit == "nesting depth"


def test_depth_limit_is_configurable() -> None:
    nested = b'(((("text" "plain" NIL NIL NIL "7bit" 1 1) "mixed") "mixed") "mixed")'
    data = b"* 1 FETCH (BODYSTRUCTURE " + nested + b")\r\n"
    reader = ResponseReader(Limits(max_depth=4))
    reader.receive_data(data)
    with pytest.raises(LimitExceeded):
        reader.next_event()
    reader = ResponseReader(Limits(max_depth=5))
    reader.receive_data(data)
    assert reader.next_event() is not NEED_DATA


@pytest.mark.parametrize(
    "data",
    [
        b"()",
        b'("text")',
        b'("text" "plain" NIL NIL NIL "7bit" x)',
        b'("text" "plain" ("charset") NIL NIL "7bit" 1 1)',
        b'(("text" "plain" NIL NIL NIL "7bit" 1 1))',
        b'("text" "plain" NIL NIL NIL "7bit" 1 1 NIL ("inline"))',
    ],
)
def test_malformed_structures(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        structure(data)
