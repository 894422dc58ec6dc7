"""Outgoing mail → RFC 5322 bytes, for sending and for drafts.

Built on the standard library's `email` package with the SMTP policy (CRLF line ends,
lines folded at 78 characters, RFC 2047 encoded words for non-ASCII header text). The
body is HTML with a plain-text alternative (RFC 2046 §5.1.4), or plain text only; inline
parts referenced by `cid:` go in a multipart/related (RFC 2387), other attachments in a
multipart/mixed.
"""

from __future__ import annotations

import email.policy
import email.utils
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Final

from tidings.mime.addresses import EmailAddress
from tidings.mime.htmltext import html_to_text

__all__ = [
    "Composition",
    "OutgoingPart",
    "compose",
    "guess_content_type",
    "strip_header_fields",
]

_FIELD_NAME: Final = re.compile(rb"^([!-9;-~]+)[ \t]*:")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingPart:
    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Composition:
    from_: tuple[EmailAddress, ...]
    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    bcc: tuple[EmailAddress, ...] = ()
    reply_to: tuple[EmailAddress, ...] = ()
    subject: str = ""
    body: str = ""
    is_plaintext: bool = False
    attachments: tuple[OutgoingPart, ...] = ()
    message_id: str  # with or without angle brackets
    date: datetime
    in_reply_to: str | None = None  # a Message-ID, with or without angle brackets
    references: tuple[str, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = ()


def guess_content_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def _address(address: EmailAddress) -> Address:
    local, _, domain = address.email.rpartition("@")
    return Address(display_name=address.name, username=local, domain=domain)


def _needs_smtputf8(composition: Composition) -> bool:
    everyone = (*composition.from_, *composition.to, *composition.cc, *composition.bcc,
                *composition.reply_to)
    return any(not a.email.isascii() for a in everyone)


def _set_addresses(msg: EmailMessage, name: str, addresses: Sequence[EmailAddress]) -> None:
    if addresses:
        msg[name] = [_address(a) for a in addresses]


def _bracketed(value: str) -> str:
    """A msg-id with its angle brackets (RFC 5322 §3.6.4), given with or without them."""
    return f"<{value.strip().strip('<>')}>"


def _ids(values: Sequence[str]) -> str:
    return " ".join(_bracketed(value) for value in values)


def _body(msg: EmailMessage, composition: Composition) -> None:
    if composition.is_plaintext:
        msg.set_content(composition.body)
        return
    msg.set_content(html_to_text(composition.body))
    msg.add_alternative(composition.body, subtype="html")


def _attach(msg: EmailMessage, parts: Sequence[OutgoingPart]) -> None:
    inline = [p for p in parts if p.inline and p.content_id]
    html = next((p for p in msg.walk() if p.get_content_type() == "text/html"), None)
    for part in parts:
        maintype, _, subtype = (part.content_type or guess_content_type(part.filename)
                                ).partition("/")
        target: EmailMessage = msg
        if part in inline and isinstance(html, EmailMessage):
            # The HTML refers to it by cid: (RFC 2392), so it travels beside the HTML.
            html.add_related(part.content, maintype=maintype, subtype=subtype or "octet-stream",
                             cid=f"<{part.content_id}>", filename=part.filename,
                             disposition="inline")
            continue
        target.add_attachment(part.content, maintype=maintype,
                              subtype=subtype or "octet-stream", filename=part.filename,
                              disposition="inline" if part.inline else "attachment",
                              cid=f"<{part.content_id}>" if part.content_id else None)


def compose(composition: Composition, *, include_bcc: bool) -> bytes:
    """The message as RFC 5322 bytes. Bcc is written only with `include_bcc` (the copy
    kept in Sent or Drafts); the copy sent to the recipients never shows it
    (RFC 5322 §3.6.3)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    _set_addresses(msg, "From", composition.from_)
    _set_addresses(msg, "To", composition.to)
    _set_addresses(msg, "Cc", composition.cc)
    if include_bcc:
        _set_addresses(msg, "Bcc", composition.bcc)
    _set_addresses(msg, "Reply-To", composition.reply_to)
    msg["Subject"] = composition.subject
    msg["Date"] = email.utils.format_datetime(composition.date)
    msg["Message-ID"] = _bracketed(composition.message_id)
    if composition.in_reply_to:
        msg["In-Reply-To"] = _bracketed(composition.in_reply_to)
    if composition.references:
        msg["References"] = _ids(composition.references)
    for name, value in composition.extra_headers:
        msg[name] = value
    _body(msg, composition)
    if composition.attachments:
        _attach(msg, composition.attachments)
    policy = email.policy.SMTPUTF8 if _needs_smtputf8(composition) else email.policy.SMTP
    return msg.as_bytes(policy=policy)


def strip_header_fields(raw: bytes, names: Sequence[str]) -> bytes:
    """`raw` without the header fields called `names` (case-insensitive), each with its
    folded continuation lines (RFC 5322 §2.2.3); the body is left untouched."""
    wanted = {name.lower().encode() for name in names}
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = len(raw)
    head, rest = raw[:end + 2], raw[end + 2:]
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        match = _FIELD_NAME.match(line)
        dropping = bool(match and match.group(1).lower() in wanted)
        if not dropping:
            kept.append(line)
    return b"".join(kept) + rest
