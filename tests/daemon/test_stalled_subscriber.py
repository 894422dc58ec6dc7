"""A subscriber that stops reading, over a real socket, while more events pile up than
gRPC's flow-control windows hold: sync, writers and the other subscribers go on, and the
stalled one, once it reads again, gets every event in order.

How much a stream that is not read absorbs was measured on loopback with default channel
options (HTTP/2 stream and connection windows grown by BDP probing, plus socket buffers):
about 8 MB, after which the server's writes wait. The backlog here is over three times
that, so the daemon's side of the stalled stream really has to stop and fall behind; and
it is more than the API's live head keeps, so the stalled subscriber comes back by
replaying the log from the store, then returns to the head.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, Final

import grpc
import trio

from tests.daemon.conftest import Daemon, grant_request
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tests.support.smtpserver import SmtpServer
from tidings.api.events_service import HEAD_CAPACITY, READ_BATCH
from tidings.domain import EventType, NewEvent
from tidings.imap import ConnectParams, open_imap
from tidings.store import WriteTx
from tidings.v1 import events_pb2, events_pb2_grpc

# What the windows and buffers of one unread stream absorb, measured (see the docstring).
ABSORBED_BYTES: Final = 8 * 1024 * 1024
SNIPPET_BYTES: Final = 1536
# More events than the live head keeps (it trims to HEAD_CAPACITY once a quarter more have
# come) on top of those the windows take off the daemon's hands: the stalled subscriber
# has to replay from the log when it reads again. That is also over three times what the
# windows hold (checked at the end).
BULK_EVENTS: Final = (HEAD_CAPACITY + HEAD_CAPACITY // 4 + ABSORBED_BYTES // SNIPPET_BYTES
                      + READ_BATCH)
PER_WRITE: Final = 500
DEADLINE: Final = 120.0


def _bulk_event(grant_id: str, index: int) -> NewEvent:
    return NewEvent(grant_id=grant_id, type=EventType.MESSAGE_UPDATED, object_id=f"bulk-{index}",
                    payload={"id": f"bulk-{index}", "grant_id": grant_id,
                             "subject": f"bulk {index}", "snippet": "x" * SNIPPET_BYTES})


def _append_bulk(grant_id: str, start: int, count: int, tx: WriteTx) -> None:
    for index in range(start, start + count):
        tx.append_event(_bulk_event(grant_id, index))


def _read_until(stream: Iterator[events_pb2.EventBatch],
                done: Callable[[events_pb2.Event], bool]) -> list[events_pb2.EventBatch]:
    """Blocking: batches from the stream up to the one holding an event that is `done`."""
    batches = []
    for batch in stream:
        batches.append(batch)
        if any(done(event) for event in batch.events):
            return batches
    raise AssertionError("the stream ended before the awaited event")


async def _deliver(dovecot: Dovecot, user: str, password: str, subject: str) -> None:
    """New mail as another client would put it there: APPEND on its own connection."""
    params = ConnectParams(host=dovecot.host, port=dovecot.tls_port, security="tls",
                           ssl_context=dovecot.ssl_context())
    async with open_imap(params) as client:
        await client.login(user, password)
        await client.append("INBOX", make_message(subject=subject))


def _through(events: list[events_pb2.Event], subject: str) -> list[events_pb2.Event]:
    ends = [i for i, e in enumerate(events) if _is_created(subject)(e)]
    assert len(ends) == 1, f"{subject!r} was received {len(ends)} times"
    return events[:ends[0] + 1]


def _is_created(subject: str) -> Callable[[events_pb2.Event], bool]:
    return lambda e: e.type == "message.created" and e.message.subject == subject


async def test_a_stalled_subscriber_blocks_nobody_and_loses_nothing(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    watcher = daemon.subscribe(events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0)))
    await daemon.create_connector()
    user, password = dovecot.add_user()
    grant = await daemon.call(daemon.grants.CreateGrant,
                              grant_request(dovecot, smtp_server, user, password))
    await watcher.wait_type("grant.imap_sync_completed", grant.id)
    watcher.close()
    start = watcher.cursor
    assert start is not None

    live = daemon.subscribe(events_pb2.SubscribeRequest(cursor=start), timeout=DEADLINE)
    # The stalled subscriber has a connection of its own, as a separate client would: the
    # connection-level window is then its own too, and the test is about the stream
    # windows and the daemon, not about sharing one connection.
    channel = grpc.insecure_channel(f"127.0.0.1:{daemon.running.grpc_port}")
    stalled: Any = events_pb2_grpc.EventServiceStub(channel).Subscribe(
        events_pb2.SubscribeRequest(cursor=start), metadata=daemon.auth, timeout=DEADLINE)
    try:
        # Both follow the live log; then the stalled one stops reading.
        await _deliver(dovecot, user, password, "before")
        await live.wait_for(_is_created("before"), seconds=DEADLINE)
        with trio.fail_after(30):
            received = await trio.to_thread.run_sync(
                _read_until, stalled, _is_created("before"), abandon_on_cancel=True)

        # The backlog: writers are never held up by the subscriber that does not read.
        store = daemon.running.store
        with trio.fail_after(DEADLINE):
            for first in range(0, BULK_EVENTS, PER_WRITE):
                count = min(PER_WRITE, BULK_EVENTS - first)
                await store.write(functools.partial(_append_bulk, grant.id, first, count))
        # Nor is sync: new mail still becomes an event, and the other subscriber gets
        # everything up to it at once.
        await _deliver(dovecot, user, password, "after")
        await live.wait_for(_is_created("after"), seconds=60)
        bulk = [e.object_id for e in live.events if e.object_id.startswith("bulk-")]
        assert bulk == [f"bulk-{i}" for i in range(BULK_EVENTS)]

        # The stalled subscriber reads again and gets the same sequence, to the event.
        with trio.fail_after(DEADLINE):
            received += await trio.to_thread.run_sync(
                _read_until, stalled, _is_created("after"), abandon_on_cancel=True)
    finally:
        stalled.cancel()
        channel.close()
    # Batches may be cut differently for the two; the events up to "after" are the same.
    events = _through([event for batch in received for event in batch.events], "after")
    assert [(e.id, e.cursor) for e in events] == [
        (e.id, e.cursor) for e in _through(live.events, "after")]
    assert [batch.cursor for batch in received] == [batch.events[-1].cursor
                                                    for batch in received]
    log = [e.id for e in await daemon.log()]
    assert [e.id for e in events] == log[log.index(events[0].id):log.index(events[-1].id) + 1]
    # The backlog really was more than the windows could have taken off the daemon's hands.
    backlog = sum(batch.ByteSize() for batch in received)
    assert backlog > 3 * ABSORBED_BYTES * 0.9
