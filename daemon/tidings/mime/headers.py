"""A message's header section → :class:`HeaderSummary`, never raising."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from tidings.mime.addresses import EmailAddress, parse_address_list
from tidings.mime.dates import parse_date
from tidings.mime.encoded_words import decode_encoded_words
from tidings.mime.fields import ascii_field_texts, decode_field_bytes, field_pairs
from tidings.mime.msgids import parse_message_ids
from tidings.mime.params import parse_parameterized, render_parameterized
from tidings.mime.spaces import RunCollapser

__all__ = ["HeaderSummary", "decode_field_value", "parse_headers"]

# A decoded value longer than this is cut in ``headers`` (the parsed fields use it all).
MAX_VALUE_CHARS = 64 * 1024
# Threading needs the root and the last ancestors; the middle of a huge chain is noise.
MAX_REFERENCES = 256

_PARAMETERIZED_FIELDS = frozenset({"content-type", "content-disposition"})
_ID_FIELDS = frozenset(
    {"message-id", "in-reply-to", "references", "content-id", "resent-message-id"}
)
_CONTROLS_AND_SPACE = RunCollapser.of(r"[\s\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class HeaderSummary:
    """What the rest of Tidings needs from a header section, decoded."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_: tuple[EmailAddress, ...]
    sender: tuple[EmailAddress, ...]
    reply_to: tuple[EmailAddress, ...]
    to: tuple[EmailAddress, ...]
    cc: tuple[EmailAddress, ...]
    bcc: tuple[EmailAddress, ...]
    date: datetime | None
    headers: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every decoded value of the field ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)


def decode_field_value(name: str, text: str) -> tuple[str, tuple[str, ...]]:
    """The display form of a field value: encoded-words and RFC 2231 parameters decoded."""
    lowered = name.lower()
    if lowered in _PARAMETERIZED_FIELDS:
        return render_parameterized(text)
    if lowered in _ID_FIELDS:
        return text, ()
    return decode_encoded_words(text)


def _one_line(text: str) -> str:
    return _CONTROLS_AND_SPACE(text).strip()


def _needs_display_decoding(section: str) -> bool:
    """Whether some field of an ASCII section may show differently from its text: an
    encoded-word, an RFC 2231 parameter, or a value too long to show whole."""
    return "=?" in section or "*" in section or len(section) > MAX_VALUE_CHARS


def _charset_hint(fields: list[tuple[str, bytes]]) -> str | None:
    """The Content-Type charset, which legacy mailers also used for raw 8-bit headers."""
    for name, value in fields:
        if name.lower() == "content-type":
            text = value.decode("ascii", "replace")
            return parse_parameterized(text).get("charset") or None
    return None


# The same senders and recipients come back message after message; parsing an address
# list is pure (str in, tuples out), so a bounded cache saves the stdlib parser's work.
_cached_address_list = functools.lru_cache(maxsize=4096)(parse_address_list)


def _cap_references(ids: tuple[str, ...], warnings: list[str]) -> tuple[str, ...]:
    if len(ids) <= MAX_REFERENCES:
        return ids
    warnings.append(
        f"References has {len(ids)} ids; kept the first and the last {MAX_REFERENCES - 1}"
    )
    return (ids[0], *ids[-(MAX_REFERENCES - 1) :])


def _shown(name: str, text: str, warnings: list[str]) -> str:
    """The display form of one field's text for ``headers``."""
    shown = text
    # Without "=?" (RFC 2047 encoded-word) or "*" (RFC 2231 "*=", "*0") there is nothing
    # to decode, whatever the field: decode_field_value would return the text as is.
    if "=?" in text or "*" in text:
        shown, value_warnings = decode_field_value(name, text)
        warnings.extend(f"{name}: {w}" for w in value_warnings)
    if len(shown) > MAX_VALUE_CHARS:
        warnings.append(f"{name}: value over {MAX_VALUE_CHARS} characters cut")
        shown = shown[:MAX_VALUE_CHARS]
    return shown


def _decoded_fields(
    fields: list[tuple[str, bytes]], warnings: list[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Each field's text, and its display form for ``headers``; warnings in field order."""
    texts: list[tuple[str, str]] = []
    shown_fields: list[tuple[str, str]] = []
    # The hint matters only for 8-bit values, which most sections have none of.
    hint = _charset_hint(fields) if any(not v.isascii() for _, v in fields) else None
    for name, value in fields:
        if value.isascii() and b"\x00" not in value:
            text = value.decode("ascii")  # what decode_field_bytes gives, cheaper
        else:
            text, eight_bit = decode_field_bytes(value, hint)
            if eight_bit:
                warnings.append(f"{name}: {eight_bit}")
        texts.append((name, text))
        shown_fields.append((name, _shown(name, text, warnings)))
    return texts, shown_fields


class _Fields:
    """Field texts looked up by lower-cased name, and the warnings the lookups raise.

    Built with bulk operations, not a loop per field: the first value of each name, and
    counts only when some name repeats (Received does; most others do not).
    """

    def __init__(self, texts: list[tuple[str, str]], warnings: list[str]) -> None:
        self.warnings = warnings
        names, values = zip(*texts, strict=True) if texts else ((), ())
        self.lowered: tuple[str, ...] = tuple(map(str.lower, names))
        self.values: tuple[str, ...] = values
        self.firsts = dict(zip(reversed(self.lowered), reversed(values), strict=True))
        self.counts = Counter(self.lowered) if len(self.firsts) < len(names) else None

    def all(self, name: str) -> list[str]:
        if self.counts is not None and self.counts[name] > 1:
            return [v for k, v in zip(self.lowered, self.values, strict=True) if k == name]
        value = self.firsts.get(name)
        return [] if value is None else [value]

    def first(self, name: str) -> str | None:
        value = self.firsts.get(name)
        if value is not None and self.counts is not None and self.counts[name] > 1:
            self.warnings.append(f"{self.counts[name]} {name} fields; the first one used")
        return value

    def addresses(self, name: str, *, single: bool = False) -> tuple[EmailAddress, ...]:
        value = (self.first(name) or "") if single else ", ".join(self.all(name))
        if not value:
            return ()
        found, warnings = _cached_address_list(value)
        if warnings:
            self.warnings.extend(f"{name}: {w}" for w in warnings)
        return found

    def ids(self, name: str) -> tuple[str, ...]:
        return parse_message_ids(" ".join(self.all(name)))


def _message_id(collected: _Fields) -> str | None:
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


def _date(collected: _Fields) -> datetime | None:
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
    plain = ascii_field_texts(raw)
    warnings: list[str] = []
    if plain is not None:
        # No 8-bit text, so no decoding warnings come before those of the display forms.
        section, texts = plain
        shown_fields = texts
        if _needs_display_decoding(section):
            shown_fields = [(name, _shown(name, text, warnings)) for name, text in texts]
    else:
        fields, split_warnings = field_pairs(raw)
        warnings.extend(split_warnings)
        texts, shown_fields = _decoded_fields(fields, warnings)
    collected = _Fields(texts, warnings)
    subject_value = collected.first("subject")
    subject = ""
    if subject_value is not None:
        # Decoding warnings were recorded with the field in ``headers`` already.
        if "=?" in subject_value:
            subject_value = decode_encoded_words(subject_value)[0]
        subject = _one_line(subject_value)[:MAX_VALUE_CHARS]
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
        headers=tuple(shown_fields),
        warnings=tuple(dict.fromkeys(collected.warnings)),
    )
