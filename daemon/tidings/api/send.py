"""SendService: one message in one request, or a stream whose first chunk is the request
and whose following chunks carry attachment bytes (for attachments of any size)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Final

from tidings.api.bridge import TrioBridge
from tidings.api.convert import message_to_proto
from tidings.api.errors import InvalidArgument, ResourceExhausted, rpc
from tidings.api.outgoing import outgoing_from_proto
from tidings.api.requests import require_id
from tidings.service.send import Sender, SendOutcome
from tidings.v1 import send_pb2, send_pb2_grpc

__all__ = ["MAX_STREAMED_BYTES", "SendServicer", "send_response"]

# Above every provider preset's limit: a stream this large could never be sent.
MAX_STREAMED_BYTES: Final = 100 * 1024 * 1024


def send_response(outcome: SendOutcome) -> send_pb2.SendMessageResponse:
    return send_pb2.SendMessageResponse(message=message_to_proto(outcome.message),
                                        idempotent_replay=outcome.replay)


class SendServicer(send_pb2_grpc.SendServiceServicer):
    def __init__(self, bridge: TrioBridge, sender: Sender) -> None:
        self._bridge = bridge
        self._sender = sender

    async def _send(self, request: send_pb2.SendMessageRequest,
                    contents: dict[int, bytes] | None = None) -> send_pb2.SendMessageResponse:
        grant_id = require_id("grant_id", request.grant_id)
        if not request.HasField("message"):
            raise InvalidArgument("message", "is required")
        message = outgoing_from_proto(request.message)
        if contents is not None:
            message = replace(message, attachments=tuple(
                replace(a, content=contents.get(i, b""))
                for i, a in enumerate(message.attachments)))
        outcome = await self._bridge.call(self._sender.send, grant_id, message,
                                          request.idempotency_key or None)
        return send_response(outcome)

    @rpc
    async def SendMessage(
        self, request: send_pb2.SendMessageRequest, context: Any
    ) -> send_pb2.SendMessageResponse:
        return await self._send(request)

    @rpc
    async def SendMessageStream(
        self, request_iterator: AsyncIterator[send_pb2.SendMessageChunk], context: Any
    ) -> send_pb2.SendMessageResponse:
        first: send_pb2.SendMessageRequest | None = None
        contents: dict[int, bytearray] = {}
        total = 0
        async for chunk in request_iterator:
            part = chunk.WhichOneof("part")
            if part == "request":
                if first is not None:
                    raise InvalidArgument("request", "only the first chunk carries it")
                first = chunk.request
                if any(a.content for a in first.message.attachments):
                    raise InvalidArgument("request.message.attachments",
                                          "content travels in the chunks that follow")
                continue
            if first is None:
                raise InvalidArgument("request", "the first chunk must carry the request")
            data = chunk.attachment_data
            if data.attachment_index >= len(first.message.attachments):
                raise InvalidArgument("attachment_data.attachment_index",
                                      f"no attachment {data.attachment_index}")
            total += len(data.data)
            if total > MAX_STREAMED_BYTES:
                raise ResourceExhausted(f"attachments above {MAX_STREAMED_BYTES:,} bytes "
                                        "cannot be sent by any provider")
            contents.setdefault(data.attachment_index, bytearray()).extend(data.data)
        if first is None:
            raise InvalidArgument("request", "the stream carried no request")
        return await self._send(first, {i: bytes(b) for i, b in contents.items()})
