"""Protobuf ↔ domain for the mail a grant writes: OutgoingMessage in, Draft out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from tidings.api.convert import add_addresses, attachment_to_proto, email_address_from_proto
from tidings.api.errors import InvalidArgument
from tidings.domain import EmailAddress
from tidings.domain.outgoing import OutgoingAttachment, OutgoingMessage
from tidings.service.drafts import DraftView
from tidings.v1 import common_pb2, drafts_pb2, send_pb2

__all__ = ["MAX_ATTACHMENTS", "draft_to_proto", "outgoing_from_proto"]

MAX_ATTACHMENTS: Final = 100
MAX_BODY: Final = 16 * 1024 * 1024
MAX_CUSTOM_HEADERS: Final = 50


def _addresses(field: str, values: Sequence[common_pb2.EmailAddress]
               ) -> tuple[EmailAddress, ...]:
    addresses = []
    for index, value in enumerate(values):
        if not value.email:
            raise InvalidArgument(f"{field}[{index}].email", "is required")
        addresses.append(email_address_from_proto(value))
    return tuple(addresses)


def outgoing_from_proto(message: send_pb2.OutgoingMessage, *, field: str = "message"
                        ) -> OutgoingMessage:
    """The request's message; attachment content may still be empty (streamed sends
    fill it from the chunks that follow)."""
    if len(message.attachments) > MAX_ATTACHMENTS:
        raise InvalidArgument(f"{field}.attachments", f"at most {MAX_ATTACHMENTS}")
    if len(message.custom_headers) > MAX_CUSTOM_HEADERS:
        raise InvalidArgument(f"{field}.custom_headers", f"at most {MAX_CUSTOM_HEADERS}")
    if len(message.body) > MAX_BODY:
        raise InvalidArgument(f"{field}.body", f"at most {MAX_BODY} characters")
    sender = None
    if message.HasField("from_") and message.from_.email:
        sender = email_address_from_proto(message.from_)
    return OutgoingMessage(
        to=_addresses(f"{field}.to", message.to),
        cc=_addresses(f"{field}.cc", message.cc),
        bcc=_addresses(f"{field}.bcc", message.bcc),
        reply_to=_addresses(f"{field}.reply_to", message.reply_to),
        subject=message.subject,
        body=message.body,
        is_plaintext=message.is_plaintext,
        attachments=tuple(
            OutgoingAttachment(filename=a.filename, content_type=a.content_type,
                               content=a.content, content_id=a.content_id or None,
                               is_inline=a.is_inline)
            for a in message.attachments),
        reply_to_message_id=message.reply_to_message_id or None,
        custom_headers=tuple((h.name, h.value) for h in message.custom_headers),
        from_=sender,
    )


def _custom_headers(headers: Sequence[tuple[str, str]]) -> list[common_pb2.Header]:
    return [common_pb2.Header(name=name, value=value) for name, value in headers
            if name.lower().startswith(("x-", "list-"))]


def draft_to_proto(view: DraftView) -> drafts_pb2.Draft:
    message = view.message
    plaintext = message.html_body is None
    body = message.text_body or "" if plaintext else message.html_body or ""
    draft = drafts_pb2.Draft(
        id=message.id,
        grant_id=message.grant_id,
        thread_id=message.thread_id,
        subject=message.subject,
        date=message.date,
        body=body,
        is_plaintext=plaintext,
        snippet=message.snippet,
        attachments=[attachment_to_proto(a, message.grant_id) for a in message.attachments],
        reply_to_message_id=view.reply_to_message_id or "",
        custom_headers=_custom_headers(message.headers),
        folders=message.folder_ids,
        starred=message.starred,
    )
    add_addresses(draft, message)
    return draft
