"""Attachments: metadata from the store, content streamed from the IMAP server.

Attachment bytes are never stored (DESIGN.md, Storage). A download fetches the MIME part
in slices with partial ``BODY.PEEK[part]<offset.length>`` requests (RFC 9051 §6.4.5) on
a short-lived connection and undoes its Content-Transfer-Encoding slice by slice, so
memory holds one slice and a few carried bytes, whatever the attachment's size.

BINARY.PEEK (RFC 3516) would let the server decode, but Dovecot decodes a part afresh in
every new session, and every download is a new session: measured on loopback it ran at
a quarter of the speed of fetching the encoded part and decoding it here.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Final, Protocol

from tidings.domain import Attachment, Message
from tidings.imap import ImapClient
from tidings.log import get_logger
from tidings.service.errors import NotFound, PreconditionFailed
from tidings.service.mail_read import MailReader, examine_for_uids, message_locations

__all__ = [
    "CHUNK",
    "SLICE",
    "AttachmentReader",
    "Base64Stream",
    "IdentityStream",
    "QuotedPrintableStream",
    "StreamDecoder",
    "UuencodeStream",
    "decoder_for",
]

log = get_logger("tidings.service")

# Octets asked for per FETCH: large enough that round trips and the server's seek to
# the offset do not dominate, small enough that memory stays flat.
SLICE: Final = 8 * 1024 * 1024
# The most handed on at once: below gRPC's default 4 MB message limit for receivers.
CHUNK: Final = 1024 * 1024
# IMAP section numbers: "1", "2.1.3" (RFC 9051 §6.4.5).
_PART: Final = re.compile(r"[1-9][0-9]*(\.[1-9][0-9]*)*\Z")
_NOT_BASE64: Final = re.compile(rb"[^A-Za-z0-9+/=]")
_LINE_SPACE: Final = b" \t\r\n"
_BASE64_CHARS: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
# RFC 2045 §6.7 (5) limits encoded lines to 76 characters; past this a line is broken
# mail and is decoded as far as it goes rather than held.
_MAX_QP_CARRY: Final = 64 * 1024


class StreamDecoder(Protocol):
    """Undoes a transfer encoding over consecutive slices of the encoded part."""

    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class IdentityStream:
    """7bit, 8bit, binary, and encodings we do not know (kept as they are, as
    RFC 2045 §6.4 suggests for an unknown encoding)."""

    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


class Base64Stream:
    """Base64 (RFC 2045 §6.8) in slices: incomplete quads are carried to the next one.

    Like the whole-part decoder in `tidings.mime`, it skips characters outside the
    alphabet and lets padding end a run, so parts glued from separately encoded pieces
    decode in full."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        # bytes.translate runs many times faster than a regular expression here; the
        # expression only runs on the rare text that has junk in it.
        cleaned = data.translate(None, _LINE_SPACE)
        if cleaned.translate(None, _BASE64_CHARS):
            cleaned = _NOT_BASE64.sub(b"", cleaned)
        text = self._carry + cleaned
        out: list[bytes] = []
        start = 0
        while (pad := text.find(b"=", start)) >= 0:
            out.append(_decode_quads(text[start:pad], final=True))
            start = pad + 1
        rest = text[start:]
        whole = len(rest) - len(rest) % 4
        out.append(_decode_quads(rest[:whole], final=False))
        self._carry = rest[whole:]
        return b"".join(out)

    def finish(self) -> bytes:
        rest, self._carry = self._carry, b""
        return _decode_quads(rest, final=True)


def _decode_quads(chars: bytes, *, final: bool) -> bytes:
    """Decode base64 characters; with `final` the last partial quad is padded (one
    lone character holds less than a byte and is dropped)."""
    extra = len(chars) % 4
    if extra == 1:
        chars = chars[:-1]
    elif extra and final:
        chars += b"=" * (4 - extra)
    return binascii.a2b_base64(chars) if chars else b""


