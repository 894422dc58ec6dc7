"""AttachmentService over a real socket: metadata, and downloads streamed from Dovecot
piece by piece that match the original bytes exactly, in bounded memory."""

from __future__ import annotations

import functools
import hashlib
import random
import tracemalloc

import pytest
import trio

from tests.daemon.conftest import Daemon
from tests.mailapi.conftest import Code, Mailbox, build_message, sync_mailbox
from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.api.attachments import chunk_header
from tidings.mime import iter_part_bytes
from tidings.service.attachments import CHUNK, AttachmentReader
from tidings.service.mail_read import MailReader
from tidings.sync.presets import preset_for
from tidings.v1 import attachments_pb2, messages_pb2

BINARY = random.Random(7).randbytes(3 * 1024 * 1024 + 12_345)
# Long lines, '=' signs, trailing spaces and non-ASCII: every quoted-printable escape.
TEXT = "".join(f"line {n}: a=b, tab\there, café €{n} " + "x" * (n % 150) + "  \n"
               for n in range(6000))


def _seed(dovecot: Dovecot, user: str) -> tuple[dict[str, bytes], dict[str, int]]:
    raw = build_message(subject="Files", message_id="<files@example.com>", attachments=(
        ("big.bin", "application/octet-stream", BINARY),
        ("notes.txt", "text/plain", TEXT),
    ))
    dovecot.seed(user, [raw])
    return {"Files": raw}, {}


async def _files(daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer
                 ) -> tuple[Mailbox, messages_pb2.Message]:
    mailbox = await sync_mailbox(daemon, dovecot, smtp_server,
                                 functools.partial(_seed, dovecot))
    reply = await mailbox.call(mailbox.messages.ListMessages,
                               messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id))
    (message,) = reply.messages
    return mailbox, message


def _request(mailbox: Mailbox, message: messages_pb2.Message, attachment_id: str
             ) -> attachments_pb2.DownloadAttachmentRequest:
    return attachments_pb2.DownloadAttachmentRequest(
        grant_id=mailbox.grant_id, message_id=message.id, id=attachment_id)


async def _download(mailbox: Mailbox, message: messages_pb2.Message, attachment_id: str
                    ) -> list[bytes]:
    def read() -> list[bytes]:
        stream = mailbox.attachments.DownloadAttachment(
            _request(mailbox, message, attachment_id), metadata=mailbox.daemon.auth,
            timeout=60)
        return [chunk.data for chunk in stream]

    return await trio.to_thread.run_sync(read)


