"""Hypothesis strategies for header sections as mailers and broken mailers write them:
encoded-words in several charsets, raw 8-bit bytes, folded lines, junk lines, duplicate
fields, broken dates, CRLF and LF and bare CR."""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["field_values", "header_sections"]

_NAMES = [
    "Subject", "From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Date", "Message-ID",
    "In-Reply-To", "References", "Content-Type", "Content-Disposition", "Received",
    "X-Mailer", "subject", "FROM", "x-a*b", "Content-ID", "Resent-Message-ID",
]  # fmt: skip
_WORDS = [
    "hello", "Re:", "world", "a@b.example", "<id1@x.example>", "<id2@y.example>",
    '"Doe, Jane" <jane@Example.COM>', "Bob <bob@b.example>", "undisclosed-recipients:;",
    "=?utf-8?B?w6k=?=", "=?UTF-8?Q?caf=C3=A9?=", "=?iso-8859-1?q?d=E9j=E0?=",
    "=?koi8-r?B?8NLJ18XU?=", "=?shift_jis?B?grGC8YLJgr+CzQ==?=", "=?gb2312?B?xOO6w8rAvec",
    "=?x-bad?Q?=FF_?=", "=?utf-8?b?broken!!?=", "text/plain; charset=utf-8",
    "attachment; filename*=UTF-8''%E2%82%AC.txt", "multipart/mixed; boundary=b",
    "Sun, 06 Sep 2026 19:53:04 +0000", "6 Sep 2026 19:53 -0700", "Tue, 31 Feb 2026 10:00:00 +0100",
    "Mon, 06 Sep 26 25:61:99 +9999", "garbage date", "(comment)", "\t", "  ", ",", ";", "*",
    "=?", "\x00", "\x1f", "\x7f", "\u00a0", "é", "日本", "<<a@b>>", "a@b",
]  # fmt: skip
# Raw bytes that are not UTF-8, and UTF-8 that is not ASCII, written straight into values.
_EIGHT_BIT = [b"\xe9t\xe9", b"\xff\xfe", b"\xc3\xa9", b"\xe2\x82", b"\xd0\xf2\xe9"]
_BREAKS = [b"\r\n", b"\n", b"\r\n ", b"\n\t", b"\r", b"\r\r\n"]


@st.composite
def field_values(draw: st.DrawFn) -> bytes:
    pieces: list[bytes] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            pieces.append(draw(st.sampled_from(_EIGHT_BIT)))
        elif kind == 1:
            pieces.append(draw(st.sampled_from([b"\r\n ", b"\n\t", b"\r\n\t ", b" "])))
        else:
            pieces.append(draw(st.sampled_from(_WORDS)).encode("utf-8"))
        pieces.append(draw(st.sampled_from([b" ", b"", b"  ", b"\t"])))
    return b"".join(pieces)


@st.composite
def header_sections(draw: st.DrawFn) -> bytes:
    """Header sections as mailers and broken mailers write them."""
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    lines: list[bytes] = []
    if draw(st.booleans()) and draw(st.booleans()):
        lines.append(b"From someone@example.org Mon Jan  1 00:00:00 2024")
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            lines.append(draw(st.sampled_from([b"not a field", b" continuation", b":empty",
                                               b"Bad Name: x", b"\x0b", b"X-Tab\t: y"])))
        else:
            name = draw(st.sampled_from(_NAMES)).encode("ascii")
            space = draw(st.sampled_from([b" ", b"", b"\t", b"  "]))
            lines.append(name + b":" + space + draw(field_values()))
    if draw(st.integers(0, 9)) == 0:
        eol_mixed = draw(st.sampled_from(_BREAKS))
        section = eol_mixed.join(lines)
    else:
        section = eol.join(lines)
    ending = draw(st.sampled_from([eol + eol + b"body\r\n", eol, b"", eol + b"\r"]))
    return section + ending
