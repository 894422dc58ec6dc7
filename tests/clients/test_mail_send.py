"""Sending and drafts through the blocking client against a real daemon: alice's grant
sends over SMTP, the test SMTP server delivers to Dovecot, bob's grant syncs it. The
daemon here takes requests of at most 2 MiB, so an attachment that fits only in
SendMessageStream shows which path the client took."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from email import message_from_bytes
from email.message import Message as MimeMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from tests.clients.conftest import ClientDaemon, EventReader, call
from tests.daemon.conftest import daemon_config
from tests.support.dovecot import Dovecot, free_port
from tests.support.smtpserver import SmtpServer
from tidings.config import GrpcConfig
from tidings_client import (
    Draft,
    Grant,
    NotFound,
    OutgoingAttachment,
    ResourceExhausted,
    SentMessage,
    Tidings,
)

pytestmark = pytest.mark.dovecot

T = TypeVar("T")
RECEIVE_LIMIT = 2 * 1024 * 1024
PAYLOAD = bytes(range(256)) * 300  # 76,800 bytes, every byte value


@dataclass
class Sender:
    client: Tidings
    grant: Grant
    user: str

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await call(functools.partial(fn, *args, **kwargs))

    async def folder_id(self, path: str) -> str:
        folders = await self.run(self.client.list_folders, self.grant.id)
        return next(f.id for f in folders if f.path == path)


@pytest.fixture
async def send_daemon(tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpServer,
                      nursery: trio.Nursery, daemon_store: str | None
                      ) -> AsyncIterator[ClientDaemon]:
    base = daemon_config(tmp_path / "data", dovecot, daemon_store)
    config = replace(base, grpc=GrpcConfig(host="127.0.0.1", port=free_port(),
                                           max_message_bytes=RECEIVE_LIMIT))
    handle = ClientDaemon(config, dovecot, smtp_server, nursery)
    running = await handle.start()
    _key_id, handle.api_key = await running.accounts.create_api_key("send tests")
    with handle.client() as client:
        await call(client.create_connector, "mail")
    try:
        yield handle
    finally:
        await handle.stop()


async def _sender(daemon: ClientDaemon, dovecot: Dovecot) -> AsyncIterator[Sender]:
    user, password = dovecot.add_user()
    with daemon.client() as client:
        grant = await daemon.synced_grant(client, user, password)
        yield Sender(client, grant, user)


@pytest.fixture
async def alice(send_daemon: ClientDaemon, dovecot: Dovecot) -> AsyncIterator[Sender]:
    async for sender in _sender(send_daemon, dovecot):
        yield sender


@pytest.fixture
async def bob(send_daemon: ClientDaemon, dovecot: Dovecot) -> AsyncIterator[Sender]:
    async for sender in _sender(send_daemon, dovecot):
        yield sender


def _received(smtp: SmtpServer, subject: str) -> MimeMessage:
    """The newest message with `subject` on the session's SMTP server: other tests (in
    another order under xdist) may have sent one with the same subject before."""
    for envelope in reversed(smtp.received):
        parsed = message_from_bytes(envelope.data)
        if parsed["Subject"] == subject:
            return parsed
    raise AssertionError(f"no message {subject!r} reached the SMTP server")


def _attachment_bytes(mail: MimeMessage, filename: str) -> bytes:
    for part in mail.walk():
        if part.get_filename() == filename:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError(f"no attachment {filename!r}")


async def test_send_with_an_attachment_reaches_bob(
        alice: Sender, bob: Sender, smtp_server: SmtpServer, nursery: trio.Nursery) -> None:
    start = await call(bob.client.get_cursor)
    stream = bob.client.watch_events(cursor=start, grant_ids=[bob.grant.id],
                                     types=["message.created"])
    reader = EventReader(stream, nursery)
    with stream:
        sent = await alice.run(
            alice.client.send_message, alice.grant.id, to=f"Bob <{bob.user}@example.org>",
            bcc=["hidden@example.net"], subject="Plans for Friday",
            body="<p>See the <b>numbers</b>.</p>", custom_headers={"X-Campaign": "friday"},
            attachments=[OutgoingAttachment("numbers.bin", PAYLOAD,
                                            content_type="application/octet-stream")])
        assert isinstance(sent, SentMessage) and not sent.idempotent_replay
        assert sent.message.subject == "Plans for Friday"
        assert sent.message.folders == (await alice.folder_id("Sent"),)
        assert [a.email for a in sent.message.bcc] == ["hidden@example.net"]
        mail = _received(smtp_server, "Plans for Friday")
        assert mail["X-Campaign"] == "friday" and alice.user in mail["From"]

        event = await reader.wait_for(lambda e: e.subject == "Plans for Friday")
    received = await bob.run(bob.client.get_message, bob.grant.id, event.object_id)
    assert "numbers" in received.body
    [attachment] = received.attachments
    assert attachment.filename == "numbers.bin"
    downloaded = await bob.run(lambda: b"".join(bob.client.download_attachment(
        bob.grant.id, received.id, attachment.id)))
    assert downloaded == PAYLOAD


async def test_idempotency_key_sends_once(alice: Sender, smtp_server: SmtpServer) -> None:
    send = functools.partial(alice.run, alice.client.send_message, alice.grant.id,
                             to="someone@example.net", subject="Once only", body="hi",
                             is_plaintext=True, idempotency_key="order-42")
    before = len(smtp_server.received)
    first = await send()
    again = await send()
    assert len(smtp_server.received) == before + 1
    assert (first.idempotent_replay, again.idempotent_replay) == (False, True)
    assert again.message.id == first.message.id


async def test_draft_create_update_list_send_and_delete(
        alice: Sender, smtp_server: SmtpServer) -> None:
    client, grant_id = alice.client, alice.grant.id
    drafts_folder = await alice.folder_id("Drafts")
    created = await alice.run(
        client.create_draft, grant_id, to="Bob <bob@example.org>", subject="Draft one",
        body="first words", is_plaintext=True,
        attachments=[OutgoingAttachment("a.txt", b"abc")], custom_headers=[("X-Note", "kept")])
    assert isinstance(created, Draft) and created.folders == (drafts_folder,)
    assert created.is_plaintext and created.body.strip() == "first words"
    assert [a.filename for a in created.attachments] == ["a.txt"]
    assert created.custom_headers == (("X-Note", "kept"),)

    updated = await alice.run(client.update_draft, grant_id, created.id,
                              to=["bob@example.org"], subject="Draft one, edited",
                              body="<p>better</p>")
    assert updated.id == created.id and not updated.is_plaintext
    assert updated.attachments == ()  # an update replaces the whole content
    listed = await alice.run(client.list_drafts, grant_id)
    assert [d.id for d in listed.drafts] == [created.id] and listed.next_cursor == ""
    got = await alice.run(client.get_draft, grant_id, created.id)
    assert got.subject == "Draft one, edited"

    sent = await alice.run(client.send_draft, grant_id, created.id, idempotency_key="d-1")
    assert sent.message.subject == "Draft one, edited"
    assert sent.message.folders == (await alice.folder_id("Sent"),)
    assert "better" in str(_received(smtp_server, "Draft one, edited"))
    with pytest.raises(NotFound):
        await alice.run(client.get_draft, grant_id, created.id)

    doomed = await alice.run(client.create_draft, grant_id, subject="Never sent")
    await alice.run(client.delete_draft, grant_id, doomed.id)
    assert (await alice.run(client.list_drafts, grant_id)).drafts == ()


async def test_large_attachments_stream_from_files(
        alice: Sender, send_daemon: ClientDaemon, smtp_server: SmtpServer,
        tmp_path: Path) -> None:
    path = tmp_path / "scan.bin"
    content = bytes(range(256)) * (3 * 4096)  # 3 MiB: more than one request may hold
    path.write_bytes(content)
    attachment = OutgoingAttachment.from_path(path)
    connections = smtp_server.connections
    # In one request (the default below 24 MiB), the daemon refuses it unread.
    with pytest.raises(ResourceExhausted, match="larger than max"):
        await alice.run(alice.client.send_message, alice.grant.id, to="x@example.net",
                        subject="Scan", attachments=[attachment])
    assert smtp_server.connections == connections

    with send_daemon.client(inline_send_limit=1024 * 1024) as streaming:
        sent = await alice.run(streaming.send_message, alice.grant.id, to="x@example.net",
                               subject="Scan", attachments=[attachment])
    assert [a.filename for a in sent.message.attachments] == ["scan.bin"]
    assert _attachment_bytes(_received(smtp_server, "Scan"), "scan.bin") == content


async def test_too_large_for_the_provider_is_resource_exhausted(
        alice: Sender, smtp_server: SmtpServer, tmp_path: Path) -> None:
    halves = []
    for name in ("part1.bin", "part2.bin"):
        path = tmp_path / name
        path.write_bytes(bytes(13 * 1024 * 1024))
        halves.append(OutgoingAttachment.from_path(path))
    connections = smtp_server.connections
    with pytest.raises(ResourceExhausted) as refused:
        await alice.run(alice.client.send_message, alice.grant.id, to="x@example.net",
                        subject="Huge", attachments=halves)
    # The provider preset's limit, checked once the daemon has it all: it was streamed
    # (in one request the daemon's receive limit would have refused it unread).
    assert "accepts at most 26,214,400" in refused.value.message
    assert smtp_server.connections == connections
