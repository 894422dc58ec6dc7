"""The two paths of Subscribe without a socket: `EventFeed.replay` (trio) and `LiveHead`
(asyncio). Subscribers reading the same chunk share its batches, built once; every
subscriber still gets exactly its events."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
import trio

from tests.events.test_follow import _append
from tidings.api.errors import FailedPrecondition, InvalidArgument
from tidings.api.event_objects import event_from_log
from tidings.api.events_service import EventFeed, LiveHead
from tidings.domain import Event, EventType
from tidings.events import EventHub, encode_cursor, purge_expired_events
from tidings.store import Store
from tidings.v1 import events_pb2


async def _first_chunk(feed: EventFeed, after: int, grant_ids: set[str] | None = None,
                       types: set[EventType] | None = None
                       ) -> tuple[int, list[events_pb2.EventBatch]]:
    with trio.fail_after(10):
        async with aclosing(feed.replay(
                after, None if grant_ids is None else frozenset(grant_ids),
                None if types is None else frozenset(types))) as chunks:
            async for chunk in chunks:
                return chunk
    raise AssertionError("the feed ended")


def _ids(batches: list[events_pb2.EventBatch]) -> list[str]:
    return [event.id for batch in batches for event in batch.events]


async def test_replays_of_the_same_chunk_share_its_batches(store: Store) -> None:
    await _append(store, 6, grant_id="a")
    await _append(store, 4, grant_id="b", kind=EventType.MESSAGE_DELETED)
    log = await store.read_events(0, 100)
    feed = EventFeed(store, await EventHub.for_store(store))

    last, first = await _first_chunk(feed, 0)
    assert last == 10
    assert _ids(first) == [e.id for e in log]
    assert first[-1].cursor == encode_cursor(10)
    # The same chunk for another subscriber: the very same messages, not copies.
    assert (await _first_chunk(feed, 0))[1] is first

    # Other chunks, other filters: batches of their own, each with exactly its events.
    assert _ids((await _first_chunk(feed, 4))[1]) == [e.id for e in log[4:]]
    assert _ids((await _first_chunk(feed, 0, {"a"}))[1]) == [e.id for e in log[:6]]
    last, deleted = await _first_chunk(feed, 0, None, {EventType.MESSAGE_DELETED})
    assert (last, _ids(deleted)) == (10, [e.id for e in log[6:]])
    # A shared batch is what each subscriber would have been sent on its own.
    assert list(first[0].events) == [event_from_log(e) for e in log]


async def test_start_positions_are_checked(store: Store) -> None:
    await _append(store, 3)
    feed = EventFeed(store, await EventHub.for_store(store))
    assert await feed.start_position(None) == 3
    assert await feed.start_position(1) == 1
    with pytest.raises(InvalidArgument, match="cursor"):
        await feed.start_position(4)
    await purge_expired_events(store, 0, now=lambda: 10**10)
    with pytest.raises(FailedPrecondition, match="older than the retained log"):
        await feed.start_position(1)
    assert await feed.start_position(3) == 3


def _events(log: list[Event]) -> tuple[list[int], list[events_pb2.Event]]:
    return [e.position for e in log], [event_from_log(e) for e in log]


async def test_the_live_head_serves_what_it_covers(store: Store) -> None:
    await _append(store, 6, grant_id="a")
    await _append(store, 6, grant_id="b", kind=EventType.MESSAGE_DELETED)
    log = await store.read_events(0, 100)

    def run() -> None:
        async def scenario() -> None:
            head = LiveHead(capacity=6)
            assert not head.covers(0)
            head.start(2)
            assert head.covers(2) and not head.covers(1) and not head.covers(3)
            waiter = asyncio.create_task(head.wait_beyond(2))
            head.append(*_events(log[2:8]))
            await asyncio.wait_for(waiter, 5)
            batches, through = head.read(2, None, None)
            assert (_ids(batches), through) == ([e.id for e in log[2:8]], 8)
            # Everyone at the same place with the same filters gets the same batches.
            assert head.read(2, None, None)[0] is batches
            only_b, through = head.read(4, frozenset({"b"}), None)
            assert (_ids(only_b), through) == ([e.id for e in log[6:8]], 8)
            none, through = head.read(4, None, frozenset({"folder.created"}))
            assert (none, through) == ([], 8)
            assert head.read(8, None, None) == ([], 8)
            # Past its capacity it lets the oldest go: those positions replay instead.
            head.append(*_events(log[8:12]))
            assert not head.covers(5)
            assert head.covers(6)
            assert _ids(head.read(6, None, None)[0]) == [e.id for e in log[6:12]]
            head.stop()
            assert not head.covers(12)
            await asyncio.wait_for(head.wait_beyond(12), 5)  # a stopped head waits for nobody

        asyncio.run(scenario())

    await trio.to_thread.run_sync(run)
