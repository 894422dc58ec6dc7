"""Requests that carry a new message: sends (one request, or a stream of chunks for large
attachments) and drafts; shared by `Tidings` and `AsyncTidings`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from tidings.v1 import common_pb2, drafts_pb2, send_pb2
from tidings_client.models import EmailAddress
from tidings_client.outgoing import (
    Addresses,
    MessageFields,
    OutgoingAttachment,
    content_size,
    header_pairs,
    parse_address,
    parse_addresses,
    read_content,
    read_content_chunks,
)

__all__ = [
    "CHUNK_BYTES",
    "INLINE_SEND_LIMIT",
    "create_draft_request",
    "outgoing_message",
    "send_chunks",
    "send_draft_request",
    "send_payload",
    "update_draft_request",
]

# SendMessage carries attachments inside the request, bounded by the daemon's receive
# limit (32 MB by default, send.proto); above this total, SendMessageStream, leaving
# room for the rest of the request.
INLINE_SEND_LIMIT: Final = 24 * 1024 * 1024
CHUNK_BYTES: Final = 1024 * 1024

SendPayload = send_pb2.SendMessageRequest | Iterator[send_pb2.SendMessageChunk]


def _address(value: EmailAddress) -> common_pb2.EmailAddress:
    return common_pb2.EmailAddress(email=value.email, name=value.name)


def _addresses(value: Addresses, field: str) -> list[common_pb2.EmailAddress]:
    return [_address(a) for a in parse_addresses(value, field)]


def _attachment(attachment: OutgoingAttachment, *,
                with_content: bool) -> send_pb2.OutgoingAttachment:
    return send_pb2.OutgoingAttachment(
        filename=attachment.filename, content_type=attachment.content_type or "",
        content=read_content(attachment.content) if with_content else b"",
        content_id=attachment.content_id or "", is_inline=attachment.is_inline)


def outgoing_message(fields: MessageFields, *,
                     with_content: bool = True) -> send_pb2.OutgoingMessage:
    """The OutgoingMessage for ``fields``; attachment bytes left out when
    ``with_content`` is false (they follow in SendMessageStream's chunks).
    ValueError for a string that holds no email address."""
    message = send_pb2.OutgoingMessage(
        to=_addresses(fields.get("to", ()), "to"), cc=_addresses(fields.get("cc", ()), "cc"),
        bcc=_addresses(fields.get("bcc", ()), "bcc"),
        reply_to=_addresses(fields.get("reply_to", ()), "reply_to"),
        subject=fields.get("subject", ""), body=fields.get("body", ""),
        is_plaintext=fields.get("is_plaintext", False),
        reply_to_message_id=fields.get("reply_to_message_id", ""),
        custom_headers=[common_pb2.Header(name=name, value=value)
                        for name, value in header_pairs(fields.get("custom_headers", ()))],
        attachments=[_attachment(a, with_content=with_content)
                     for a in fields.get("attachments", ())])
    sender = fields.get("from_")
    if sender is not None:
        message.from_.CopyFrom(_address(parse_address(sender, "from_")))
    return message


def _streams(attachments: Sequence[OutgoingAttachment], inline_limit: int) -> bool:
    """Whether the attachments go through SendMessageStream: above ``inline_limit``
    bytes in all, or of a size unknown before reading (a pipe)."""
    total = 0
    for attachment in attachments:
        size = content_size(attachment.content)
        if size is None:
            return True
        total += size
    return total > inline_limit


def send_chunks(request: send_pb2.SendMessageRequest,
                attachments: Sequence[OutgoingAttachment],
                chunk_bytes: int = CHUNK_BYTES) -> Iterator[send_pb2.SendMessageChunk]:
    """SendMessageStream's chunks: the request (without attachment bytes) first, then
    each attachment's bytes in order, at most ``chunk_bytes`` at a time, read from
    files only as the stream asks for them."""
    yield send_pb2.SendMessageChunk(request=request)
    for index, attachment in enumerate(attachments):
        for data in read_content_chunks(attachment.content, chunk_bytes):
            yield send_pb2.SendMessageChunk(attachment_data=send_pb2.AttachmentData(
                attachment_index=index, data=data))


def send_payload(grant_id: str, fields: MessageFields, idempotency_key: str | None, *,
                 inline_limit: int = INLINE_SEND_LIMIT,
                 chunk_bytes: int = CHUNK_BYTES) -> SendPayload:
    """A SendMessageRequest when the attachments fit in one, else the chunks of
    SendMessageStream."""
    attachments = fields.get("attachments", ())
    streamed = _streams(attachments, inline_limit)
    request = send_pb2.SendMessageRequest(
        grant_id=grant_id, message=outgoing_message(fields, with_content=not streamed),
        idempotency_key=idempotency_key or "")
    if not streamed:
        return request
    return send_chunks(request, attachments, chunk_bytes)


def create_draft_request(grant_id: str, fields: MessageFields) -> drafts_pb2.CreateDraftRequest:
    return drafts_pb2.CreateDraftRequest(grant_id=grant_id, draft=outgoing_message(fields))


def update_draft_request(grant_id: str, draft_id: str,
                         fields: MessageFields) -> drafts_pb2.UpdateDraftRequest:
    return drafts_pb2.UpdateDraftRequest(grant_id=grant_id, id=draft_id,
                                         draft=outgoing_message(fields))


def send_draft_request(grant_id: str, draft_id: str,
                       idempotency_key: str | None) -> drafts_pb2.SendDraftRequest:
    return drafts_pb2.SendDraftRequest(grant_id=grant_id, id=draft_id,
                                       idempotency_key=idempotency_key or "")
