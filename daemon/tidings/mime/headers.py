"""A message's header section → :class:`HeaderSummary`, never raising."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from tidings.mime.addresses import EmailAddress, parse_address_list
from tidings.mime.dates import parse_date
from tidings.mime.encoded_words import decode_encoded_words
from tidings.mime.fields import RawField, decode_field_bytes, split_fields
from tidings.mime.msgids import parse_message_ids
from tidings.mime.params import parse_parameterized, render_parameterized

__all__ = ["HeaderSummary", "decode_field_value", "parse_headers"]

# A decoded value longer than this is cut in ``headers`` (the parsed fields use it all).
MAX_VALUE_CHARS = 64 * 1024
# Threading needs the root and the last ancestors; the middle of a huge chain is noise.
MAX_REFERENCES = 256

_PARAMETERIZED_FIELDS = frozenset({"content-type", "content-disposition"})
_ID_FIELDS = frozenset(
    {"message-id", "in-reply-to", "references", "content-id", "resent-message-id"}
)
_CONTROLS_AND_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


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
    return _CONTROLS_AND_SPACE.sub(" ", text).strip()


def _charset_hint(fields: tuple[RawField, ...]) -> str | None:
    """The Content-Type charset, which legacy mailers also used for raw 8-bit headers."""
    for field in fields:
        if field.name.lower() == "content-type":
            text = field.value.decode("ascii", "replace")
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
        found, warnings = _cached_address_list(value)
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
