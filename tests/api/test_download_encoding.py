"""DownloadAttachment's responses are encoded by hand: every protobuf parser must read
them as the `DownloadChunk` they stand for, and the hand-made registration must serve
every method of the service."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tidings.api.attachments import (
    SERVICE,
    AttachmentServicer,
    add_to_server,
    chunk_header,
)
from tidings.v1 import attachments_pb2


@given(st.binary(max_size=5000))
def test_a_chunk_parses_as_the_message_it_stands_for(data: bytes) -> None:
    encoded = chunk_header(len(data)) + data  # as the service joins a header on
    assert encoded.endswith(data)
    parsed = attachments_pb2.DownloadChunk.FromString(encoded)
    assert parsed.data == data
    assert parsed.SerializeToString() == attachments_pb2.DownloadChunk(
        data=data).SerializeToString()


def test_headers_are_whole_triples_across_varint_boundaries() -> None:
    for size in (0, 1, 127, 128, 16_383, 16_384, 1024 * 1024, 2_097_151, 2_097_152,
                 268_435_455, 268_435_456):
        header = chunk_header(size)
        assert len(header) % 3 == 0, size
        data = b"\x01" * size if size <= 2_097_152 else b""
        if data or not size:
            assert attachments_pb2.DownloadChunk.FromString(header + data).data == data
    # A chunk of about a megabyte: one empty data field, then key and length.
    assert chunk_header(1024 * 1024) == b"\x0a\x00\x0a\x80\x80\x40"
    # Lengths whose key and length are whole triples already get nothing in front.
    assert chunk_header(16_383) == b"\x0a\xff\x7f"


class _Server:
    def __init__(self) -> None:
        self.generic: list[Any] = []
        self.registered: dict[str, dict[str, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: tuple[Any, ...]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        self.registered[service] = handlers


def test_every_method_of_the_service_is_registered() -> None:
    server = _Server()
    add_to_server(AttachmentServicer(bridge=None, attachments=None), server)  # type: ignore[arg-type]
    declared = attachments_pb2.DESCRIPTOR.services_by_name["AttachmentService"].methods
    assert set(server.registered[SERVICE]) == {method.name for method in declared}
    handlers = server.registered[SERVICE]
    assert handlers["DownloadAttachment"].response_streaming
    assert handlers["DownloadAttachment"].response_serializer is None
    assert not handlers["GetAttachment"].response_streaming
    assert len(server.generic) == 1
