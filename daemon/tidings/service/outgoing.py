"""Outgoing mail checked and turned into bytes: shared by sending and drafts.

`prepare` checks what the caller wrote, fills in what the grant knows (the From address,
In-Reply-To and References of a reply, RFC 5322 §3.6.4), and composes two copies: the one
the recipients get (no Bcc) and the one kept in Sent or Drafts (with Bcc, RFC 5322 §3.6.3).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from tidings import mime
from tidings.domain import EmailAddress, Grant, Message
from tidings.domain.outgoing import OutgoingMessage
from tidings.mime.compose import Composition, OutgoingPart, compose, guess_content_type
from tidings.service.errors import InvalidField

__all__ = ["MAX_RECIPIENTS", "Prepared", "check_outgoing", "prepare"]

MAX_RECIPIENTS: Final = 100
MAX_SUBJECT: Final = 998  # RFC 5322 §2.1.1: a line is at most 998 characters
MAX_HEADER_VALUE: Final = 998
# RFC 5322 §3.6.8: a field name is printable ASCII without the colon. Only extension
# fields (X-...) and mailing-list fields (RFC 2369) may be set by callers; the rest are ours.
_CUSTOM_NAME: Final = re.compile(r"^(X-|List-)[!-9;-~]+$", re.IGNORECASE)
_EMAIL: Final = re.compile(r"^[^\s@<>,;\"]+@[^\s@<>,;\"]+$")
_REFERENCES_KEPT: Final = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    wire: bytes  # what the SMTP server gets
    kept: bytes  # what is saved (Sent, Drafts)
    sender: str
    recipients: tuple[str, ...]
    answers: str | None  # our id of the message this one replies to
    message_id_header: str
    subject: str
    date: datetime
    composition: Composition | None = None  # None for mail sent as stored (a draft)


def _check_addresses(field: str, addresses: Sequence[EmailAddress]) -> None:
    for index, address in enumerate(addresses):
        if len(address.email) > 320 or not _EMAIL.match(address.email):
            raise InvalidField(f"{field}[{index}].email",
                               f"{address.email[:60]!r} is not an email address")
        if address.name and any(ch in address.name for ch in "\r\n\x00"):
            raise InvalidField(f"{field}[{index}].name", "must not contain CR, LF or NUL")


def check_outgoing(message: OutgoingMessage, *, need_recipients: bool) -> None:
    for field in ("to", "cc", "bcc", "reply_to"):
        _check_addresses(field, getattr(message, field))
    if message.from_ is not None:
        _check_addresses("from", [message.from_])
    if need_recipients and not message.recipients:
        raise InvalidField("to", "at least one of to, cc or bcc is needed to send")
    if len(message.recipients) > MAX_RECIPIENTS:
        raise InvalidField("to", f"at most {MAX_RECIPIENTS} recipients in all")
    if len(message.subject) > MAX_SUBJECT or any(ch in message.subject for ch in "\r\n\x00"):
        raise InvalidField("subject", f"one line of at most {MAX_SUBJECT} characters")
    for index, (name, value) in enumerate(message.custom_headers):
        if not _CUSTOM_NAME.match(name):
            raise InvalidField(f"custom_headers[{index}].name",
                               "must start with X- or List- and be printable ASCII")
        if len(value) > MAX_HEADER_VALUE or any(ch in value for ch in "\r\n\x00"):
            raise InvalidField(f"custom_headers[{index}].value",
                               f"one line of at most {MAX_HEADER_VALUE} characters")
    for index, attachment in enumerate(message.attachments):
        if any(ch in attachment.filename for ch in "\r\n\x00/\\"):
            raise InvalidField(f"attachments[{index}].filename",
                               "must not contain CR, LF, NUL or a path separator")
        if attachment.content_type and not re.match(r"^[\w.+-]+/[\w.+-]+$",
                                                    attachment.content_type):
            raise InvalidField(f"attachments[{index}].content_type",
                               f"{attachment.content_type[:60]!r} is not a MIME type")


def _mime_addresses(addresses: Sequence[EmailAddress]) -> tuple[mime.EmailAddress, ...]:
    return tuple(mime.EmailAddress(a.name or "", a.email) for a in addresses)


def _reply_headers(original: Message | None) -> tuple[str | None, tuple[str, ...]]:
    if original is None or original.synthetic_id:
        return None, ()
    chain = (*original.references, original.message_id_header)
    return original.message_id_header, tuple(dict.fromkeys(chain))[-_REFERENCES_KEPT:]


def prepare(grant: Grant, message: OutgoingMessage, *, original: Message | None,
            message_id: str | None = None, now: datetime | None = None) -> Prepared:
    """Compose `message` for `grant`; `original` is the message it replies to and
    `message_id` keeps a Message-ID across edits of a draft."""
    sender = message.from_ or EmailAddress(grant.name or None, grant.email)
    domain = sender.email.rpartition("@")[2] or "tidings.invalid"
    in_reply_to, references = _reply_headers(original)
    composition = Composition(
        from_=_mime_addresses([sender]),
        to=_mime_addresses(message.to), cc=_mime_addresses(message.cc),
        bcc=_mime_addresses(message.bcc), reply_to=_mime_addresses(message.reply_to),
        subject=message.subject, body=message.body, is_plaintext=message.is_plaintext,
        attachments=tuple(
            OutgoingPart(filename=a.filename or "attachment",
                         content_type=a.content_type or guess_content_type(a.filename),
                         content=a.content, content_id=a.content_id or None,
                         inline=a.is_inline)
            for a in message.attachments),
        message_id=message_id or f"<{uuid.uuid4().hex}@{domain}>",
        date=now or datetime.now(UTC),
        in_reply_to=in_reply_to, references=references,
        extra_headers=message.custom_headers,
    )
    return Prepared(
        composition=composition,
        message_id_header=composition.message_id,
        subject=composition.subject,
        date=composition.date,
        wire=compose(composition, include_bcc=False),
        kept=compose(composition, include_bcc=True),
        sender=sender.email,
        recipients=tuple(dict.fromkeys(a.email for a in message.recipients)),
        answers=original.id if original is not None else None,
    )
