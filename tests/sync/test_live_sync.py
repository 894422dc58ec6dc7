"""Live sync: changes made by another client become exactly the right events."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.events import EventLog
from tests.support.mailgen import make_message
from tests.sync.conftest import add_grant
from tidings.domain import Event, EventType, Grant
from tidings.imap import ImapClient
from tidings.store import MessageQuery, NotFound, Store
from tidings.sync import grant as grant_module
from tidings.sync.supervisor import Supervisor

pytestmark = pytest.mark.dovecot

Connect = Callable[[str, str], Any]


async def started(dovecot: Dovecot, store: Store, events: EventLog, supervisor: Supervisor,
                  seed: int = 3) -> tuple[Grant, str, str]:
    user, password = dovecot.add_user()
    now = datetime.now(UTC)
    dovecot.seed(user, [make_message(subject=f"old {i}", message_id=f"<old{i}@x>",
                                     when=now - timedelta(days=2)) for i in range(seed)],
                 when=now - timedelta(days=2))
    grant = await add_grant(store, dovecot, user, password)
    supervisor.start_grant(grant.id)
    await events.wait_type(EventType.GRANT_IMAP_SYNC_COMPLETED, grant.id, timeout=60)
    return grant, user, password


def _is(kind: EventType, grant: Grant) -> Callable[[Event], bool]:
    return lambda e: e.type == kind and e.grant_id == grant.id


async def _uid_of(client: ImapClient, folder: str, subject: str) -> int:
    await client.select(folder)
    uids = await client.uid_search("SUBJECT", subject)
    assert len(uids) == 1, uids
    return uids[0]


async def test_append_flag_move_expunge(dovecot: Dovecot, store: Store, events: EventLog,
                                        supervisor: Supervisor, mail_client: Connect) -> None:
    grant, user, password = await started(dovecot, store, events, supervisor)
    async with mail_client(user, password) as client:
        await client.append("INBOX", make_message(subject="fresh news",
                                                  message_id="<fresh@x>"))
        created = await events.wait_for(_is(EventType.MESSAGE_CREATED, grant))
        assert created.payload["subject"] == "fresh news"
        message_id = created.object_id
        assert message_id is not None

        uid = await _uid_of(client, "INBOX", "fresh news")
        await client.uid_store([uid], "+FLAGS", ["\\Seen", "\\Flagged"])
        updated = await events.wait_for(_is(EventType.MESSAGE_UPDATED, grant))
        assert updated.object_id == message_id
        assert updated.payload["unread"] is False and updated.payload["starred"] is True

        archive = {f.name: f.id for f in await store.list_folders(grant.id)}["Archive"]
        await client.uid_move([uid], "Archive")
        moved = await events.wait_for(
            lambda e: _is(EventType.MESSAGE_UPDATED, grant)(e)
            and e.payload["folders"] == [archive])
        assert moved.object_id == message_id  # same id across the move

        uid = await _uid_of(client, "Archive", "fresh news")
        await client.uid_store([uid], "+FLAGS", ["\\Deleted"])
        await client.uid_expunge([uid])
        deleted = await events.wait_for(_is(EventType.MESSAGE_DELETED, grant))
        assert deleted.object_id == message_id
    # Exactly one event per change, nothing for the mail that was already there.
    await events.drain()
    per_message = [(e.type, e.object_id) for e in events.seen
                   if e.grant_id == grant.id and e.type.startswith("message.")]
    assert per_message.count((EventType.MESSAGE_CREATED, message_id)) == 1
    assert per_message.count((EventType.MESSAGE_DELETED, message_id)) == 1
    assert all(obj == message_id for _, obj in per_message)
    with pytest.raises(NotFound):
        await store.get_message(message_id)


async def test_reply_emits_thread_replied(dovecot: Dovecot, store: Store, events: EventLog,
                                          supervisor: Supervisor, mail_client: Connect) -> None:
    grant, user, password = await started(dovecot, store, events, supervisor)
    async with mail_client(user, password) as client:
        await client.append("INBOX", make_message(subject="Re: old 1", message_id="<r1@x>",
                                                  in_reply_to="<old1@x>"))
        replied = await events.wait_for(_is(EventType.THREAD_REPLIED, grant))
    created = [e for e in events.seen if _is(EventType.MESSAGE_CREATED, grant)(e)]
    assert len(created) == 1
    old = next(m for m in (await store.list_messages(grant.id, MessageQuery(limit=200))).items
               if m.message_id_header == "<old1@x>")
    assert replied.object_id == old.thread_id == created[0].payload["thread_id"]


async def test_folder_create_rename_delete(dovecot: Dovecot, store: Store, events: EventLog,
                                           supervisor: Supervisor, mail_client: Connect) -> None:
    grant, user, password = await started(dovecot, store, events, supervisor)
    async with mail_client(user, password) as client:
        await client.create("Projects")
        created = await events.wait_for(_is(EventType.FOLDER_CREATED, grant))
        assert created.payload["name"] == "Projects"
        await client.rename("Projects", "Projekte ü")
        renamed = await events.wait_for(_is(EventType.FOLDER_UPDATED, grant))
        assert renamed.object_id == created.object_id
        assert renamed.payload["name"] == "Projekte ü"
        await client.delete("Projekte ü")
        deleted = await events.wait_for(_is(EventType.FOLDER_DELETED, grant))
        assert deleted.object_id == created.object_id
    names = {f.name for f in await store.list_folders(grant.id)}
    assert "Projekte ü" not in names and "Projects" not in names


async def test_quiet_mailbox_makes_no_events(dovecot: Dovecot, store: Store, events: EventLog,
                                            supervisor: Supervisor, mail_client: Connect
                                            ) -> None:
    grant, user, password = await started(dovecot, store, events, supervisor)
    # Let the poller run a few full cycles (it polls every 0.5 s here), then make one
    # change: it must be the only event after the initial sync.
    async with mail_client(user, password) as client:
        for _ in range(3):
            await client.noop()
            with trio.move_on_after(0.6):
                await events.hub.wait_beyond(events.hub.position)
        await client.create("Later")
    await events.wait_for(_is(EventType.FOLDER_CREATED, grant))
    after_sync = [e for e in events.seen if e.grant_id == grant.id
                  and e.type != EventType.GRANT_IMAP_SYNC_COMPLETED
                  and e.position > events.of_type(EventType.GRANT_IMAP_SYNC_COMPLETED)[0].position]
    assert [(e.type, e.payload.get("name")) for e in after_sync] == [
        (EventType.FOLDER_CREATED, "Later")]


async def test_mail_reported_during_the_watchers_sync_is_not_left_for_later(
        dovecot: Dovecot, store: Store, events: EventLog, supervisor: Supervisor,
        mail_client: Connect, monkeypatch: pytest.MonkeyPatch) -> None:
    # New mail told of in an untagged EXISTS while the INBOX watcher syncs (after its
    # search) is not told again in IDLE: the watcher must look again before it idles.
    real_sync = grant_module.sync_folder
    user_password: dict[str, str] = {}
    injected = trio.Event()

    async def sync_then_news(link: Any, client: ImapClient, folder: Any, **kw: Any) -> Any:
        result = await real_sync(link, client, folder, **kw)
        # Only on the watcher's own connection (the UIDVALIDITY check syncs on another).
        watcher = any(frame.function == "idle_loop" for frame in inspect.stack(0))
        if folder.name == "INBOX" and watcher and user_password and not injected.is_set():
            injected.set()
            async with mail_client(user_password["user"], user_password["password"]) as other:
                await other.append("INBOX", make_message(subject="during sync",
                                                         message_id="<during@x>"))
            await client.noop()  # the server reports it now, on the watcher's connection
        return result

    # Polls far apart: a poll that borrows the watcher's connection would find the news
    # too, and this test is about the watcher on its own. Nothing here waits for IDLE to
    # report a change: the news comes in the watcher's first sync, started with the grant.
    user, password = dovecot.add_user()
    user_password.update(user=user, password=password)
    monkeypatch.setattr(grant_module, "sync_folder", sync_then_news)
    grant = await add_grant(store, dovecot, user, password, poll_interval=3600)
    supervisor.start_grant(grant.id)
    with trio.fail_after(60):
        await injected.wait()
    created = await events.wait_for(
        lambda e: _is(EventType.MESSAGE_CREATED, grant)(e)
        and e.payload["subject"] == "during sync", timeout=30)
    assert created.object_id is not None
