"""The shared head of the log: followers served from it see exactly what the store holds,
whether they start behind it, inside it, or fall out of it."""

from __future__ import annotations

import random

import pytest
import trio

from tests.events.test_follow import _append, _collect, _random_writers
from tidings.domain import Event, EventType
from tidings.events import EventHub, RecentEvents
from tidings.store import Store


@pytest.mark.parametrize(("seed", "capacity"), [(1, 5), (2, 40), (3, 20_000)])
async def test_followers_through_the_shared_head_see_the_log(
        store: Store, seed: int, capacity: int) -> None:
    rng = random.Random(seed)
    await _append(store, 150)  # history older than the shared head
    hub = await EventHub.for_store(store)
    recent = RecentEvents(store, hub, capacity=capacity, read_batch=rng.randint(1, 50))
    total = 150 + 6 * 40
    results: dict[int, list[Event]] = {}
    done = trio.Event()

    async def follower(start: int, batch: int) -> None:
        results[start] = await _collect(store, hub, start, total, batch=batch, recent=recent)
        if len(results) == 3:
            done.set()

    async with trio.open_nursery() as nursery:
        await nursery.start(recent.run)
        for start in (0, 75, 150):
            nursery.start_soon(follower, start, rng.randint(1, 60))
        await _random_writers(store, rng, writers=6, each=40)
        with trio.fail_after(20):
            await done.wait()
        nursery.cancel_scope.cancel()
    expected = await store.read_events(0, 10_000)
    assert len(expected) == total
    for start, seen in results.items():
        assert seen == [e for e in expected if e.position > start], start


async def test_filters_apply_to_the_shared_head(store: Store) -> None:
    hub = await EventHub.for_store(store)
    recent = RecentEvents(store, hub)
    async with trio.open_nursery() as nursery:
        await nursery.start(recent.run)
        await _append(store, 5, grant_id="a", kind=EventType.MESSAGE_CREATED)
        await _append(store, 5, grant_id="b", kind=EventType.MESSAGE_DELETED)
        await _append(store, 1, grant_id="a", kind=EventType.MESSAGE_DELETED)
        with trio.fail_after(10):
            await recent.wait_beyond(10)
        assert recent.covers(0)
        events, end = recent.read(0, 100, {"a"}, {EventType.MESSAGE_DELETED})
        assert [(e.grant_id, e.type) for e in events] == [("a", EventType.MESSAGE_DELETED)]
        assert end == 11
        nursery.cancel_scope.cancel()
