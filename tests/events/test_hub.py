"""EventHub: many waiters, one wake-up per commit."""

from __future__ import annotations

import trio
import trio.testing

from tests.store import builders as b
from tidings.events import EventHub
from tidings.store import Store


async def test_wait_beyond_returns_at_once_when_the_log_is_ahead() -> None:
    hub = EventHub(10)
    with trio.fail_after(1):
        assert await hub.wait_beyond(9) == 10


async def test_many_waiters_wake_on_one_notify() -> None:
    hub = EventHub(5)
    woke: list[int] = []

    async def waiter(position: int) -> None:
        woke.append(await hub.wait_beyond(position))

    async with trio.open_nursery() as nursery:
        for _ in range(200):
            nursery.start_soon(waiter, 5)
        nursery.start_soon(waiter, 7)
        await trio.testing.wait_all_tasks_blocked()
        hub.notify(4)  # behind: ignored
        hub.notify(5)
        await trio.testing.wait_all_tasks_blocked()
        assert woke == []
        hub.notify(6)
        await trio.testing.wait_all_tasks_blocked()
        assert woke == [6] * 200
        hub.notify(8)
    assert woke == [6] * 200 + [8]
    assert hub.position == 8


async def test_a_hub_for_a_store_follows_its_commits(store: Store) -> None:
    await store.write(lambda tx: tx.append_event(b.event("g")))
    hub = await EventHub.for_store(store)
    assert hub.position == 1
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            store.write, lambda tx: [tx.append_event(b.event("g")) for _ in range(3)]
        )
        with trio.fail_after(5):
            assert await hub.wait_beyond(1) == 4