async def test_downloads_match_the_original_bytes(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    mailbox, message = await _files(daemon, dovecot, smtp_server)
    big, notes = message.attachments
    assert (big.filename, big.content_type) == ("big.bin", "application/octet-stream")
    assert (notes.filename, notes.content_type) == ("notes.txt", "text/plain")
    assert big.content_disposition == "attachment" and not big.is_inline
    chunks = await _download(mailbox, message, big.id)
    assert b"".join(chunks) == BINARY
    # Streamed in pieces: none is larger than one chunk.
    assert len(chunks) >= len(BINARY) // CHUNK and max(map(len, chunks)) <= CHUNK
    # Quoted-printable text: line breaks come out as CRLF (RFC 2045 §6.7 (4)).
    text = b"".join(await _download(mailbox, message, notes.id))
    assert text == TEXT.replace("\n", "\r\n").encode()
    raw = mailbox.raw["Files"]
    assert text == iter_part_bytes(raw, "3")
    metadata = await mailbox.call(mailbox.attachments.GetAttachment,
                                  attachments_pb2.GetAttachmentRequest(
                                      grant_id=mailbox.grant_id, message_id=message.id,
                                      id=big.id))
    assert metadata == big


async def test_unknown_ids_and_bad_requests(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    mailbox, message = await _files(daemon, dovecot, smtp_server)
    error = await mailbox.failure(mailbox.attachments.GetAttachment,
                                  attachments_pb2.GetAttachmentRequest(
                                      grant_id=mailbox.grant_id, message_id=message.id,
                                      id=message.id + ".9"))
    assert error.code() == Code.NOT_FOUND
    error = await mailbox.failure(mailbox.attachments.GetAttachment,
                                  attachments_pb2.GetAttachmentRequest(
                                      grant_id=mailbox.grant_id, id="x"))
    assert error.code() == Code.INVALID_ARGUMENT and error.details().startswith("message_id:")
    stream = mailbox.attachments.DownloadAttachment(
        _request(mailbox, message, "nope"), metadata=mailbox.daemon.auth, timeout=30)
    error = await mailbox.failure(lambda request, **_: list(stream), None)
    assert error.code() == Code.NOT_FOUND


async def test_cancelled_downloads_give_their_connection_back(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    mailbox, message = await _files(daemon, dovecot, smtp_server)
    big = message.attachments[0]
    cap = preset_for("generic").max_connections

    def first_piece_then_cancel() -> int:
        stream = mailbox.attachments.DownloadAttachment(
            _request(mailbox, message, big.id), metadata=mailbox.daemon.auth, timeout=30)
        size = len(next(stream).data)
        stream.cancel()
        return size

    # More abandoned downloads than the grant may hold connections: a connection kept
    # open by any of them would make a later one wait for the cap until its deadline.
    for _ in range(cap + 2):
        assert await trio.to_thread.run_sync(first_piece_then_cancel) > 0
    with trio.fail_after(30):
        assert b"".join(await _download(mailbox, message, big.id)) == BINARY


def _reader(daemon: Daemon, piece: int) -> AttachmentReader:
    running = daemon.running
    return AttachmentReader(MailReader(running.store, running.supervisor), piece=piece)


async def test_pieces_cut_anywhere_give_the_original_bytes(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    """Pieces of odd sizes, so that base64 quads, CRLFs and quoted-printable escapes
    fall across their boundaries."""
    mailbox, message = await _files(daemon, dovecot, smtp_server)
    big, notes = message.attachments
    for piece in (65_537, 100_003, 1_000_001):
        reader = _reader(daemon, piece)
        got = [chunk async for chunk in reader.download(mailbox.grant_id, message.id, big.id)]
        assert b"".join(got) == BINARY and max(map(len, got)) <= CHUNK
        text = b"".join([chunk async for chunk in reader.download(
            mailbox.grant_id, message.id, notes.id)])
        assert text == TEXT.replace("\n", "\r\n").encode()


def _framing(size: int) -> bytes:
    return b"[%09d]" % size  # 11 octets: not whole triples, so always joined on


async def test_pieces_behind_headers_give_the_original_bytes(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    """With a header, each chunk is its header and then the octets it names: decoded
    behind it (base64 pieces of the usual size), or joined on (other encodings, pieces
    too large for one chunk, headers that are not whole triples)."""
    mailbox, message = await _files(daemon, dovecot, smtp_server)
    big, notes = message.attachments
    for piece, header in ((None, chunk_header), (65_537, chunk_header),
                          (3_000_017, chunk_header), (None, _framing)):
        reader = AttachmentReader(MailReader(daemon.running.store, daemon.running.supervisor),
                                  piece=piece)
        for attachment, expected in ((big, BINARY), (notes, TEXT.replace("\n", "\r\n").encode())):
            body: list[bytes] = []
            async for chunk in reader.download(mailbox.grant_id, message.id, attachment.id,
                                               header=header):
                if header is chunk_header:
                    body.append(attachments_pb2.DownloadChunk.FromString(chunk).data)
                else:
                    size = int(chunk[1:10])
                    assert chunk[:11] == _framing(size) and len(chunk) == 11 + size
                    body.append(bytes(chunk[11:]))
                assert 0 < len(body[-1]) <= CHUNK
            assert b"".join(body) == expected, (piece, attachment.filename)


@pytest.mark.slow
async def test_a_large_download_is_never_held_whole(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    """30 MB (40 MB encoded) through the service with a bounded peak of traced memory:
    a few pieces, whatever the attachment's size."""
    content = random.Random(11).randbytes(30 * 1024 * 1024 + 7)

    def seed(user: str) -> tuple[dict[str, bytes], dict[str, int]]:
        raw = build_message(subject="Large", message_id="<large@example.com>",
                            attachments=(("large.bin", "application/octet-stream", content),))
        dovecot.seed(user, [raw])
        return {}, {}

    mailbox = await sync_mailbox(daemon, dovecot, smtp_server, seed)
    reply = await mailbox.call(mailbox.messages.ListMessages,
                               messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id))
    (message,) = reply.messages
    (attachment,) = message.attachments
    reader = _reader(daemon, 1024 * 1024)
    digest = hashlib.sha256()
    size = 0
    tracemalloc.start()
    try:
        async for chunk in reader.download(mailbox.grant_id, message.id, attachment.id):
            digest.update(chunk)
            size += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == len(content) and digest.digest() == hashlib.sha256(content).digest()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB of traced memory"
