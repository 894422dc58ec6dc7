"""follow(): replay from a cursor, then live, with no gap and no repeat at the seam."""

from __future__ import annotations

import random
import time
from contextlib import aclosing

import pytest
import trio
import trio.testing

from tests.store import builders as b
from tidings.domain import Event, EventType
from tidings.events import CursorExpired, EventHub, InvalidCursor, follow
from tidings.store import Store, WriteTx

KINDS = [EventType.MESSAGE_CREATED, EventType.MESSAGE_UPDATED, EventType.MESSAGE_DELETED]


async def _append(
    store: Store, count: int, grant_id: str = "g", kind: EventType = KINDS[0]
) -> None:
    await store.write(lambda tx: [tx.append_event(b.event(grant_id, kind)) for _ in range(count)])


async def _collect(
    store: Store, hub: EventHub, after: int, until: int, **options: object
) -> list[Event]:
    """Follow from `after` until an event at or past position `until` arrives."""
    seen: list[Event] = []
    with trio.fail_after(20):
        async with aclosing(follow(store, hub, after, **options)) as stream:  # type: ignore[arg-type]
            async for batch in stream:
                assert batch
                seen.extend(batch)
                if seen[-1].position >= until:
                    return seen
    raise AssertionError("the stream ended")


async def _random_writers(store: Store, rng: random.Random, writers: int, each: int) -> None:
    async def writer(seed: int) -> None:
        local = random.Random(seed)
        written = 0
        while written < each:
            count = min(local.randint(1, 5), each - written)
            grant_id = f"g{local.randint(0, 3)}"
            kind = local.choice(KINDS)

            def fn(
                tx: WriteTx, count: int = count, grant_id: str = grant_id, kind: EventType = kind
            ) -> None:
                for _ in range(count):
                    tx.append_event(b.event(grant_id, kind))

            await store.write(fn)
            written += count
            for _ in range(local.randint(0, 3)):
                await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        for _ in range(writers):
            nursery.start_soon(writer, rng.getrandbits(32))


@pytest.mark.parametrize("seed", range(5))
async def test_replay_then_live_has_no_gap_and_no_repeat(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    await _append(store, rng.randint(0, 700))  # some history to replay
    hub = await EventHub.for_store(store)
    start = rng.randint(0, await store.last_position())
    total = await store.last_position() + 10 * 60
    results: list[list[Event]] = []

    async def follower() -> None:
        results.append(await _collect(store, hub, start, total, batch=rng.randint(1, 300)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(follower)
        await _random_writers(store, rng, writers=10, each=60)
    [seen] = results
    assert [e.position for e in seen] == list(range(start + 1, total + 1))


async def test_twenty_followers_see_the_same_sequence(store: Store) -> None:
    await _append(store, 100)
    hub = await EventHub.for_store(store)
    total = 100 + 8 * 50
    results: list[list[Event]] = []

    async def follower(batch: int) -> None:
        results.append(await _collect(store, hub, 0, total, batch=batch))

    async with trio.open_nursery() as nursery:
        for n in range(20):
            nursery.start_soon(follower, 1 + n * 37)
        await _random_writers(store, random.Random(7), writers=8, each=50)
    assert len(results) == 20
    expected = await store.read_events(0, 10_000)
    assert len(expected) == total
    for seen in results:
        assert seen == expected


async def test_filters_select_grants_and_types(store: Store) -> None:
    hub = await EventHub.for_store(store)
    await _append(store, 5, "g1", EventType.MESSAGE_CREATED)
    await _append(store, 5, "g2", EventType.MESSAGE_CREATED)

    async def later() -> None:
        await trio.testing.wait_all_tasks_blocked()
        await _append(store, 500, "g2", EventType.MESSAGE_UPDATED)  # all filtered out
        await _append(store, 3, "g1", EventType.MESSAGE_DELETED)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(later)
        seen = await _collect(
            store,
            hub,
            0,
            513,
            grant_ids={"g1"},
            types={EventType.MESSAGE_CREATED, EventType.MESSAGE_DELETED},
            batch=2,
        )
    assert [e.position for e in seen] == [1, 2, 3, 4, 5, 511, 512, 513]


async def test_a_slow_follower_never_blocks_writers(store: Store) -> None:
    hub = await EventHub.for_store(store)
    await _append(store, 10)
    async with aclosing(follow(store, hub, 0, batch=4)) as stream:
        first = await anext(stream)  # then the follower stops reading for a while
        with trio.fail_after(10):
            for _ in range(200):
                await _append(store, 5)
        rest: list[Event] = []
        async for batch in stream:
            rest.extend(batch)
            if rest[-1].position == 1010:
                break
    assert [e.position for e in first + rest] == list(range(1, 1011))


async def test_a_cursor_older_than_the_log_has_expired(store: Store) -> None:
    hub = await EventHub.for_store(store)
    await _append(store, 10)
    await store.write(lambda tx: tx.purge_events_before(time.time() + 1))
    await _append(store, 2)
    with pytest.raises(CursorExpired) as info:
        await _collect(store, hub, 5, 12)
    assert (info.value.position, info.value.first_position) == (5, 11)
    # Right at the purge mark nothing was lost.
    assert [e.position for e in await _collect(store, hub, 10, 12)] == [11, 12]


async def test_retention_overtaking_a_follower_expires_it(store: Store) -> None:
    hub = await EventHub.for_store(store)
    await _append(store, 10)
    async with aclosing(follow(store, hub, 0, batch=3)) as stream:
        assert [e.position for e in await anext(stream)] == [1, 2, 3]
        await store.write(lambda tx: tx.purge_events_before(time.time() + 1))
        with pytest.raises(CursorExpired):
            await anext(stream)


async def test_cursors_beyond_the_log_are_refused(store: Store) -> None:
    hub = await EventHub.for_store(store)
    await _append(store, 3)
    for bad in (4, -1):
        with pytest.raises(InvalidCursor):
            await _collect(store, hub, bad, 10)
