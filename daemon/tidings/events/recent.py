"""The newest part of the log, read once and shared by every reader near the head.

Readers at the head of the log (the API's live head, subscribers replaying the last few
commits) would otherwise each read and decode the same rows. One task reads new events
as they are committed and keeps the newest ``capacity`` of them; `follow` serves a reader
from here while its position is inside the covered range and from the store otherwise
(replay of older events).
"""

from __future__ import annotations

import bisect
from collections.abc import Set as AbstractSet
from typing import Final, NoReturn

import trio

from tidings.domain import Event, EventType
from tidings.events.hub import EventHub
from tidings.log import get_logger
from tidings.store import Store, StoreError

log = get_logger("tidings.events")

# After a failed read of the log (the database restarting), try again this much later.
RETRY_AFTER: Final = 0.5

__all__ = ["RecentEvents"]


class RecentEvents:
    # Small on purpose: each event holds its payload's dicts and lists, and every object
    # kept alive lengthens each full garbage collection, a pause of all threads. Live
    # subscribers are served from converted events on the API side; this serves the
    # readers that are at most a few commits behind.
    def __init__(self, store: Store, hub: EventHub, *, capacity: int = 2_000,
                 read_batch: int = 2_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._store = store
        self._hub = hub
        self._capacity = capacity
        self._read_batch = read_batch
        self._events: list[Event] = []
        self._positions: list[int] = []
        # Every event with covered_after < position <= end is in `_events`.
        self._covered_after = -1
        self._end = -1
        self._grew = trio.Event()

    @property
    def end(self) -> int:
        return self._end

    def covers(self, position: int) -> bool:
        """Whether the events after ``position`` (up to `end`) are all held here."""
        return self._covered_after <= position <= self._end

    def read(self, after: int, limit: int, grant_ids: AbstractSet[str] | None,
             types: AbstractSet[EventType] | None) -> tuple[list[Event], int]:
        """Up to ``limit`` events after ``after`` that pass the filters, and the position
        up to which the log was looked at (the last event returned when the limit was
        reached, else `end`). Only call when `covers(after)`."""
        start = bisect.bisect_right(self._positions, after)
        if grant_ids is None and types is None:
            # Unfiltered, the common case: a slice, no per-event test.
            out = self._events[start:start + limit]
            if len(out) == limit:
                return out, out[-1].position
            return out, self._end
        out = []
        for event in self._events[start:]:
            if (grant_ids is None or event.grant_id in grant_ids) and (
                    types is None or event.type in types):
                out.append(event)
                if len(out) == limit:
                    return out, event.position
        return out, self._end

    async def wait_beyond(self, position: int) -> None:
        while self._end <= position:
            await self._grew.wait()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> NoReturn:
        self._end = self._covered_after = await self._store.last_position()
        task_status.started()
        while True:
            # The hub hears of a position only after its commit, so everything up to it
            # can be read; asking the store instead would cost a thread hop per commit.
            end = self._hub.position
            while self._end < end:
                try:
                    got = await self._store.read_events(self._end, self._read_batch,
                                                        through=end)
                except StoreError as exc:
                    # The database is unwell for now (a restart): subscribers wait a
                    # little; nothing is skipped, the read is tried again.
                    log.warning("events.head_read_failed", error=str(exc))
                    await trio.sleep(RETRY_AFTER)
                    continue
                self._append(got, end if len(got) < self._read_batch else got[-1].position)
            await self._hub.wait_beyond(self._end)

    def _append(self, events: list[Event], end: int) -> None:
        self._events.extend(events)
        self._positions.extend(e.position for e in events)
        self._end = end
        excess = len(self._events) - self._capacity
        if excess > self._capacity // 4:  # trim in chunks, not on every append
            self._covered_after = self._positions[excess - 1]
            del self._events[:excess]
            del self._positions[:excess]
        self._grew.set()
        self._grew = trio.Event()
