"""EventService over a real socket: replay, live changes made on Dovecot by another
client, resuming from a cursor, many subscribers, and the refusals."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
import trio

from tests.daemon.conftest import Daemon, Subscription, grant_request
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tests.support.smtpserver import SmtpServer
from tidings.domain import EventType, NewEvent
from tidings.events import encode_cursor, purge_expired_events
from tidings.imap import ConnectParams, open_imap
from tidings.v1 import events_pb2, grants_pb2

Code = grpc.StatusCode


async def _append(dovecot: Dovecot, user: str, password: str, subjects: list[str]) -> None:
    """Deliver mail the way another mail client would: APPEND on its own connection."""
    params = ConnectParams(host=dovecot.host, port=dovecot.tls_port, security="tls",
                           ssl_context=dovecot.ssl_context())
    async with open_imap(params) as client:
        await client.login(user, password)
        for subject in subjects:
            await client.append("INBOX", make_message(subject=subject))


async def _synced_grant(daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer,
                        subscription: Subscription) -> tuple[grants_pb2.Grant, str, str]:
    await daemon.create_connector()
    user, password = dovecot.add_user()
    grant = await daemon.call(daemon.grants.CreateGrant,
                              grant_request(dovecot, smtp_server, user, password))
    await subscription.wait_type("grant.imap_sync_completed", grant.id)
    return grant, user, password


def _subjects(subscription: Subscription) -> list[str]:
    return [e.message.subject for e in subscription.events if e.type == "message.created"]


async def test_sync_completed_then_live_message_created(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    subscription = daemon.subscribe(
        events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0)))
    grant, user, password = await _synced_grant(daemon, dovecot, smtp_server, subscription)
    await _append(dovecot, user, password, ["hello live"])
    created = await subscription.wait_type("message.created", grant.id)
    assert created.message.subject == "hello live"
    assert created.message.grant_id == grant.id
    assert created.object_id == created.message.id
    assert created.cursor
    # Every event carries its own cursor; a batch's cursor is its last event's.
    cursors = [e.cursor for e in subscription.events]
    assert len(set(cursors)) == len(cursors)
    assert subscription.cursor == cursors[-1]


async def test_without_cursor_the_stream_starts_now(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    replay = daemon.subscribe(events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0)))
    grant, _user, _password = await _synced_grant(daemon, dovecot, smtp_server, replay)
    live = daemon.subscribe()
    # Nothing tells when the stream has taken its starting point: write markers until
    # one arrives; none of the grant's earlier events may come before it.
    with trio.fail_after(30):
        while not live.events:
            await daemon.running.store.write(lambda tx: tx.append_event(NewEvent(
                grant_id=None, type=EventType.GRANT_UPDATED, object_id="marker")))
            with trio.move_on_after(0.5):
                await live.next_batch()
    assert {e.object_id for e in live.events} == {"marker"}
    assert all(e.grant_id != grant.id for e in live.events)


async def test_resume_from_last_cursor_misses_and_repeats_nothing(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    first = daemon.subscribe(events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0)))
    grant, user, password = await _synced_grant(daemon, dovecot, smtp_server, first)
    await _append(dovecot, user, password, ["one", "two"])
    await first.wait_for(lambda e: e.message.subject == "two")
    first.close()
    resume_at = first.cursor
    assert resume_at is not None
    seen_ids = [e.id for e in first.events]
    # Changes while disconnected.
    await _append(dovecot, user, password, ["three", "four"])
    second = daemon.subscribe(events_pb2.SubscribeRequest(cursor=resume_at))
    await second.wait_for(lambda e: e.message.subject == "four")
    await _append(dovecot, user, password, ["five"])
    await second.wait_for(lambda e: e.message.subject == "five")
    assert _subjects(first) == ["one", "two"]
    assert _subjects(second) == ["three", "four", "five"]
    assert not set(seen_ids) & {e.id for e in second.events}
    # Together they are exactly the log, in order.
    log = [e for e in await daemon.log()]
    combined = seen_ids + [e.id for e in second.events]
    assert combined == [e.id for e in log][: len(combined)]
    assert grant.id in {e.grant_id for e in second.events}


async def test_twenty_subscribers_see_the_same_sequence(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    start = await daemon.cursor_at(0)
    watcher = daemon.subscribe(events_pb2.SubscribeRequest(cursor=start))
    grant, user, password = await _synced_grant(daemon, dovecot, smtp_server, watcher)
    subscribers = [
        daemon.subscribe(events_pb2.SubscribeRequest(cursor=start, grant_ids=[grant.id]))
        for _ in range(20)
    ]
    await _append(dovecot, user, password, [f"m{i}" for i in range(5)])

    async def until_last(subscription: Subscription) -> None:
        await subscription.wait_for(lambda e: e.message.subject == "m4", seconds=60)

    async with trio.open_nursery() as nursery:
        for subscription in subscribers:
            nursery.start_soon(until_last, subscription)
    sequences = [[(e.id, e.cursor) for e in s.events] for s in subscribers]
    assert all(sequence == sequences[0] for sequence in sequences)
    assert [e.message.subject for e in subscribers[0].events
            if e.type == "message.created"] == [f"m{i}" for i in range(5)]
    assert {e.grant_id for e in subscribers[0].events} == {grant.id}


async def test_filters_by_type(daemon: Daemon, dovecot: Dovecot,
                               smtp_server: SmtpServer) -> None:
    watcher = daemon.subscribe(events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0)))
    only_grants = daemon.subscribe(events_pb2.SubscribeRequest(
        cursor=await daemon.cursor_at(0), types=["grant.imap_sync_completed"]))
    grant, _user, _password = await _synced_grant(daemon, dovecot, smtp_server, watcher)
    done = await only_grants.next_batch()
    assert [e.type for e in done.events] == ["grant.imap_sync_completed"]
    assert done.events[0].grant_id == grant.id


async def test_stale_cursor_is_failed_precondition(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    watcher = daemon.subscribe(events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0)))
    await _synced_grant(daemon, dovecot, smtp_server, watcher)
    old = encode_cursor(0)
    # Retention purges everything written so far.
    await purge_expired_events(daemon.running.store, 0, now=lambda: time.time() + 1)
    stale = daemon.subscribe(events_pb2.SubscribeRequest(cursor=old))
    with pytest.raises(grpc.RpcError) as caught:
        await stale.next_batch()
    assert caught.value.code() == Code.FAILED_PRECONDITION
    assert "older than the retained log" in caught.value.details()


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": encode_cursor(10**9)}, "cursor"),
        ({"types": ["message.exploded"]}, "types[0]"),
        ({"grant_ids": [""]}, "grant_ids[0]"),
        ({"grant_ids": ["g"] * 1001}, "grant_ids"),
    ],
)
async def test_malformed_subscriptions_are_invalid_argument(
        daemon: Daemon, request_fields: dict[str, Any], field: str) -> None:
    subscription = daemon.subscribe(events_pb2.SubscribeRequest(**request_fields))
    with pytest.raises(grpc.RpcError) as caught:
        await subscription.next_batch()
    assert caught.value.code() == Code.INVALID_ARGUMENT
    assert caught.value.details().startswith(f"{field}:"), caught.value.details()


async def test_get_cursor(daemon: Daemon) -> None:
    empty = await daemon.cursor_at(0)
    assert empty == encode_cursor(0)
    error = await daemon.failure(daemon.events.GetCursor, events_pb2.GetCursorRequest(time=-1))
    assert error.code() == Code.INVALID_ARGUMENT
    assert error.details().startswith("time:")
