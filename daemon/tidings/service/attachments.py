"""Attachments: metadata from the store, content streamed from the IMAP server.

Attachment bytes are never stored (DESIGN.md, Storage). A download fetches the MIME part
with one ``UID FETCH uid (BODY.PEEK[part])`` (RFC 9051 §6.4.5) on a short-lived
connection and undoes its Content-Transfer-Encoding piece by piece while the server is
still sending: the literal is streamed, never held whole, so memory holds a piece or
two whatever the attachment's size, and the server sends without pausing between
slices. A client that stops reading stops the reads from the server (the stream's
credit), so no more than that piles up in between.

BINARY.PEEK (RFC 3516) would let the server decode, but Dovecot decodes a part afresh in
every new session, and every download is a new session: measured on loopback it ran at
a quarter of the speed of fetching the encoded part and decoding it here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Final

from tidings.domain import Attachment, Message
from tidings.imap.section_stream import SectionMissing, stream_section
from tidings.log import get_logger
from tidings.mime.transfer_decode import decoder_for
from tidings.service.errors import NotFound, PreconditionFailed
from tidings.service.mail_read import MailReader, examine_for_uids, message_locations

__all__ = ["CHUNK", "PIECE", "AttachmentReader"]

log = get_logger("tidings.service")

# The most handed on at once: below gRPC's default 4 MB message limit for receivers.
CHUNK: Final = 1024 * 1024
# Encoded octets taken from the server per step: decoded, they fit in one chunk.
PIECE: Final = CHUNK
# IMAP section numbers: "1", "2.1.3" (RFC 9051 §6.4.5).
_PART: Final = re.compile(r"[1-9][0-9]*(\.[1-9][0-9]*)*\Z")


class _Rechunker:
    """Gathers decoded bytes into pieces of exactly `CHUNK` octets (the last one shorter):
    base64 turns each fetched piece into three quarters of it, and full messages cost
    the stream less than more, smaller ones."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        pending = self._pending
        if not pending and len(data) == CHUNK:
            return [data]
        pending += data
        if len(pending) < CHUNK:
            return []
        full = len(pending) - len(pending) % CHUNK
        out = [bytes(pending[start:start + CHUNK]) for start in range(0, full, CHUNK)]
        del pending[:full]
        return out

    def finish(self) -> list[bytes]:
        rest, self._pending = bytes(self._pending), bytearray()
        return [rest] if rest else []


class AttachmentReader:
    """AttachmentService's reads, through the `MailReader`'s ownership checks."""

    def __init__(self, mail: MailReader, *, piece: int = PIECE) -> None:
        if piece < 1:
            raise ValueError("piece must be at least 1")
        self._mail = mail
        self._piece = piece

    async def get(self, grant_id: str, message_id: str, attachment_id: str
                  ) -> tuple[Message, Attachment]:
        message = await self._mail.get_message(grant_id, message_id)
        for attachment in message.attachments:
            if attachment.id == attachment_id:
                return message, attachment
        raise NotFound("attachment", attachment_id)

    async def download(self, grant_id: str, message_id: str, attachment_id: str
                       ) -> AsyncIterator[bytes]:
        """The decoded content, in order, in pieces of at most `CHUNK` octets, from the
        first copy of the message that the server still has.

        The connection is logged out when the iterator ends, and dropped when it is
        closed early (the rest of the part is not worth reading)."""
        message, attachment = await self.get(grant_id, message_id, attachment_id)
        if not _PART.match(attachment.part):
            raise PreconditionFailed(
                f"attachment {attachment_id!r} has no usable part number")
        link = await self._mail.link(grant_id)
        async with link.connect("api:attachment") as client:
            for folder_id, uid in message_locations(message):
                folder = await self._mail.folder_of(message, folder_id)
                if folder is None or not await examine_for_uids(client, folder):
                    continue
                decoder = decoder_for(attachment.encoding)
                pieces = _Rechunker()
                fetched = 0
                try:
                    async with aclosing(stream_section(client, uid, attachment.part,
                                                       piece=self._piece)) as section:
                        async for data in section:
                            fetched += len(data)
                            for chunk in pieces.feed(decoder.feed(data)):
                                yield chunk
                except SectionMissing:
                    continue  # expunged from this folder meanwhile: try the next copy
                for chunk in (*pieces.feed(decoder.finish()), *pieces.finish()):
                    yield chunk
                log.debug("api.attachment_sent", grant=grant_id, message=message_id,
                          part=attachment.part, fetched=fetched)
                return
        raise PreconditionFailed(f"message {message.id!r} is no longer on the mail server; "
                                 "the next sync removes it")
