"""Connection slots: a provider's cap counted over every node sharing the database. On
both back ends: slots up to the cap and no more, given back, expired ones taken over,
renewed by their node, dropped when the node restarts; and `ClusterSlots` waiting for a
slot or refusing at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import pytest
import trio

from tests.cluster.conftest import FakeClock
from tests.store.builders import connector, grant
from tidings.store import Store, WriteTx
from tidings.sync.connection_slots import ClusterSlots

NOW = 1_800_000_000.0
T = TypeVar("T")


async def _grant(store: Store) -> str:
    owner = connector()
    made = grant(owner.id)

    def write(tx: WriteTx) -> None:
        tx.create_connector(owner)
        tx.create_grant(made)

    await store.write(write)
    return made.id


async def _take(store: Store, grant_id: str, node: str, holder: str, now: float = NOW,
                cap: int = 2) -> int | None:
    return await store.write(lambda tx: tx.take_connection_slot(
        grant_id, cap, node_id=node, holder=holder, now=now, until=now + 30))


async def test_the_cap_holds_over_nodes_and_freed_slots_are_reused(store: Store) -> None:
    grant_id = await _grant(store)
    assert await _take(store, grant_id, "a", "a:1") == 0
    assert await _take(store, grant_id, "b", "b:1") == 1
    assert await _take(store, grant_id, "a", "a:2") is None  # both slots held
    # Only the holder gives a slot back.
    await store.write(lambda tx: tx.release_connection_slot(grant_id, 0, "b:1"))
    assert await _take(store, grant_id, "b", "b:2") is None
    await store.write(lambda tx: tx.release_connection_slot(grant_id, 0, "a:1"))
    assert await _take(store, grant_id, "b", "b:2") == 0


async def test_expired_slots_are_taken_over_unless_renewed(store: Store) -> None:
    grant_id = await _grant(store)
    assert await _take(store, grant_id, "a", "a:1") == 0
    assert await _take(store, grant_id, "b", "b:1") == 1
    # a renews; b goes silent. After the first expiry only b's slot is free.
    assert await store.write(lambda tx: tx.renew_connection_slots("a", NOW + 60)) == 1
    later = NOW + 45
    assert await _take(store, grant_id, "c", "c:1", now=later) == 1
    assert await _take(store, grant_id, "c", "c:2", now=later) is None


async def test_a_restarted_node_drops_its_old_slots(store: Store) -> None:
    grant_id = await _grant(store)
    assert await _take(store, grant_id, "a", "a:1") == 0
    assert await _take(store, grant_id, "a", "a:2") == 1
    assert await store.write(lambda tx: tx.drop_node_slots("a")) == 2
    assert await _take(store, grant_id, "b", "b:1") == 0


class _CountedWrites:
    """The store, with an event set once `times` writes (each a request for a slot)
    have been answered."""

    def __init__(self, store: Store, times: int) -> None:
        self._store = store
        self._times = times
        self.answered = 0
        self.enough = trio.Event()

    async def write(self, fn: Callable[[WriteTx], T]) -> T:
        result = await self._store.write(fn)
        self.answered += 1
        if self.answered >= self._times:
            self.enough.set()
        return result


async def test_cluster_slots_wait_for_a_slot_or_refuse_at_once(store: Store) -> None:
    grant_id = await _grant(store)
    clock = FakeClock()
    first = ClusterSlots(store, "a", clock=clock)
    # The refusal below, then the waiter's first request and two more after a pause each.
    counted = _CountedWrites(store, times=4)
    second = ClusterSlots(cast(Store, counted), "b", clock=clock)
    held = await first.take(grant_id, 1)
    with pytest.raises(trio.WouldBlock):
        await second.take(grant_id, 1, wait=False)
    got: list[tuple[int, str]] = []

    async def waiter() -> None:
        got.append(await second.take(grant_id, 1))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        with trio.fail_after(10):
            await counted.enough.wait()  # the waiter asked again, and found the slot held
        assert not got
        await first.release(grant_id, *held)
    assert got and got[0][0] == 0
    assert counted.answered >= 5  # the request that got the slot came after the release
