"""DownloadAttachment's responses are encoded by hand: they must be exactly what protobuf
makes, and the hand-made registration must serve every method of the service."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tidings.api.attachments import SERVICE, AttachmentServicer, add_to_server, encode_chunk
from tidings.v1 import attachments_pb2


@given(st.binary(min_size=1, max_size=5000))
def test_a_chunk_is_encoded_as_protobuf_encodes_it(data: bytes) -> None:
    encoded = encode_chunk(data)
    assert encoded == attachments_pb2.DownloadChunk(data=data).SerializeToString()
    assert attachments_pb2.DownloadChunk.FromString(encoded).data == data


def test_lengths_across_varint_boundaries() -> None:
    for size in (127, 128, 16_383, 16_384, 1024 * 1024, 2_097_152):
        data = bytes(size)
        assert encode_chunk(data) == attachments_pb2.DownloadChunk(data=data).SerializeToString()


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
