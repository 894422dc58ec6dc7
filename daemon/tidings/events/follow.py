"""Following the event log: replay from a cursor, then live, as one ordered sequence."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from collections.abc import Set as AbstractSet

from tidings.domain import Event, EventType
from tidings.events.errors import CursorExpired, InvalidCursor
from tidings.events.hub import EventHub
from tidings.events.recent import RecentEvents
from tidings.store import Store

__all__ = ["follow"]


async def follow(
    store: Store,
    hub: EventHub,
    after: int,
    *,
    grant_ids: AbstractSet[str] | None = None,
    types: AbstractSet[EventType] | None = None,
    batch: int = 500,
    recent: RecentEvents | None = None,
) -> AsyncGenerator[list[Event], None]:
    """Yield the events after position `after` that pass the filters, in log order, in
    batches of at most `batch`, forever.

    Replay and live are the same loop: read the log up to its committed end, then wait for
    the hub to report a higher position. Nothing is held in memory for a subscriber, so a
    slow one just reads further behind in the log; writers never wait for it.
    Raises `CursorExpired` when retention has purged events the subscriber has not seen,
    also while it is following. Close it with `contextlib.aclosing`.

    With ``recent`` (the shared head of the log), a subscriber at the head is served from
    it instead of reading the store itself.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    if after < 0 or after > await store.last_position():
        raise InvalidCursor(f"cursor {after} is not a position of this log")
    position = after
    if recent is not None:
        # The shared head may still hold events retention has purged from the store:
        # a cursor from before the retained log has expired all the same.
        first = await store.first_position()
        if position < first - 1:
            raise CursorExpired(position, first)
    while True:
        if recent is not None and recent.covers(position):
            events, position = recent.read(position, batch, grant_ids, types)
            if events:
                yield events
            if position >= recent.end:
                await recent.wait_beyond(position)
            continue
        # Read to a fixed end: positions up to `end` are all committed (one writer commits
        # them in order), so after this read nothing at or below `end` can still appear.
        end = await store.last_position()
        events = await store.read_events(
            position, batch, grant_ids=grant_ids, types=types, through=end
        )
        # Checked after the read: had retention purged past `position` before the read,
        # the read would have skipped those events silently.
        first = await store.first_position()
        if position < first - 1:
            raise CursorExpired(position, first)
        if events:
            yield events
        if len(events) == batch:
            position = events[-1].position  # more may be waiting below `end`
            continue
        # Everything up to `end` is seen, including what the filters left out.
        position = end
        await hub.wait_beyond(position)