class QuotedPrintableStream:
    """Quoted-printable (RFC 2045 §6.7) in slices.

    Decoding stops after the last line break of what has arrived: an ``=`` escape or
    a soft line break (``=`` CRLF) never spans a line break, so the text carried to the
    next slice is never needed to decode what came before it."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        text = self._carry + data
        cut = text.rfind(b"\n") + 1
        if cut == 0 and len(text) > _MAX_QP_CARRY:
            # No line break in sight: decode all but a possibly unfinished escape.
            escape = text.rfind(b"=", len(text) - 2)
            cut = escape if escape >= 0 else len(text)
        self._carry = text[cut:]
        return binascii.a2b_qp(text[:cut])

    def finish(self) -> bytes:
        rest, self._carry = self._carry, b""
        return binascii.a2b_qp(rest)


class UuencodeStream:
    """x-uuencode, line by line: the lines between ``begin`` and ``end``."""

    def __init__(self) -> None:
        self._carry = b""
        self._started = False
        self._ended = False

    def feed(self, data: bytes) -> bytes:
        text = self._carry + data
        cut = text.rfind(b"\n") + 1
        self._carry = text[cut:]
        return b"".join(self._line(line) for line in text[:cut].splitlines())

    def finish(self) -> bytes:
        rest, self._carry = self._carry, b""
        return b"".join(self._line(line) for line in rest.splitlines())

    def _line(self, line: bytes) -> bytes:
        if self._ended:
            return b""
        if not self._started:
            self._started = line.startswith(b"begin")
            return b""
        if line.strip() == b"end":
            self._ended = True
            return b""
        if not line.strip() or line.strip() == b"`":
            return b""
        try:
            return binascii.a2b_uu(line)
        except binascii.Error:
            # The length character says how much the line holds; encoders that add
            # junk after it are cut off there (as the whole-part decoder does).
            needed = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                return binascii.a2b_uu(line[:needed])
            except binascii.Error:
                return b""


def decoder_for(encoding: str | None) -> StreamDecoder:
    name = (encoding or "").strip().strip("\"'").strip().lower()
    if name == "base64":
        return Base64Stream()
    if name == "quoted-printable":
        return QuotedPrintableStream()
    if name in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return UuencodeStream()
    return IdentityStream()


async def _fetch_slice(client: ImapClient, uid: int, part: str, offset: int,
                       length: int) -> bytes | None:
    """``length`` octets of the part from ``offset`` (fewer at its end, none past
    it); None when the server has no message with this UID any more."""
    prefix = f"BODY[{part}]"
    data: bytes | None = None
    item = f"BODY.PEEK[{part}]<{offset}.{length}>"
    async with aclosing(client.uid_fetch([uid], [item])) as fetches:
        async for fetch in fetches:
            if fetch.uid != uid:
                continue
            for section, value in fetch.sections.items():
                if section.startswith(prefix):
                    data = value or b""
    return data


def _pieces(data: bytes) -> list[bytes]:
    return [data[start:start + CHUNK] for start in range(0, len(data), CHUNK)]


class AttachmentReader:
    """AttachmentService's reads, through the `MailReader`'s ownership checks."""

    def __init__(self, mail: MailReader, *, slice_size: int = SLICE) -> None:
        if slice_size < 1:
            raise ValueError("slice_size must be at least 1")
        self._mail = mail
        self._slice = slice_size

    async def get(self, grant_id: str, message_id: str, attachment_id: str
                  ) -> tuple[Message, Attachment]:
        message = await self._mail.get_message(grant_id, message_id)
        for attachment in message.attachments:
            if attachment.id == attachment_id:
                return message, attachment
        raise NotFound("attachment", attachment_id)

    async def download(self, grant_id: str, message_id: str, attachment_id: str
                       ) -> AsyncIterator[bytes]:
        """The decoded content, in order, in pieces of at most about one slice.

        The connection is logged out when the iterator ends or is closed early."""
        message, attachment = await self.get(grant_id, message_id, attachment_id)
        if not _PART.match(attachment.part):
            raise PreconditionFailed(
                f"attachment {attachment_id!r} has no usable part number")
        link = await self._mail.link(grant_id)
        async with link.connect("api:attachment") as client:
            uid, data = await self._first_slice(client, message, attachment)
            decoder = decoder_for(attachment.encoding)
            offset = 0
            while True:
                offset += len(data)
                for piece in _pieces(decoder.feed(data)):
                    yield piece
                if len(data) < self._slice:
                    break
                next_slice = await _fetch_slice(client, uid, attachment.part, offset,
                                                self._slice)
                if next_slice is None:
                    raise PreconditionFailed(f"message {message_id!r} was removed from the "
                                             "mail server during the download")
                data = next_slice
            for piece in _pieces(decoder.finish()):
                yield piece
        log.debug("api.attachment_sent", grant=grant_id, message=message_id,
                  part=attachment.part, fetched=offset)

    async def _first_slice(self, client: ImapClient, message: Message,
                           attachment: Attachment) -> tuple[int, bytes]:
        """Select a folder holding the message and fetch the part's first slice: from
        the first copy the server still has. Returns (UID, slice)."""
        for folder_id, uid in message_locations(message):
            folder = await self._mail.folder_of(message, folder_id)
            if folder is None or not await examine_for_uids(client, folder):
                continue
            data = await _fetch_slice(client, uid, attachment.part, 0, self._slice)
            if data is not None:
                return uid, data
        raise PreconditionFailed(f"message {message.id!r} is no longer on the mail server; "
                                 "the next sync removes it")
