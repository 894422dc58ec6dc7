"""The mail requests the Python client builds, without a daemon: addresses from strings,
"leave alone" versus "set", and SendMessageStream's chunks read lazily from files."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.v1 import send_pb2
from tidings_client import TOP_LEVEL, EmailAddress, OutgoingAttachment
from tidings_client._requests import (
    create_folder_request,
    update_folder_request,
    update_message_request,
    update_thread_request,
)
from tidings_client._send_requests import (
    outgoing_message,
    send_chunks,
    send_draft_request,
    send_payload,
)
from tidings_client.outgoing import content_size, parse_addresses


class CountingReader(io.BytesIO):
    """A file that records how many bytes were read from it, and cannot seek (a pipe)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.reads.append(len(data))
        return data


def test_addresses_from_strings_and_values() -> None:
    assert parse_addresses("Ann Lee <ann@example.org>, bob@example.org", "to") == [
        EmailAddress(email="ann@example.org", name="Ann Lee"),
        EmailAddress(email="bob@example.org")]
    assert parse_addresses([EmailAddress("c@example.org", "C"), '"Lee, D" <d@x.org>'],
                           "cc") == [EmailAddress("c@example.org", "C"),
                                     EmailAddress("d@x.org", "Lee, D")]
    with pytest.raises(ValueError, match="bcc: not an email address: 'nobody'"):
        parse_addresses(["ok@example.org", "nobody"], "bcc")


def test_outgoing_message_fields() -> None:
    message = outgoing_message({
        "to": "Ann <ann@example.org>", "reply_to": ["r@example.org"], "subject": "s",
        "body": "b", "is_plaintext": True, "reply_to_message_id": "m1",
        "custom_headers": {"X-A": "1"}, "from_": "Me <me@example.org>",
        "attachments": [OutgoingAttachment("a.txt", b"abc", content_type="text/plain"),
                        OutgoingAttachment("logo.png", b"png", content_id="logo",
                                           is_inline=True)]})
    assert [(a.name, a.email) for a in message.to] == [("Ann", "ann@example.org")]
    assert [a.email for a in message.reply_to] == ["r@example.org"]
    assert not message.cc and not message.bcc
    assert (message.from_.name, message.from_.email) == ("Me", "me@example.org")
    assert (message.subject, message.body, message.is_plaintext) == ("s", "b", True)
    assert message.reply_to_message_id == "m1"
    assert [(h.name, h.value) for h in message.custom_headers] == [("X-A", "1")]
    assert [(a.filename, a.content_type, a.content, a.content_id, a.is_inline)
            for a in message.attachments] == [("a.txt", "text/plain", b"abc", "", False),
                                              ("logo.png", "", b"png", "logo", True)]
    bare = outgoing_message({"custom_headers": [("X-B", "2")]})
    assert not bare.HasField("from_") and not bare.is_plaintext
    assert [(h.name, h.value) for h in bare.custom_headers] == [("X-B", "2")]


def test_updates_leave_unset_fields_alone() -> None:
    untouched = update_message_request("g", "m", unread=None, starred=None, folders=None)
    assert not untouched.HasField("unread") and not untouched.HasField("starred")
    assert not untouched.HasField("folders")
    moved = update_thread_request("g", "t", unread=False, starred=None, folders=["f1", "f2"])
    assert moved.HasField("unread") and moved.unread is False
    assert list(moved.folders.ids) == ["f1", "f2"]
    renamed = update_folder_request("g", "f", name="New", parent_id=None)
    assert renamed.name == "New" and not renamed.HasField("parent_id")
    to_top = update_folder_request("g", "f", name=None, parent_id=TOP_LEVEL)
    assert to_top.HasField("parent_id") and to_top.parent_id == ""
    assert not to_top.HasField("name")
    assert not create_folder_request("g", "n", None).HasField("parent_id")
    assert create_folder_request("g", "n", "p").parent_id == "p"
    assert send_draft_request("g", "d", None).idempotency_key == ""


def test_small_attachments_travel_in_one_request(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"x" * 100)
    attachments = [OutgoingAttachment.from_path(path), OutgoingAttachment("b", b"y" * 50)]
    payload = send_payload("g", {"to": "a@x.org", "attachments": attachments}, "key",
                           inline_limit=150)
    assert isinstance(payload, send_pb2.SendMessageRequest)
    assert payload.idempotency_key == "key"
    assert [(a.filename, a.content) for a in payload.message.attachments] == [
        ("notes.txt", b"x" * 100), ("b", b"y" * 50)]


def test_large_attachments_stream_request_first_then_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(range(10)))
    attachments = [OutgoingAttachment.from_path(path), OutgoingAttachment("empty", b""),
                   OutgoingAttachment("c", b"xyz")]
    payload = send_payload("g", {"to": "a@x.org", "attachments": attachments}, None,
                           inline_limit=12, chunk_bytes=4)
    assert not isinstance(payload, send_pb2.SendMessageRequest)
    first, *rest = list(payload)
    assert first.WhichOneof("part") == "request"
    assert [a.content for a in first.request.message.attachments] == [b"", b"", b""]
    assert [a.filename for a in first.request.message.attachments] == ["big.bin", "empty", "c"]
    assert [(c.attachment_data.attachment_index, c.attachment_data.data) for c in rest] == [
        (0, bytes(range(4))), (0, bytes(range(4, 8))), (0, bytes(range(8, 10))), (2, b"xyz")]


def test_a_file_of_unknown_size_streams_and_is_read_piece_by_piece() -> None:
    reader = CountingReader(b"z" * 10_000)
    assert content_size(reader) is None
    payload = send_payload("g", {"to": "a@x.org",
                                 "attachments": [OutgoingAttachment("pipe", reader)]},
                           None, chunk_bytes=4096)
    assert not isinstance(payload, send_pb2.SendMessageRequest)
    assert next(payload).WhichOneof("part") == "request"
    assert reader.reads == []  # nothing read before the stream asks for it
    first = next(payload)
    assert len(first.attachment_data.data) == 4096
    assert sum(reader.reads) == 4096
    assert sum(len(c.attachment_data.data) for c in payload) == 10_000 - 4096


def test_a_seekable_file_is_sized_from_where_it_stands(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with path.open("rb") as file:
        file.seek(3)
        assert content_size(file) == 7
        assert file.tell() == 3
    assert content_size(path) == 10
    with pytest.raises(FileNotFoundError):
        content_size(tmp_path / "missing")


@given(st.lists(st.binary(max_size=40), max_size=5), st.integers(1, 16))
def test_chunks_reassemble_every_attachment(contents: list[bytes], chunk_bytes: int) -> None:
    attachments = [OutgoingAttachment(f"f{i}", io.BytesIO(c)) for i, c in enumerate(contents)]
    request = send_pb2.SendMessageRequest(grant_id="g")
    chunks = list(send_chunks(request, attachments, chunk_bytes))
    assert chunks[0].request == request
    indices = [c.attachment_data.attachment_index for c in chunks[1:]]
    assert indices == sorted(indices)
    joined: dict[int, bytes] = defaultdict(bytes)
    for chunk in chunks[1:]:
        data = chunk.attachment_data
        assert 0 < len(data.data) <= chunk_bytes
        joined[data.attachment_index] += data.data
    assert [joined[i] for i in range(len(contents))] == contents
