from __future__ import annotations

import pytest

from tests.mime.samples import (
    ALTERNATIVE,
    FORWARDED,
    MIXED_WITH_ATTACHMENTS,
    RFC9051_LEAVES,
    rfc9051_example,
)
from tidings.mime import AttachmentInfo, PartNotFound, iter_part_bytes, parse_message


def test_multipart_alternative_picks_both_bodies() -> None:
    parsed = parse_message(ALTERNATIVE)
    assert parsed.text == "Café at 10? See https://example.org/map\n"
    assert parsed.html == "<div>Café at 10?</div>"
    assert parsed.attachments == ()
    assert parsed.headers.subject == "Café tomorrow?"
    assert parsed.warnings == ()


def test_mixed_related_and_attachments() -> None:
    parsed = parse_message(MIXED_WITH_ATTACHMENTS)
    # iso-8859-1 is read as windows-1252, where 0x80 is the euro sign.
    assert parsed.text == "Total: 5 €"
    assert parsed.html == '<p>Total: 5 €</p><img src="cid:logo@example.com">'
    assert parsed.attachments == (
        AttachmentInfo("1.2", None, "image/png", 8, "logo@example.com", None, True, "base64"),
        AttachmentInfo(
            "2", "€ rates.pdf", "application/pdf", 9, None, "attachment", False, "base64"
        ),
        # name= fallback, with an encoded-word mailers write there.
        AttachmentInfo("3", "übersicht.csv", "text/csv", 8, None, None, False, None),
        AttachmentInfo("4", None, "text/calendar", 30, None, None, False, None),
    )
    assert iter_part_bytes(MIXED_WITH_ATTACHMENTS, "2") == b"%PDF-1.4\n"
    assert iter_part_bytes(MIXED_WITH_ATTACHMENTS, "1.2") == b"\x89PNG\r\n\x1a\n"
    assert iter_part_bytes(MIXED_WITH_ATTACHMENTS, "3") == b"a,b\r\n1,2"


def test_forwarded_message_is_an_attachment() -> None:
    parsed = parse_message(FORWARDED)
    assert parsed.text == "See below."
    assert parsed.html is None
    assert [(a.part, a.content_type, a.disposition) for a in parsed.attachments] == [
        ("2", "message/rfc822", "inline")
    ]
    inner = iter_part_bytes(FORWARDED, "2")
    assert inner.startswith(b"From: carol@example.net\r\nSubject: Minutes\r\n")
    assert parsed.attachments[0].size == len(inner)
    # Inside the forwarded message: 2.1 is its text, 2.2 its attachment (RFC 9051 §6.4.5).
    assert iter_part_bytes(FORWARDED, "2.1") == b"Inner text, not our body."
    assert iter_part_bytes(FORWARDED, "2.2") == b"\x00\x01\x02\x03"
    assert parse_message(inner).text == "Inner text, not our body."


def test_rfc9051_section_numbers() -> None:
    raw = rfc9051_example()
    for number in RFC9051_LEAVES:
        assert iter_part_bytes(raw, number) == f"content of {number}".encode()
    parsed = parse_message(raw)
    assert parsed.text == "content of 1"
    assert [(a.part, a.content_type) for a in parsed.attachments] == [
        ("2", "application/octet-stream"),
        ("3", "message/rfc822"),
        ("4.1", "image/gif"),
        ("4.2", "message/rfc822"),
    ]
    inner = iter_part_bytes(raw, "4.2")
    assert b"Subject: four-two" in inner
    assert b"content of 4.2.2.2" in inner


@pytest.mark.parametrize("number", ["5", "1.1", "4.3", "4.2.3", "0", "1.0", "a", "", "4.1.MIME"])
def test_missing_part_numbers(number: str) -> None:
    with pytest.raises(PartNotFound):
        iter_part_bytes(rfc9051_example(), number)


def test_multipart_container_has_no_content() -> None:
    with pytest.raises(PartNotFound, match="multipart"):
        iter_part_bytes(rfc9051_example(), "4")


def test_single_part_message_body_is_part_1() -> None:
    raw = b"Subject: plain\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
    parsed = parse_message(raw)
    assert parsed.text == "Hello\n"
    assert parsed.attachments == ()
    assert iter_part_bytes(raw, "1") == b"Hello\r\n"
    with pytest.raises(PartNotFound):
        iter_part_bytes(raw, "2")


