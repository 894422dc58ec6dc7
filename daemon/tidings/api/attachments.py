"""AttachmentService: metadata, and the content streamed as the mail server gives it.

A download is a bridged stream with a little credit: the trio side fetches the next
slice from the server only while the client keeps up, and a cancelled call closes the
stream, which logs the IMAP connection out.

A `DownloadChunk` is one bytes field, so its encoding is written here (`chunk_header`,
the octets before the data) and the method is registered without a protobuf serializer
(`add_to_server`): building a message and serializing it would copy every megabyte
twice more, which costs a download about a third of its time. The service decodes each
piece straight behind its header, so the data is not copied to frame it either.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any, Final

import grpc

from tidings.api.bridge import TrioBridge
from tidings.api.convert import attachment_to_proto
from tidings.api.errors import rpc
from tidings.api.requests import require_id
from tidings.domain import Attachment, Message
from tidings.service.attachments import AttachmentReader
from tidings.v1 import attachments_pb2

__all__ = ["AttachmentServicer", "add_to_server", "chunk_header"]

SERVICE: Final = "tidings.v1.AttachmentService"
# Field 1 (data), wire type 2 (length-delimited): protobuf's encoding of the key.
_DATA_KEY: Final = b"\x0a"
# The same field, empty: a parser keeps the last value of a field that comes twice
# ("last one wins" for scalars, strings and bytes), so it changes nothing but a
# header's length.
_EMPTY_DATA: Final = _DATA_KEY + b"\x00"

# Decoded pieces in flight between the trio and asyncio threads (up to 1 MB each).
STREAM_CREDIT: Final = 4


class AttachmentServicer:
    """AttachmentService; registered with `add_to_server`."""

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
    ) -> AsyncIterator[bytes]:
        """Encoded `DownloadChunk` messages (see `add_to_server`): the service puts
        each piece behind its `chunk_header`."""
        stream = self._bridge.stream(
            functools.partial(self._attachments.download, header=chunk_header),
            require_id("grant_id", request.grant_id),
            require_id("message_id", request.message_id), require_id("id", request.id),
            buffer=STREAM_CREDIT)
        async with stream as chunks:
            async for chunk in chunks:
                # Always bytes with a header; grpc sends nothing else.
                yield chunk if isinstance(chunk, bytes) else bytes(chunk)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def chunk_header(size: int) -> bytes:
    """What comes before `size` octets of data in the encoding of a `DownloadChunk`:
    the key and length of `data`, behind as many empty `data` fields (two octets each)
    as make it a whole number of triples, the length a base64 decoder can write in
    front of what it decodes (`Base64Stream.feed_after`). For a chunk of about a
    megabyte that is one empty field and four octets of key and length."""
    key = _DATA_KEY + _varint(size)
    return _EMPTY_DATA * (len(key) % 3) + key


def add_to_server(servicer: AttachmentServicer, server: Any) -> None:
    """Register the service as the generated ``add_AttachmentServiceServicer_to_server``
    does, except that DownloadAttachment's responses go out as the bytes it yields."""
    handlers = {
        "GetAttachment": grpc.unary_unary_rpc_method_handler(
            servicer.GetAttachment,
            request_deserializer=attachments_pb2.GetAttachmentRequest.FromString,
            response_serializer=attachments_pb2.Attachment.SerializeToString),
        "DownloadAttachment": grpc.unary_stream_rpc_method_handler(
            servicer.DownloadAttachment,
            request_deserializer=attachments_pb2.DownloadAttachmentRequest.FromString,
            response_serializer=None),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
