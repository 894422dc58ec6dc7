"""The header parsing of Tidings as it was before its fast paths, kept as the oracle
that the fast paths are tested against: for every input, both give the same result.

A verbatim copy of ``header_section``, ``split_fields`` (fields.py), ``parse_date``
(dates.py), ``parse_message_ids`` (msgids.py) and ``parse_headers`` with its helpers
(headers.py). Functions that were not changed are imported from the package.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

from tidings.mime.addresses import EmailAddress, parse_address_list
from tidings.mime.encoded_words import decode_encoded_words
from tidings.mime.fields import MAX_FIELDS, MAX_HEADER_BYTES, RawField, decode_field_bytes
from tidings.mime.headers import (
    MAX_REFERENCES,
    MAX_VALUE_CHARS,
    HeaderSummary,
    decode_field_value,
)
from tidings.mime.msgids import MAX_ID_LENGTH
from tidings.mime.params import parse_parameterized

__all__ = ["header_section", "parse_date", "parse_headers", "parse_message_ids",
           "split_fields"]

# fields.py

_FIELD_NAME = re.compile(rb"[!-9;-~]+")
_END_OF_HEADER = re.compile(rb"\r?\n\r?\n")


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


# dates.py

_MAX_DATE_LENGTH = 256
_MAX_OFFSET = 24 * 3600 - 1


def parse_date(value: str) -> datetime | None:
    """Parse a Date value; None when it names no real moment.

    A missing zone or ``-0000`` (RFC 5322 §3.3: "no information about the local time
    zone") is read as UTC. Leap seconds become :59; zones beyond ±24h are dropped.
    """
    value = value.strip()
    if not value or len(value) > _MAX_DATE_LENGTH:
        return None
    try:
        parsed = parsedate_tz(value)
    except (ValueError, IndexError, TypeError, OverflowError):
        return None
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    offset = parsed[9] or 0
    zone = timezone(timedelta(seconds=offset)) if abs(offset) <= _MAX_OFFSET else UTC
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
    except (ValueError, OverflowError):
        return None


# msgids.py

_SIMPLE_LIST = re.compile(r"\s*(?:<[^<>\s()\"\\]+>[\s,]*)+")
_SIMPLE_ID = re.compile(r"<([^<>\s()\"\\]+)>")
_BARE_SEPARATORS = re.compile(r"[\s,;]+")
_BARE_TRIM = "\"'.,;:[]{}"
_WHITESPACE = re.compile(r"\s+")


def _usable(content: str) -> str | None:
    content = _WHITESPACE.sub("", content)
    if not content or len(content) + 2 > MAX_ID_LENGTH or not content.isprintable():
        return None
    return f"<{content}>"


def _scan(value: str) -> tuple[list[str], str]:
    """Bracketed ids, and the text outside brackets, comments and quoted strings."""
    bracketed: list[str] = []
    outside: list[str] = []
    depth = 0  # RFC 5322 §3.2.2: comments nest
    index = 0
    length = len(value)
    while index < length:
        char = value[index]
        if depth:
            if char == "\\":
                index += 1
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
        elif char == "(":
            depth = 1
        elif char == '"':
            end = index + 1
            while end < length and value[end] != '"':
                end += 2 if value[end] == "\\" else 1
            index = end
            outside.append(" ")
        elif char == "<":
            end = index + 1
            while end < length and value[end] != ">":
                if value[end] == "<":  # "<<a@b>>": the innermost bracket wins
                    index = end
                end += 1
            bracketed.append(value[index + 1 : end])
            index = end
        else:
            outside.append(char)
        index += 1
    return bracketed, "".join(outside)


def parse_message_ids(value: str) -> tuple[str, ...]:
    """Every message id in ``value``, normalized to ``<...>``, in order, without repeats."""
    if _SIMPLE_LIST.fullmatch(value):
        found = [f"<{m}>" for m in _SIMPLE_ID.findall(value) if len(m) + 2 <= MAX_ID_LENGTH]
        return tuple(dict.fromkeys(found))
    bracketed, outside = _scan(value)
    candidates = bracketed
    if not any(c.strip() for c in bracketed):
        candidates = [
            token.strip(_BARE_TRIM)
            for token in _BARE_SEPARATORS.split(outside)
            if "@" in token.strip(_BARE_TRIM)[1:-1]
        ]
    ids = (_usable(c) for c in candidates)
    return tuple(dict.fromkeys(i for i in ids if i is not None))


# headers.py

_CONTROLS_AND_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def _one_line(text: str) -> str:
    return _CONTROLS_AND_SPACE.sub(" ", text).strip()


def _charset_hint(fields: tuple[RawField, ...]) -> str | None:
    """The Content-Type charset, which legacy mailers also used for raw 8-bit headers."""
    for field in fields:
        if field.name.lower() == "content-type":
            text = field.value.decode("ascii", "replace")
            return parse_parameterized(text).get("charset") or None
    return None


def _cap_references(ids: tuple[str, ...], warnings: list[str]) -> tuple[str, ...]:
    if len(ids) <= MAX_REFERENCES:
        return ids
    warnings.append(
        f"References has {len(ids)} ids; kept the first and the last {MAX_REFERENCES - 1}"
    )
    return (ids[0], *ids[-(MAX_REFERENCES - 1) :])


class _Collector:
    """Decoded values grouped by lower-cased field name, with the warnings they raised."""

    def __init__(self, fields: tuple[RawField, ...]) -> None:
        self.warnings: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.headers: list[tuple[str, str]] = []
        # The hint matters only for 8-bit values, which most sections have none of.
        hint = _charset_hint(fields) if any(not f.value.isascii() for f in fields) else None
        for field in fields:
            text, eight_bit = decode_field_bytes(field.value, hint)
            if eight_bit:
                self.warnings.append(f"{field.name}: {eight_bit}")
            self.text.setdefault(field.name.lower(), []).append(text)
            shown, value_warnings = decode_field_value(field.name, text)
            self.warnings.extend(f"{field.name}: {w}" for w in value_warnings)
            if len(shown) > MAX_VALUE_CHARS:
                self.warnings.append(f"{field.name}: value over {MAX_VALUE_CHARS} characters cut")
                shown = shown[:MAX_VALUE_CHARS]
            self.headers.append((field.name, shown))

    def first(self, name: str) -> str | None:
        values = self.text.get(name, [])
        if len(values) > 1:
            self.warnings.append(f"{len(values)} {name} fields; the first one used")
        return values[0] if values else None

    def joined(self, name: str) -> str:
        return ", ".join(self.text.get(name, []))

    def addresses(self, name: str, *, single: bool = False) -> tuple[EmailAddress, ...]:
        value = (self.first(name) or "") if single else self.joined(name)
        if not value:
            return ()
        found, warnings = parse_address_list(value)
        self.warnings.extend(f"{name}: {w}" for w in warnings)
        return found

    def ids(self, name: str) -> tuple[str, ...]:
        return parse_message_ids(" ".join(self.text.get(name, [])))


def _message_id(collected: _Collector) -> str | None:
    value = collected.first("message-id")
    if value is None:
        collected.warnings.append("no Message-ID")
        return None
    ids = parse_message_ids(value)
    if not ids:
        collected.warnings.append(f"unusable Message-ID {value[:80]!r}")
        return None
    if len(ids) > 1:
        collected.warnings.append("Message-ID holds several ids; the first one used")
    return ids[0]


def _date(collected: _Collector) -> datetime | None:
    value = collected.first("date")
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        collected.warnings.append(f"unparseable Date {value[:80]!r}")
    return parsed


def parse_headers(raw: bytes) -> HeaderSummary:
    """Parse a header section (``BODY.PEEK[HEADER]``; a whole message works too).

    Never raises on bad input: what cannot be read is left out and ``warnings`` says so.
    """
    fields, split_warnings = split_fields(raw)
    collected = _Collector(fields)
    collected.warnings[:0] = split_warnings
    subject_value = collected.first("subject")
    subject = ""
    if subject_value is not None:
        # Decoding warnings were recorded with the field in ``headers`` already.
        subject = _one_line(decode_encoded_words(subject_value)[0])[:MAX_VALUE_CHARS]
    message_id = _message_id(collected)
    in_reply_to = collected.ids("in-reply-to")[:MAX_REFERENCES]
    references = _cap_references(collected.ids("references"), collected.warnings)
    from_ = collected.addresses("from", single=True)
    sender = collected.addresses("sender", single=True)
    reply_to = collected.addresses("reply-to")
    to = collected.addresses("to")
    cc = collected.addresses("cc")
    bcc = collected.addresses("bcc")
    date = _date(collected)
    return HeaderSummary(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        from_=from_,
        sender=sender,
        reply_to=reply_to,
        to=to,
        cc=cc,
        bcc=bcc,
        date=date,
        headers=tuple(collected.headers),
        warnings=tuple(dict.fromkeys(collected.warnings)),
    )
