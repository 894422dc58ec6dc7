"""The header section split into fields (RFC 5322 §2.2), and 8-bit field values decoded.

The stdlib feed parser ends the header section at the first line that is neither a
field nor a continuation, so one junk line loses every header after it. Splitting the
section is simple enough to do here, skipping such lines with a warning instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.mime.charsets import decode_text, scrub_text

__all__ = [
    "MAX_FIELDS",
    "MAX_HEADER_BYTES",
    "RawField",
    "ascii_field_texts",
    "decode_field_bytes",
    "field_pairs",
    "header_section",
    "split_fields",
]

MAX_HEADER_BYTES = 1024 * 1024
MAX_FIELDS = 5000
# RFC 5322 §3.6.8: a field name is printable US-ASCII except ":".
_FIELD_NAME = re.compile(rb"[!-9;-~]+")
# One whole line that is a field: its name, optional whitespace, the colon, and the
# value without the spaces and tabs around it.
_FIELD_LINE_PATTERN = r"^([!-9;-~]+)[ \t]*:[ \t]*((?:.*[^ \t\n])?)[ \t]*$"
_FIELD_LINE = re.compile(_FIELD_LINE_PATTERN.encode("ascii"), re.MULTILINE)
_FIELD_LINE_TEXT = re.compile(_FIELD_LINE_PATTERN, re.MULTILINE)
# RFC 5322 §2.2.3: unfolding removes a line break that a space or tab follows.
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
# A line that starts no field (no colon) and is folded: the careful reader skips it with
# its continuations, while unfolding could glue a colon from them onto it ("a" and " :"
# make "a :", which reads as a field). That takes a space or tab before a colon.
_FOLDED_NON_FIELD = re.compile(rb"^[^ \t\n:][^:\n]*\n[ \t]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RawField:
    """One header field: its name as written and its unfolded, undecoded value."""

    name: str
    value: bytes


def header_section(raw: bytes) -> tuple[bytes, int]:
    """The header section of a message and the offset where its body starts.

    RFC 5322 §2.1: the header section ends at the first empty line. Without one the
    whole input is header (a ``BODY[HEADER]`` fetch of a message with no body).
    """
    if raw.startswith((b"\r\n", b"\n")):
        return b"", 2 if raw.startswith(b"\r\n") else 1
    # The first "\n\n" or "\n\r\n", found with bytes.find (far cheaper than a regular
    # expression that tries every line break); a "\r" just before it belongs to it.
    bare, crlf = raw.find(b"\n\n"), raw.find(b"\n\r\n")
    if bare < 0 and crlf < 0:
        return raw, len(raw)
    if crlf < 0 or 0 <= bare < crlf:
        newline, end = bare, bare + 2
    else:
        newline, end = crlf, crlf + 3
    start = newline - 1 if newline > 0 and raw[newline - 1] == 0x0D else newline
    return raw[:start], end


def _unfolded(section: bytes) -> bytes | None:
    """The section unfolded, with LF line ends, when every line of it is a field or a
    continuation and ends in LF or CRLF; None for any other shape (or an empty section).

    That is the shape of nearly every real header section. For it, matching all lines
    with one expression gives what the line-by-line reader in :func:`split_fields`
    gives, at a fraction of its cost; any other shape goes to that reader.
    """
    if not section or section[:1] in (b" ", b"\t") or section.startswith(b"From "):
        return None
    if len(section) > MAX_HEADER_BYTES:
        return None
    if b"\r" in section:
        if section.count(b"\r") != section.count(b"\r\n"):
            return None  # a bare CR stays in a value; the careful reader keeps it
        section = section.replace(b"\r\n", b"\n")
    if b"\n " in section or b"\n\t" in section:
        if (b" :" in section or b"\t:" in section) and _FOLDED_NON_FIELD.search(section):
            return None
        section = _FOLD.sub(b"", section)
    return section


def _line_count(section: bytes) -> int:
    """Lines in an unfolded section; a line break at its very end starts no line."""
    breaks = section.count(b"\n")
    return breaks if section.endswith(b"\n") else breaks + 1


def field_pairs(raw: bytes) -> tuple[list[tuple[str, bytes]], tuple[str, ...]]:
    """What :func:`split_fields` returns, as (name, value) pairs: the cheaper form."""
    section = _unfolded(header_section(raw)[0])
    if section is not None:
        found = _FIELD_LINE.findall(section)
        if len(found) == _line_count(section) <= MAX_FIELDS:
            return [(name.decode("ascii"), value) for name, value in found], ()
    fields, warnings = split_fields(raw)
    return [(field.name, field.value) for field in fields], warnings


def ascii_field_texts(raw: bytes) -> tuple[str, list[tuple[str, str]]] | None:
    """The unfolded section and its (name, value text) pairs, when the section is plain
    (see :func:`field_pairs`), all ASCII and without NUL; None otherwise.

    The values are what :func:`decode_field_bytes` gives for each field, found without
    decoding them one by one.
    """
    section = _unfolded(header_section(raw)[0])
    if section is None or not section.isascii() or b"\x00" in section:
        return None
    text = section.decode("ascii")
    found: list[tuple[str, str]] = _FIELD_LINE_TEXT.findall(text)
    if len(found) != _line_count(section) or len(found) > MAX_FIELDS:
        return None
    return text, found


def split_fields(raw: bytes) -> tuple[tuple[RawField, ...], tuple[str, ...]]:
    """Split a header section into fields; returns (fields, warnings).

    Unfolding follows RFC 5322 §2.2.3: line breaks are removed, the whitespace that
    followed them stays. Leading and trailing whitespace of a value is dropped.
    """
    section, _ = header_section(raw)
    warnings: list[str] = []
    if len(section) > MAX_HEADER_BYTES:
        warnings.append(f"header section over {MAX_HEADER_BYTES} bytes; the rest ignored")
        section = section[: section.rfind(b"\n", 0, MAX_HEADER_BYTES) + 1]
    fields: list[RawField] = []
    name: str | None = None
    chunks: list[bytes] = []
    skipped = 0

    def finish() -> None:
        if name is not None:
            fields.append(RawField(name, b"".join(chunks).strip(b" \t")))

    for number, terminated in enumerate(section.split(b"\n")):
        line = terminated.removesuffix(b"\r")
        if line[:1] in (b" ", b"\t"):
            if name is None:
                skipped += 1
            else:
                chunks.append(line)
            continue
        finish()
        name, chunks = None, []
        if number == 0 and line.startswith(b"From "):
            continue  # an mbox separator line, not a field (RFC 4155)
        colon = line.find(b":")
        field_name = line[:colon].rstrip(b" \t") if colon > 0 else b""
        if not _FIELD_NAME.fullmatch(field_name):
            if line.strip():
                skipped += 1
            continue
        if len(fields) >= MAX_FIELDS:
            warnings.append(f"more than {MAX_FIELDS} header fields; the rest ignored")
            break
        name = field_name.decode("ascii")
        chunks = [line[colon + 1 :]]
    else:
        finish()
    if skipped:
        warnings.append(f"{skipped} header line(s) that are not fields skipped")
    return tuple(fields), tuple(warnings)


def decode_field_bytes(value: bytes, hint: str | None) -> tuple[str, str | None]:
    """Text of a raw field value; returns (text, warning or None).

    RFC 6532 allows UTF-8 in header fields; other 8-bit bytes come from legacy mailers
    that wrote their own charset, which the Content-Type charset (``hint``) often names.
    """
    if value.isascii():
        return scrub_text(value.decode("ascii")), None
    try:
        return scrub_text(value.decode("utf-8")), None
    except UnicodeDecodeError:
        pass
    text, used, _ = decode_text(value, hint)
    return text, f"8-bit header text decoded as {used}"
