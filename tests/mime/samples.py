"""Real-world shaped messages, written out byte for byte."""

from __future__ import annotations

ALTERNATIVE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.com\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9_tomorrow=3F?=\r\n"
    b"Date: Tue, 4 Jun 2024 12:00:00 +0200\r\n"
    b"Message-ID: <alt-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="000000000000b1c2"\r\n'
    b"\r\n"
    b"--000000000000b1c2\r\n"
    b'Content-Type: text/plain; charset="UTF-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 at 10? See https://example.org/map\r\n"
    b"\r\n"
    b"--000000000000b1c2\r\n"
    b'Content-Type: text/html; charset="UTF-8"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"PGRpdj5DYWbDqSBhdCAxMD88L2Rpdj4=\r\n"
    b"--000000000000b1c2--\r\n"
)

MIXED_WITH_ATTACHMENTS = (
    b"From: Billing <billing@example.com>\r\n"
    b"To: alice@example.org\r\n"
    b"Subject: Invoice\r\n"
    b"Message-ID: <mixed-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=outer\r\n"
    b"\r\n"
    b"This is a multi-part message in MIME format.\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/related; boundary=rel; type="multipart/alternative"\r\n'
    b"\r\n"
    b"--rel\r\n"
    b"Content-Type: multipart/alternative; boundary=alt\r\n"
    b"\r\n"
    b"--alt\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Total: 5 =80\r\n"
    b"--alt\r\n"
    b"Content-Type: text/html; charset=iso-8859-1\r\n"
    b"\r\n"
    b'<p>Total: 5 \x80</p><img src="cid:logo@example.com">\r\n'
    b"--alt--\r\n"
    b"--rel\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-ID: <logo@example.com>\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"iVBORw0KGgo=\r\n"
    b"--rel--\r\n"
    b"--outer\r\n"
    b"Content-Type: application/pdf\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--outer\r\n"
    b'Content-Type: text/csv; name="=?UTF-8?B?w7xiZXJzaWNodC5jc3Y=?="\r\n'
    b"\r\n"
    b"a,b\r\n1,2\r\n"
    b"--outer\r\n"
    b"Content-Type: text/calendar; method=REQUEST; charset=utf-8\r\n"
    b"\r\n"
    b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    b"--outer--\r\n"
)

FORWARDED = (
    b"From: bob@example.com\r\n"
    b"To: alice@example.org\r\n"
    b"Subject: Fwd: Minutes\r\n"
    b"Message-ID: <fwd-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=f\r\n"
    b"\r\n"
    b"--f\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"See below.\r\n"
    b"--f\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Disposition: inline\r\n"
    b"\r\n"
    b"From: carol@example.net\r\n"
    b"Subject: Minutes\r\n"
    b"Content-Type: multipart/mixed; boundary=inner\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"Inner text, not our body.\r\n"
    b"--inner\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b'Content-Disposition: attachment; filename="minutes.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAw==\r\n"
    b"--inner--\r\n"
    b"\r\n"
    b"--f--\r\n"
)


def _part(headers: str, body: str) -> str:
    return f"{headers}\r\n\r\n{body}\r\n"


def _multipart(boundary: str, parts: list[str]) -> str:
    inner = "".join(f"--{boundary}\r\n{p}" for p in parts)
    return f"{inner}--{boundary}--\r\n"


def rfc9051_example() -> bytes:
    """The structure of the RFC 9051 §6.4.5 example, each leaf holding its own number."""

    def leaf(kind: str, number: str) -> str:
        return _part(f"Content-Type: {kind}", f"content of {number}")

    def message(subject: str, body_type: str, body: str) -> str:
        return (
            f"From: x@example.org\r\nSubject: {subject}\r\nContent-Type: {body_type}\r\n\r\n{body}"
        )

    msg_3 = message(
        "three",
        "multipart/mixed; boundary=b3",
        _multipart("b3", [leaf("text/plain", "3.1"), leaf("application/octet-stream", "3.2")]),
    )
    msg_4_2 = message(
        "four-two",
        "multipart/mixed; boundary=b42",
        _multipart(
            "b42",
            [
                leaf("text/plain", "4.2.1"),
                _part(
                    "Content-Type: multipart/alternative; boundary=b422",
                    _multipart(
                        "b422", [leaf("text/plain", "4.2.2.1"), leaf("text/richtext", "4.2.2.2")]
                    ),
                ),
            ],
        ),
    )
    part_4 = _part(
        "Content-Type: multipart/mixed; boundary=b4",
        _multipart(
            "b4",
            [leaf("image/gif", "4.1"), _part("Content-Type: message/rfc822", msg_4_2)],
        ),
    )
    body = _multipart(
        "top",
        [
            leaf("text/plain", "1"),
            leaf("application/octet-stream", "2"),
            _part("Content-Type: message/rfc822", msg_3),
            part_4,
        ],
    )
    top = message("example", "multipart/mixed; boundary=top", body)
    return ("MIME-Version: 1.0\r\nMessage-ID: <rfc9051@example.org>\r\n" + top).encode()


RFC9051_LEAVES = ("1", "2", "3.1", "3.2", "4.1", "4.2.1", "4.2.2.1", "4.2.2.2")
