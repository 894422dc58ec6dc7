"""The retention sweeper."""

from __future__ import annotations

import time

import trio

from tests.store import builders as b
from tidings.events import purge_expired_events, run_event_retention
from tidings.store import Store


async def test_purge_expired_events_keeps_recent_ones(store: Store) -> None:
    await store.write(lambda tx: [tx.append_event(b.event("g")) for _ in range(4)])
    assert await purge_expired_events(store, 3600) == 0
    assert await purge_expired_events(store, 3600, now=lambda: time.time() + 7200) == 4
    assert await store.first_position() == 5


async def test_the_sweeper_purges_on_start_and_keeps_running(store: Store) -> None:
    await store.write(lambda tx: [tx.append_event(b.event("g")) for _ in range(4)])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_event_retention, store, 0.0, 3600.0)
        assert await store.read_events(0, 10) == []
        assert await store.first_position() == 5
        nursery.cancel_scope.cancel()
