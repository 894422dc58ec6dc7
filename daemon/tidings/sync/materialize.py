"""FETCH results → domain messages.

A sync fetches in two passes: first the head of each message (flags, dates, size,
BODYSTRUCTURE and the header section), then, only for messages we do not already hold,
the text/plain and text/html parts. Attachment bytes are never fetched during sync;
their metadata comes from BODYSTRUCTURE (RFC 9051 §7.5.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tidings import mime
from tidings.domain import Attachment, EmailAddress, Location, Message, new_id
from tidings.imap import BodyPart, BodyStructure, Fetch

__all__ = [
    "HEAD_ITEMS",
    "MAX_TEXT_BYTES",
    "Head",
    "build_message",
    "lasting_flags",
    "read_head",
    "text_fetch_items",
]

HEAD_ITEMS = ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODYSTRUCTURE",
              "BODY.PEEK[HEADER]")
# A text part larger than this is cut (and a warning recorded): a body is for reading and
# searching; the full bytes stay on the server and come back with the raw MIME.
MAX_TEXT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Head:
    """What the first pass learns about one message."""

    uid: int
    flags: tuple[str, ...]
    date: int
    size: int
    summary: mime.HeaderSummary
    message_id: str
    synthetic_id: bool
    content_hash: str
    text_part: BodyPart | None
    html_part: BodyPart | None
    attachments: tuple[BodyPart, ...]
    warnings: tuple[str, ...]

    @property
    def text_parts(self) -> tuple[BodyPart, ...]:
        return tuple(p for p in (self.text_part, self.html_part) if p is not None)


def lasting_flags(flags: Iterable[str]) -> tuple[str, ...]:
    """The flags worth storing: without \\Recent, which is per session (RFC 3501 §2.3.2,
    gone in RFC 9051) and would make every new session look like a flag change."""
    return tuple(flag for flag in flags if flag.lower() != "\\recent")


def _is_attachment(part: BodyPart) -> bool:
    disposition = (part.disposition or "").lower()
    named = "filename" in part.disposition_params or "name" in part.params
    return disposition == "attachment" or named or part.type != "text" or part.subtype not in (
        "plain", "html")


def _split_parts(structure: BodyStructure | None
                 ) -> tuple[BodyPart | None, BodyPart | None, tuple[BodyPart, ...]]:
    """The first readable text/plain and text/html leaves, and every other leaf."""
    if structure is None:
        return None, None, ()
    text: BodyPart | None = None
    html: BodyPart | None = None
    others: list[BodyPart] = []
    for part in structure.walk():
        if not _is_attachment(part):
            if part.subtype == "plain" and text is None:
                text = part
                continue
            if part.subtype == "html" and html is None:
                html = part
                continue
        others.append(part)
    return text, html, tuple(others)


def _timestamp(value: datetime | None) -> int:
    return int((value or datetime.now(UTC)).timestamp())


def read_head(fetch: Fetch, *, strict_message_id: bool) -> Head | None:
    """Turn a first-pass FETCH into a :class:`Head`; None when the message must be
    skipped (strict Message-ID mode and no usable Message-ID, or no UID)."""
    if fetch.uid is None:
        return None
    raw_header = fetch.sections.get("BODY[HEADER]") or b""
    summary = mime.parse_headers(raw_header)
    size = fetch.size or 0
    warnings = list(summary.warnings)
    if summary.message_id:
        message_id, synthetic = summary.message_id, False
    elif strict_message_id:
        return None
    else:
        message_id, synthetic = mime.synthesize_message_id_of(summary), True
    text, html, others = _split_parts(fetch.bodystructure)
    if fetch.bodystructure is None:
        warnings.append("server sent no BODYSTRUCTURE; body not indexed")
    return Head(
        uid=fetch.uid,
        flags=lasting_flags(fetch.flags or ()),
        date=_timestamp(fetch.internaldate),
        size=size,
        summary=summary,
        message_id=message_id,
        synthetic_id=synthetic,
        content_hash=mime.content_fingerprint_of(summary, size),
        text_part=text,
        html_part=html,
        attachments=others,
        warnings=tuple(warnings),
    )


def text_fetch_items(parts: Sequence[BodyPart]) -> tuple[str, ...]:
    """FETCH items for the text parts, each capped at MAX_TEXT_BYTES (RFC 9051 §6.4.5
    partial fetch ``<0.n>``)."""
    return tuple(f"BODY.PEEK[{part.part}]<0.{MAX_TEXT_BYTES}>" for part in parts)


def _section(sections: Mapping[str, bytes | None], part: BodyPart) -> bytes | None:
    return sections.get(f"BODY[{part.part}]<0>", sections.get(f"BODY[{part.part}]"))


def _decode(part: BodyPart | None, sections: Mapping[str, bytes | None],
            warnings: list[str]) -> str | None:
    if part is None:
        return None
    data = _section(sections, part)
    if data is None:
        warnings.append(f"part {part.part} could not be fetched")
        return None
    if len(data) >= MAX_TEXT_BYTES:
        warnings.append(f"part {part.part} is larger than {MAX_TEXT_BYTES} bytes; cut")
    decoded = mime.decode_part(data, part.encoding, part.params.get("charset"))
    warnings.extend(decoded.warnings)
    return decoded.text


def _addresses(values: tuple[mime.EmailAddress, ...]) -> tuple[EmailAddress, ...]:
    if not values:  # most messages have no Cc, Bcc or Reply-To
        return ()
    return tuple([EmailAddress(a.name or None, a.email) for a in values])


def _attachment(message_id: str, part: BodyPart) -> Attachment:
    filename = part.disposition_params.get("filename") or part.params.get("name")
    if filename is None and part.mime_type == "message/rfc822" and part.envelope:
        filename = f"{part.envelope.subject or 'message'}.eml"
    disposition = part.disposition.lower() if part.disposition else None
    return Attachment(
        id=f"{message_id}.{part.part}",
        message_id=message_id,
        part=part.part,
        filename=filename,
        content_type=part.mime_type,
        size=part.size,
        content_id=part.id.strip("<>") if part.id else None,
        disposition=disposition,
        is_inline=disposition == "inline" or (disposition is None and part.id is not None),
        encoding=part.encoding.lower() if part.encoding else None,
    )


def build_message(head: Head, *, grant_id: str, folder_id: str,
                  sections: Mapping[str, bytes | None]) -> Message:
    """A new message from its head and its fetched text parts. ``thread_id`` is left
    empty: threading is decided inside the write that stores it."""
    warnings = list(head.warnings)
    text = _decode(head.text_part, sections, warnings)
    html = _decode(head.html_part, sections, warnings)
    # A text-only message keeps html_body None: the API renders HTML from the text when
    # asked, so the sync does not pay for it on every message.
    if text is None and html is not None:
        text = mime.html_to_text(html)
    message_id = new_id()
    summary = head.summary
    return Message(
        id=message_id,
        grant_id=grant_id,
        thread_id="",
        message_id_header=head.message_id,
        synthetic_id=head.synthetic_id,
        content_hash=head.content_hash,
        subject=summary.subject,
        from_=_addresses(summary.from_),
        to=_addresses(summary.to),
        cc=_addresses(summary.cc),
        bcc=_addresses(summary.bcc),
        reply_to=_addresses(summary.reply_to),
        date=head.date,
        sent_date=int(summary.date.timestamp()) if summary.date else None,
        flags=head.flags,
        snippet=mime.make_snippet(text, html),
        text_body=text,
        html_body=html,
        headers=summary.headers,
        attachments=tuple(_attachment(message_id, p) for p in head.attachments),
        size=head.size,
        in_reply_to=summary.in_reply_to,
        references=summary.references,
        warnings=tuple(dict.fromkeys(warnings)),
        locations=(Location(folder_id=folder_id, uid=head.uid),),
    )