def test_single_part_attachment_message() -> None:
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: application/pdf; name=scan.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text is None and parsed.html is None
    assert parsed.attachments == (
        AttachmentInfo("1", "scan.pdf", "application/pdf", 9, None, None, False, "base64"),
    )


def test_encapsulated_single_part_body_is_n_1() -> None:
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nouter\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\naW5uZXI=\r\n"
        b"--b--\r\n"
    )
    assert iter_part_bytes(raw, "2.1") == b"inner"


def test_message_without_mime_version() -> None:
    raw = (
        b"Subject: old mailer\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nplain\r\n--x\r\n"
        b"Content-Type: text/html\r\n\r\n<b>rich</b>\r\n--x--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "plain"
    assert parsed.html == "<b>rich</b>"
    assert any("MIME-Version" in w for w in parsed.warnings)


def test_boundary_that_never_closes() -> None:
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=open\r\n\r\n"
        b"--open\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
        b"--open\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"R0lGODlh\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "first"
    assert [(a.part, a.size) for a in parsed.attachments] == [("2", 6)]
    assert any("close boundary" in w for w in parsed.warnings)


def test_broken_base64_body() -> None:
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nR3LDvM\x00%%OfZSDigqw\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "Grüße €"
    assert any("base64" in w for w in parsed.warnings)


def test_no_message_id() -> None:
    parsed = parse_message(b"Subject: x\r\n\r\nbody")
    assert parsed.headers.message_id is None
    assert "no Message-ID" in parsed.warnings
    assert parsed.text == "body"


def test_unknown_charset_body_and_8bit_headers() -> None:
    raw = (
        "Subject: Grüße\r\nContent-Type: text/plain; charset=x-unknown\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nnaïve body\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert parsed.headers.subject == "Grüße"
    assert parsed.text == "naïve body\n"
    assert any("x-unknown" in w for w in parsed.warnings)


def test_mixed_text_parts_fill_in_the_html_body() -> None:
    # A mailing-list footer added as a text part after a multipart/alternative.
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
        b"--a\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--a\r\nContent-Type: text/html\r\n\r\n<p>hello</p>\r\n--a--\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\n-- list footer <x@y>\r\n--m--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "hello\n-- list footer <x@y>"
    assert parsed.html == "<p>hello</p>\n<p>-- list footer &lt;x@y&gt;</p>"


def test_inline_image_between_text_parts() -> None:
    # Apple Mail: text, an inline image without Content-ID, more text.
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nbefore\r\n"
        b"--m\r\nContent-Type: image/jpeg; name=photo.jpg\r\nContent-Disposition: inline;"
        b" filename=photo.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nafter\r\n--m--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "before\nafter"
    (photo,) = parsed.attachments
    assert (photo.part, photo.filename, photo.disposition, photo.is_inline) == (
        "2", "photo.jpg", "inline", False,
    )  # fmt: skip


def test_cid_image_marked_attachment_but_used_by_html() -> None:
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=r\r\n\r\n"
        b'--r\r\nContent-Type: text/html\r\n\r\n<img src="CID:img1@x">\r\n'
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <img1@x>\r\n"
        b"Content-Disposition: attachment; filename=a.png\r\n\r\npng\r\n"
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <unused@x>\r\n"
        b"Content-Disposition: attachment; filename=b.png\r\n\r\npng\r\n--r--\r\n"
    )
    parsed = parse_message(raw)
    assert [(a.filename, a.is_inline) for a in parsed.attachments] == [
        ("a.png", True),
        ("b.png", False),
    ]


def test_related_start_parameter_picks_the_root() -> None:
    raw = (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=r; start="<root@x>"\r\n'
        b"\r\n--r\r\nContent-Type: text/html\r\nContent-ID: <other@x>\r\n\r\n<p>not root</p>\r\n"
        b"--r\r\nContent-Type: text/html\r\nContent-ID: <root@x>\r\n\r\n<p>root</p>\r\n--r--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.html == "<p>root</p>"
    assert [a.part for a in parsed.attachments] == ["1"]


def test_text_attachment_with_filename_is_not_body() -> None:
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
        b"--m\r\nContent-Type: text/plain\r\nContent-Disposition: inline; filename=notes.txt\r\n"
        b"\r\nnotes\r\n--m--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "body"
    assert [(a.part, a.filename, a.size) for a in parsed.attachments] == [("2", "notes.txt", 5)]


def test_deep_nesting_does_not_crash() -> None:
    depth = 3000
    head = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(depth)
    )
    raw = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + head
    parsed = parse_message(raw)
    assert parsed.text is None
    assert parsed.warnings
