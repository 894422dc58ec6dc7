"""`watch_events`: replay and live events as client values, filters, closing, and
resuming across a daemon restart with nothing missed or repeated."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
import trio

from tests.clients.conftest import ClientDaemon, EventReader, call, imap_session
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tidings.events import decode_cursor
from tidings_client import Event, InvalidArgument, Message, Tidings

pytestmark = pytest.mark.dovecot


def _created(subject: str) -> Callable[[Event], bool]:
    return lambda e: (e.type == "message.created" and isinstance(e.object, Message)
                      and e.object.subject == subject)


async def test_live_event_carries_the_changed_message(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    with client_daemon.client() as client:
        await call(client.create_connector, "mail")
        grant = await client_daemon.synced_grant(client, user, password)
        # Without a cursor it asks the daemon where the log ends: a blocking call.
        watch = functools.partial(client.watch_events, grant_ids=[grant.id])
        with await call(watch) as stream:
            reader = EventReader(stream, client_daemon.nursery)
            async with imap_session(dovecot, user, password) as imap:
                await imap.append("INBOX", make_message(subject="hello client",
                                                        message_id="<hello@client>"))
            event = await reader.next()
            assert stream.cursor == event.cursor
    assert isinstance(event, Event)
    assert (event.type, event.grant_id) == ("message.created", grant.id)
    assert isinstance(event.object, Message)
    assert event.object.subject == event.subject == "hello client"
    assert event.object_id == event.object.id
    assert abs((datetime.now(UTC) - event.created_at).total_seconds()) < 60


async def test_replay_from_a_time_with_a_type_filter(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    with client_daemon.client() as client:
        await call(client.create_connector, "mail")
        grant = await client_daemon.synced_grant(client, user, password)
        cursor = await call(client.get_cursor, datetime(2000, 1, 1, tzinfo=UTC))
        with client.watch_events(cursor=cursor, types=["grant.created",
                                                       "grant.imap_sync_completed"]) as stream:
            reader = EventReader(stream, client_daemon.nursery)
            first, second = await reader.next(), await reader.next()
    assert [(first.type, first.object_id), (second.type, second.grant_id)] == [
        ("grant.created", grant.id), ("grant.imap_sync_completed", grant.id)]
    assert first.object is not None and getattr(first.object, "email", None) == grant.email


async def test_a_malformed_cursor_raises_from_the_iteration(
        client_daemon: ClientDaemon) -> None:
    with client_daemon.client() as client:
        with client.watch_events(cursor="not a cursor") as stream, \
                pytest.raises(InvalidArgument) as malformed:
            await EventReader(stream, client_daemon.nursery).next()
        assert malformed.value.message.startswith("cursor:")
        assert stream.closed


async def test_close_from_another_thread_ends_a_blocked_iteration(
        client_daemon: ClientDaemon) -> None:
    with client_daemon.client() as client:
        stream = await call(client.watch_events)
        finished = threading.Event()

        def consume() -> list[Event]:
            try:
                return list(stream)
            finally:
                finished.set()

        async with trio.open_nursery() as nursery:
            result: list[list[Event]] = []

            async def run() -> None:
                result.append(await trio.to_thread.run_sync(consume))

            nursery.start_soon(run)
            # The consumer is blocked in the stream once the subscription is open.
            with trio.fail_after(10):
                while True:
                    if await _subscribers(client_daemon) > 0:
                        break
                    await trio.sleep(0.05)  # /metrics has no way to wait for a change
            stream.close()
            with trio.fail_after(10):
                await trio.to_thread.run_sync(finished.wait)
        assert result == [[]]


async def _subscribers(daemon: ClientDaemon) -> int:
    """Open event streams, as the daemon's /metrics counts them."""
    assert daemon.running is not None
    async with httpx.AsyncClient() as http:
        reply = await http.get(f"http://127.0.0.1:{daemon.running.web_port}/metrics")
    for line in reply.text.splitlines():
        if line.startswith("tidings_event_subscribers "):
            return int(float(line.split()[1]))
    raise AssertionError("no tidings_event_subscribers in /metrics")


async def test_resumes_across_a_daemon_restart_without_loss_or_repeat(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    client = Tidings(client_daemon.address, client_daemon.api_key, max_backoff=0.5)
    with client:
        await call(client.create_connector, "mail")
        grant = await client_daemon.synced_grant(client, user, password)
        start = await call(client.get_cursor)
        with client.watch_events(cursor=start, grant_ids=[grant.id]) as stream:
            reader = EventReader(stream, client_daemon.nursery)
            async with imap_session(dovecot, user, password) as imap:
                await imap.append("INBOX", make_message(subject="before restart",
                                                        message_id="<before@restart>"))
            await reader.wait_for(_created("before restart"))

            await client_daemon.stop()
            async with imap_session(dovecot, user, password) as imap:
                for n in (1, 2):
                    await imap.append("INBOX", make_message(subject=f"while down {n}",
                                                            message_id=f"<down{n}@restart>"))
                await imap.select("INBOX")
                uids = await imap.uid_search("SUBJECT", "before restart")
                await imap.uid_store(uids, "+FLAGS", ["\\Flagged"])
            await client_daemon.start()

            await reader.wait_for(_created("while down 1"))
            await reader.wait_for(_created("while down 2"))
            if not any(e.type == "message.updated" for e in reader.events):
                await reader.wait_for(lambda e: e.type == "message.updated")
            assert stream.reconnects >= 1

    received = [e.id for e in reader.events]
    after = decode_cursor(start)
    log = [e.id for e in await client_daemon.log()
           if e.position > after and e.grant_id == grant.id]
    # Exactly the log, in order, once each: the prefix up to the last event received.
    assert len(set(received)) == len(received)
    assert received == log[: len(received)]
    created = [e.subject or "" for e in reader.events if e.type == "message.created"]
    assert created[0] == "before restart"
    assert sorted(created[1:]) == ["while down 1", "while down 2"]
