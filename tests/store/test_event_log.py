"""The event log as the store keeps it: positions, filters, purging."""

from __future__ import annotations

import time

from tests.store import builders as b
from tidings.domain import EventType, NewEvent
from tidings.store import Store, WriteTx


async def test_events_keep_their_fields_and_order(store: Store) -> None:
    new = NewEvent(
        grant_id="g1",
        type=EventType.FOLDER_CREATED,
        object_id="f1",
        payload={"name": "Été", "count": 3, "nested": {"a": [1, None]}},
    )
    before = time.time()
    position = await store.write(lambda tx: tx.append_event(new))
    [stored] = await store.read_events(0, 10)
    assert (stored.position, stored.grant_id, stored.type, stored.object_id) == (
        position,
        "g1",
        EventType.FOLDER_CREATED,
        "f1",
    )
    assert stored.payload == new.payload
    assert before <= stored.created_at <= time.time()
    assert stored.id


async def test_read_events_filters_and_bounds(store: Store) -> None:
    def append(tx: WriteTx) -> None:
        for n in range(30):
            kind = EventType.MESSAGE_CREATED if n % 2 else EventType.MESSAGE_DELETED
            tx.append_event(b.event(f"g{n % 3}", kind))
        tx.append_event(b.event(None, EventType.GRANT_CREATED))

    await store.write(append)
    assert [e.position for e in await store.read_events(0, 5)] == [1, 2, 3, 4, 5]
    assert [e.position for e in await store.read_events(25, 100)] == [26, 27, 28, 29, 30, 31]
    assert [e.position for e in await store.read_events(0, 100, through=3)] == [1, 2, 3]
    by_grant = await store.read_events(0, 100, grant_ids={"g1"})
    assert [e.position for e in by_grant] == list(range(2, 31, 3))
    by_type = await store.read_events(
        0, 100, types={EventType.MESSAGE_CREATED, EventType.GRANT_CREATED}
    )
    assert [e.position for e in by_type] == [*range(2, 31, 2), 31]
    both = await store.read_events(0, 100, grant_ids={"g0"}, types={EventType.MESSAGE_CREATED})
    assert [e.position for e in both] == [4, 10, 16, 22, 28]
    assert await store.read_events(0, 100, grant_ids=set()) == []


async def test_positions_and_purging(store: Store) -> None:
    assert (await store.first_position(), await store.last_position()) == (1, 0)
    await store.write(lambda tx: [tx.append_event(b.event("g")) for _ in range(5)])
    cutoff = time.time()
    assert await store.position_at(cutoff) == 5  # nothing at or after the cutoff yet
    await store.write(lambda tx: [tx.append_event(b.event("g")) for _ in range(3)])
    assert await store.position_at(cutoff) == 5
    assert await store.position_at(0) == 0
    assert await store.write(lambda tx: tx.purge_events_before(cutoff)) == 5
    assert (await store.first_position(), await store.last_position()) == (6, 8)
    assert [e.position for e in await store.read_events(0, 100)] == [6, 7, 8]
    assert await store.write(lambda tx: tx.purge_events_before(cutoff)) == 0
    # Purging everything never lets a position be handed out twice.
    assert await store.write(lambda tx: tx.purge_events_before(time.time() + 1)) == 3
    assert (await store.first_position(), await store.last_position()) == (9, 8)
    assert await store.write(lambda tx: tx.append_event(b.event("g"))) == 9
