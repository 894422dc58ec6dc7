"""AttachmentService: metadata, and the content streamed as the mail server gives it.

A download is a bridged stream with a little credit: the trio side fetches the next
slice from the server only while the client keeps up, and a cancelled call closes the
stream, which logs the IMAP connection out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

from tidings.api.bridge import TrioBridge
from tidings.api.convert import attachment_to_proto
from tidings.api.errors import rpc
from tidings.api.requests import require_id
from tidings.domain import Attachment, Message
from tidings.service.attachments import AttachmentReader
from tidings.v1 import attachments_pb2, attachments_pb2_grpc

__all__ = ["AttachmentServicer"]

# Decoded pieces in flight between the trio and asyncio threads (up to 1 MB each).
STREAM_CREDIT: Final = 4


class AttachmentServicer(attachments_pb2_grpc.AttachmentServiceServicer):
    def __init__(self, bridge: TrioBridge, attachments: AttachmentReader) -> None:
        self._bridge = bridge
        self._attachments = attachments

    @rpc
    async def GetAttachment(
        self, request: attachments_pb2.GetAttachmentRequest, context: Any
    ) -> attachments_pb2.Attachment:
        found: tuple[Message, Attachment] = await self._bridge.call(
            self._attachments.get, require_id("grant_id", request.grant_id),
            require_id("message_id", request.message_id), require_id("id", request.id))
        message, attachment = found
        return attachment_to_proto(attachment, message.grant_id)

    @rpc
    async def DownloadAttachment(
        self, request: attachments_pb2.DownloadAttachmentRequest, context: Any
    ) -> AsyncIterator[attachments_pb2.DownloadChunk]:
        stream = self._bridge.stream(
            self._attachments.download, require_id("grant_id", request.grant_id),
            require_id("message_id", request.message_id), require_id("id", request.id),
            buffer=STREAM_CREDIT)
        async with stream as pieces:
            async for data in pieces:
                yield attachments_pb2.DownloadChunk(data=data)
