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
    "decode_field_bytes",
    "header_section",
    "split_fields",
]

MAX_HEADER_BYTES = 1024 * 1024
MAX_FIELDS = 5000
# RFC 5322 §3.6.8: a field name is printable US-ASCII except ":".
_FIELD_NAME = re.compile(rb"[!-9;-~]+")
_END_OF_HEADER = re.compile(rb"\r?\n\r?\n")


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
    match = _END_OF_HEADER.search(raw)
    if match is None:
        return raw, len(raw)
    return raw[: match.start()], match.end()


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
