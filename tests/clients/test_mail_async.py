"""`AsyncTidings`' mail methods on an asyncio loop (in a worker thread: the daemon runs on
trio in this one), each call path once: folders, messages, threads, attachment
downloads, drafts, and sends in one request or streamed. The daemon takes requests of
at most 2 MiB, so a 3 MiB attachment goes through only when streamed."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import trio

from tests.clients.conftest import ClientDaemon, call
from tests.daemon.conftest import daemon_config
from tests.support.dovecot import Dovecot, free_port
from tests.support.mailgen import make_message
from tests.support.smtpserver import SmtpServer
from tidings.config import GrpcConfig
from tidings_client import (
    TOP_LEVEL,
    AsyncTidings,
    NotFound,
    OutgoingAttachment,
    ResourceExhausted,
)

pytestmark = pytest.mark.dovecot

T = TypeVar("T")
PAYLOAD = bytes(range(256)) * 6000  # 1,536,000 bytes: two 1 MiB pieces


@dataclass
class Account:
    daemon: ClientDaemon
    grant_id: str

    def client(self, **options: int) -> AsyncTidings:
        return AsyncTidings(self.daemon.address, self.daemon.api_key, **options)


async def _in_asyncio(scenario: Callable[[], Awaitable[T]], seconds: float = 90) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), seconds)

    return await trio.to_thread.run_sync(lambda: asyncio.run(bounded()))


@pytest.fixture
async def account(tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpServer,
                  nursery: trio.Nursery, daemon_store: str | None) -> AsyncIterator[Account]:
    base = daemon_config(tmp_path / "data", dovecot, daemon_store)
    config = replace(base, grpc=GrpcConfig(host="127.0.0.1", port=free_port(),
                                           max_message_bytes=2 * 1024 * 1024))
    daemon = ClientDaemon(config, dovecot, smtp_server, nursery)
    running = await daemon.start()
    _key_id, daemon.api_key = await running.accounts.create_api_key("async mail tests")
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject="Budget", message_id="<budget@example.com>")],
                 when=datetime.now(UTC) - timedelta(hours=1))
    dovecot.seed(user, [
        make_message(subject="Re: Budget", message_id="<budget2@example.com>",
                     in_reply_to="<budget@example.com>"),
        make_message(subject="Report", message_id="<report@example.com>",
                     attachment=("report.bin", PAYLOAD)),
    ])
    try:
        with daemon.client() as client:
            await call(client.create_connector, "mail")
            grant = await daemon.synced_grant(client, user, password)
        yield Account(daemon, grant.id)
    finally:
        await daemon.stop()


async def test_folders_messages_threads_and_attachments(account: Account) -> None:
    grant_id = account.grant_id

    async def scenario() -> None:
        async with account.client() as client:
            folders = {f.path: f for f in await client.list_folders(grant_id)}
            created = await client.create_folder(grant_id, "Child",
                                                 parent_id=folders["Archive"].id)
            assert created.parent_id == folders["Archive"].id
            assert await client.get_folder(grant_id, created.id) == created
            moved = await client.update_folder(grant_id, created.id, name="Top",
                                               parent_id=TOP_LEVEL)
            assert (moved.name, moved.parent_id) == ("Top", None)
            await client.delete_folder(grant_id, created.id)
            assert created.id not in {f.id for f in await client.list_folders(grant_id)}

            page = await client.list_messages(grant_id, subject="Report")
            [report] = page.messages
            archived = await client.update_message(grant_id, report.id, unread=False,
                                                   folders=[folders["Archive"].id])
            assert archived.folders == (folders["Archive"].id,) and not archived.unread
            assert (await client.get_message(grant_id, report.id)).folders == \
                archived.folders

            [attachment] = report.attachments
            assert await client.get_attachment(grant_id, report.id, attachment.id) == \
                attachment
            pieces = [data async for data in
                      client.download_attachment(grant_id, report.id, attachment.id)]
            assert len(pieces) == 2 and b"".join(pieces) == PAYLOAD
            buffer = io.BytesIO()
            assert await client.download_attachment_to(
                grant_id, report.id, attachment.id, buffer) == len(PAYLOAD)
            assert buffer.getvalue() == PAYLOAD
            with pytest.raises(NotFound):
                async for _data in client.download_attachment(grant_id, report.id, "nope"):
                    pass

            await client.delete_message(grant_id, report.id)
            assert (await client.get_message(grant_id, report.id)).folders == (
                folders["Trash"].id,)

            [thread] = (await client.list_threads(grant_id, subject="Budget")).threads
            assert await client.get_thread(grant_id, thread.id) == thread
            starred = await client.update_thread(grant_id, thread.id, starred=True)
            assert starred.starred and len(starred.message_ids) == 2

    await _in_asyncio(scenario)


async def test_drafts_and_sends(account: Account, smtp_server: SmtpServer,
                                tmp_path: Path) -> None:
    grant_id = account.grant_id
    scan = tmp_path / "scan.bin"
    scan.write_bytes(bytes(range(256)) * (3 * 4096))  # 3 MiB

    async def scenario() -> None:
        async with account.client() as client:
            draft = await client.create_draft(grant_id, to="bob@example.org",
                                              subject="Async draft")
            edited = await client.update_draft(grant_id, draft.id, to="bob@example.org",
                                               subject="Async draft, edited")
            assert edited.id == draft.id
            assert [d.id for d in (await client.list_drafts(grant_id)).drafts] == [draft.id]
            assert (await client.get_draft(grant_id, draft.id)).subject == edited.subject
            sent_draft = await client.send_draft(grant_id, draft.id)
            assert sent_draft.message.subject == "Async draft, edited"
            other = await client.create_draft(grant_id, subject="Dropped")
            await client.delete_draft(grant_id, other.id)
            with pytest.raises(NotFound):
                await client.get_draft(grant_id, other.id)

            first = await client.send_message(
                grant_id, to="x@example.net", subject="Async send", idempotency_key="a-1",
                attachments=[OutgoingAttachment("a.bin", PAYLOAD[:1000])])
            again = await client.send_message(
                grant_id, to="x@example.net", subject="Async send", idempotency_key="a-1",
                attachments=[OutgoingAttachment("a.bin", PAYLOAD[:1000])])
            assert (first.idempotent_replay, again.idempotent_replay) == (False, True)
            assert [a.filename for a in first.message.attachments] == ["a.bin"]
            with pytest.raises(ResourceExhausted, match="larger than max"):
                await client.send_message(grant_id, to="x@example.net", subject="Scan",
                                          attachments=[OutgoingAttachment.from_path(scan)])
        async with account.client(inline_send_limit=1024 * 1024) as streaming:
            streamed = await streaming.send_message(
                grant_id, to="x@example.net", subject="Scan",
                attachments=[OutgoingAttachment.from_path(scan)])
            assert [a.filename for a in streamed.message.attachments] == ["scan.bin"]

    await _in_asyncio(scenario)
    subjects = [envelope.data for envelope in smtp_server.received]
    assert sum(b"Subject: Async send" in data for data in subjects) == 1
    assert sum(b"Subject: Scan" in data for data in subjects) == 1
