"""Initial sync against the real Dovecot: what is stored matches what the server holds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.dovecot import Dovecot
from tests.support.events import EventLog
from tests.support.mailgen import generate, make_message
from tests.sync.conftest import add_grant
from tidings.domain import EventType, FolderRole, GrantState
from tidings.store import MessageQuery, Store
from tidings.sync.supervisor import Supervisor

pytestmark = pytest.mark.dovecot


async def all_messages(store: Store, grant_id: str, folder_id: str | None = None) -> list:
    out = []
    token = None
    while True:
        page = await store.list_messages(grant_id, MessageQuery(
            limit=200, page_token=token, folder_id=folder_id))
        out.extend(page.items)
        token = page.next_page_token
        if token is None:
            return out


async def test_initial_sync_matches_server(dovecot: Dovecot, store: Store, events: EventLog,
                                           supervisor: Supervisor) -> None:
    user, password = dovecot.add_user()
    now = datetime.now(UTC)
    generated = list(generate(60, seed=7, days=120, now=now))
    for item in generated:
        dovecot.seed(user, [item.raw], folder=item.folder, when=item.when,
                     flags="S" if item.when.day % 2 else "")
    in_window = [g for g in generated if g.when > now - timedelta(days=90, hours=-1)]
    root = make_message(subject="Plan", message_id="<root@x>", when=now - timedelta(days=1),
                        attachment=("plan.pdf", b"%PDF-1.4 " * 100))
    reply = make_message(subject="Re: Plan", message_id="<reply@x>", in_reply_to="<root@x>",
                         when=now - timedelta(hours=2), html="<p>Sounds <b>good</b></p>")
    dovecot.seed(user, [root], when=now - timedelta(days=1), flags="F")
    dovecot.seed(user, [reply], folder="Sent", when=now - timedelta(hours=2))

    grant = await add_grant(store, dovecot, user, password)
    supervisor.start_grant(grant.id)
    done = await events.wait_type(EventType.GRANT_IMAP_SYNC_COMPLETED, grant.id, timeout=60)
    assert done.payload["messages"] == len(in_window) + 2
    # No per-message events for mail that was already there.
    assert not [e for e in events.seen if e.type.startswith("message.")]

    stored = await store.get_grant(grant.id)
    assert stored.state == GrantState.VALID
    lag_max, _ = supervisor.stats.lag(time.time())
    assert grant.id in supervisor.stats.synced_at and 0 <= lag_max < 60
    assert stored.progress.messages_done == stored.progress.messages_total == len(in_window) + 2
    folders = {f.name: f for f in await store.list_folders(grant.id)}
    assert {"INBOX", "Sent", "Drafts", "Trash", "Archive", "Junk"} <= set(folders)
    assert folders["Sent"].role == FolderRole.SENT and folders["INBOX"].role == FolderRole.INBOX
    for name in ("INBOX", "Sent", "Archive"):
        expected = {g.message_id for g in in_window if g.folder == name}
        got = await all_messages(store, grant.id, folders[name].id)
        extra = {"INBOX": {"<root@x>"}, "Sent": {"<reply@x>"}}.get(name, set())
        assert {m.message_id_header for m in got} == expected | extra, name
    everything = await all_messages(store, grant.id)
    by_mid = {m.message_id_header: m for m in everything}
    assert len(everything) == len(in_window) + 2
    for item in in_window:  # flags came through
        assert by_mid[item.message_id].unread == (item.when.day % 2 == 0)
    # Old mail (outside the 90-day window) is not stored.
    old = {g.message_id for g in generated} - {g.message_id for g in in_window}
    assert old and not old & set(by_mid)

    root_msg, reply_msg = by_mid["<root@x>"], by_mid["<reply@x>"]
    assert root_msg.starred and root_msg.unread
    assert [a.filename for a in root_msg.attachments] == ["plan.pdf"]
    assert root_msg.attachments[0].part == "2"
    assert root_msg.text_body is not None and "hello" in root_msg.text_body
    assert reply_msg.html_body is not None and "<b>good</b>" in reply_msg.html_body
    assert reply_msg.thread_id == root_msg.thread_id
    thread = await store.get_thread(root_msg.thread_id)
    assert set(thread.message_ids) == {root_msg.id, reply_msg.id}
    # Legacy charsets were decoded, not dropped.
    legacy = [m for m in everything if "Привет" in (m.text_body or "")
              or "こんにちは" in (m.text_body or "") or "Café" in (m.text_body or "")
              or "naïve" in (m.text_body or "")]
    assert legacy == [m for m in everything if m.subject.strip() in (
        "Café déjà vu", "naïve façade –", "Привет мир", "こんにちは世界")]
