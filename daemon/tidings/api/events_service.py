"""EventService: the change stream, replayed from a cursor and then followed live.

Two paths serve a subscriber, and it moves between them by its log position alone:

- Replay: the trio side (`EventFeed.replay`) reads the log through
  `tidings.events.follow`, which makes replay and live one ordered sequence, and hands
  batches over through a bridged stream with a few batches of credit. A slow subscriber
  only falls behind in the log; nothing waits for it and nothing piles up.
- The live head: one bridged stream for the whole service (`EventFeed.head_chunks`)
  carries each new event, converted once, to the asyncio side, where `LiveHead` keeps the
  newest of them. A subscriber whose position is inside that range is served from it on
  the asyncio loop, with no trio↔asyncio traffic of its own. With fifty subscribers at
  the head that traffic (two cross-thread wake-ups per subscriber per commit, each
  fighting for the GIL) was what delayed events and starved the store's writer thread.

A subscriber leaves the head when it falls out of the range (it stopped reading while
the head moved on; its gRPC writes wait, nothing else does) and replays from the log;
replay hands it back to the head as soon as its position is inside the range again.
Positions only move past events that were sent, so the switch repeats and skips nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from collections.abc import Set as AbstractSet
from contextlib import aclosing
from typing import Any, Final

import structlog

from tidings.api.bridge import TrioBridge
from tidings.api.errors import FailedPrecondition, InvalidArgument, rpc
from tidings.api.event_objects import MAX_BATCH_BYTES, event_batches, event_from_log
from tidings.api.requests import check_ids
from tidings.domain import Event, EventType
from tidings.events import (
    CursorExpired,
    EventHub,
    InvalidCursor,
    RecentEvents,
    decode_cursor,
    encode_cursor,
    follow,
)
from tidings.store import Store
from tidings.v1 import events_pb2, events_pb2_grpc

__all__ = ["EventFeed", "EventServicer", "LiveHead", "parse_types"]

log = structlog.get_logger(__name__)

READ_BATCH: Final = 500
# Conversions kept for replays near the head; the live head keeps its own.
CONVERTED_CACHE: Final = 2_000
# Chunks whose batches are kept for other subscribers reading the same chunk: enough for
# the few distinct chunks subscribers read at one moment, a few MB at most.
CHUNK_CACHE: Final = 32
# Batches in flight per replaying subscriber between the trio and asyncio threads.
STREAM_CREDIT: Final = 4
# Events the live head keeps: a subscriber this far behind replays from the log instead.
HEAD_CAPACITY: Final = 10_000
# Chunks in flight from the log to the live head.
HEAD_CREDIT: Final = 8
_KNOWN_TYPES: Final = ", ".join(sorted(t.value for t in EventType))

# Where a chunk starts and ends, and the subscriber's filters (grant ids, type names).
_ChunkKey = tuple[int, int, frozenset[str] | None, frozenset[str] | None]


def parse_types(names: Sequence[str]) -> frozenset[EventType] | None:
    """The event types asked for, or None for all."""
    if len(names) > len(EventType):
        raise InvalidArgument("types", f"at most {len(EventType)} entries")
    types: set[EventType] = set()
    for index, name in enumerate(names):
        try:
            types.add(EventType(name))
        except ValueError:
            raise InvalidArgument(
                f"types[{index}]", f"unknown event type {name[:60]!r} (known: {_KNOWN_TYPES})"
            ) from None
    return frozenset(types) or None


def _cached(cache: OrderedDict[_ChunkKey, list[events_pb2.EventBatch]], key: _ChunkKey,
            build: Callable[[], list[events_pb2.EventBatch]]) -> list[events_pb2.EventBatch]:
    """Subscribers reading the same chunk with the same filters are sent the same
    batches, built once. gRPC only reads them, and nothing here changes one once built."""
    batches = cache.get(key)
    if batches is None:
        batches = cache[key] = build()
        if len(cache) > CHUNK_CACHE:
            cache.popitem(last=False)
    return batches


def _type_names(types: AbstractSet[EventType] | None) -> frozenset[str] | None:
    return None if types is None else frozenset(t.value for t in types)


class EventFeed:
    """The trio side of Subscribe: the log as protobuf batches, for replay and for the
    live head."""

    def __init__(self, store: Store, hub: EventHub, *, read_batch: int = READ_BATCH,
                 on_subscribers: Callable[[int], None] | None = None,
                 recent: RecentEvents | None = None) -> None:
        self._store = store
        self._hub = hub
        self._read_batch = read_batch
        self._on_subscribers = on_subscribers
        self._recent = recent
        # Replay and the live head send the same events: convert each once.
        self._converted: OrderedDict[int, events_pb2.Event] = OrderedDict()
        self._chunks: OrderedDict[_ChunkKey, list[events_pb2.EventBatch]] = OrderedDict()
        self.subscribers = 0

    def _convert(self, event: Event) -> events_pb2.Event:
        converted = self._converted.get(event.position)
        if converted is None:
            converted = self._converted[event.position] = event_from_log(event)
            if len(self._converted) > CONVERTED_CACHE:
                self._converted.popitem(last=False)
        return converted

    def _batches(self, chunk: list[Event]) -> list[events_pb2.EventBatch]:
        return list(event_batches(chunk, convert=self._convert))

    def count(self, change: int) -> None:
        """Open streams went up or down by `change` (called on the gRPC thread)."""
        self.subscribers += change
        if self._on_subscribers is not None:
            self._on_subscribers(self.subscribers)

    async def start_position(self, after: int | None) -> int:
        """Where a subscription starts: `after` once checked, or the end of the log."""
        end = await self._store.last_position()
        if after is None:
            return end
        if after > end:
            raise InvalidArgument("cursor", f"cursor {after} is not a position of this log")
        first = await self._store.first_position()
        if after < first - 1:
            raise FailedPrecondition(f"cursor: {CursorExpired(after, first)}")
        return after

    async def last_position(self) -> int:
        return await self._store.last_position()

    async def replay(
        self,
        after: int,
        grant_ids: frozenset[str] | None,
        types: frozenset[EventType] | None,
    ) -> AsyncGenerator[tuple[int, list[events_pb2.EventBatch]], None]:
        """The events after `after` that pass the filters, forever, as (position of the
        last event, its chunk's batches)."""
        type_names = _type_names(types)
        try:
            async with aclosing(
                follow(self._store, self._hub, after, grant_ids=grant_ids, types=types,
                       batch=self._read_batch, recent=self._recent)
            ) as events:
                async for chunk in events:
                    # With the same filters, a chunk's first and last positions fix its
                    # content: every event between them that passes the filters.
                    key = (chunk[0].position, chunk[-1].position, grant_ids, type_names)
                    yield chunk[-1].position, _cached(
                        self._chunks, key, functools.partial(self._batches, chunk))
        except InvalidCursor as exc:
            raise InvalidArgument("cursor", str(exc)) from exc
        except CursorExpired as exc:
            raise FailedPrecondition(f"cursor: {exc}") from exc

    async def head_chunks(self, after: int
                          ) -> AsyncGenerator[tuple[list[int], list[events_pb2.Event]], None]:
        """Every event after `after`, converted, forever, as (positions, events)."""
        async with aclosing(
            follow(self._store, self._hub, after, batch=self._read_batch, recent=self._recent)
        ) as events:
            async for chunk in events:
                yield [e.position for e in chunk], [self._convert(e) for e in chunk]

    async def cursor_at(self, time: float) -> str:
        return encode_cursor(await self._store.position_at(time))


class LiveHead:
    """The newest events of the log on the asyncio side, shared by every subscriber that
    follows the head. Used on the gRPC thread only."""

    def __init__(self, capacity: int = HEAD_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._events: list[events_pb2.Event] = []
        self._positions: list[int] = []
        self._sizes: list[int] = []
        # Every event with covered_after < position <= end is in `_events`.
        self._covered_after = -1
        self._end = -1
        self._running = False
        self._grew = asyncio.Event()
        self._chunks: OrderedDict[_ChunkKey, list[events_pb2.EventBatch]] = OrderedDict()

    @property
    def end(self) -> int:
        return self._end

    @property
    def running(self) -> bool:
        return self._running

    def covers(self, position: int) -> bool:
        """Whether the events after `position` (up to `end`) are all held here."""
        return self._running and self._covered_after <= position <= self._end

    def start(self, position: int) -> None:
        """Begin empty at log position `position`."""
        self._events, self._positions, self._sizes = [], [], []
        self._chunks.clear()
        self._covered_after = self._end = position
        self._running = True
        self._wake()

    def stop(self) -> None:
        """Nothing more arrives: subscribers waiting here go back to replay."""
        self._running = False
        self._wake()

    def append(self, positions: list[int], events: list[events_pb2.Event]) -> None:
        """The next events of the log, in order, right after `end`."""
        if not events:
            return
        self._events.extend(events)
        self._positions.extend(positions)
        # The field's tag and length come on top of the event itself.
        self._sizes.extend(event.ByteSize() + 8 for event in events)
        self._end = positions[-1]
        excess = len(self._events) - self._capacity
        if excess > self._capacity // 4:  # trim in chunks, not on every append
            self._covered_after = self._positions[excess - 1]
            del self._events[:excess], self._positions[:excess], self._sizes[:excess]
        self._wake()

    def _wake(self) -> None:
        self._grew.set()
        self._grew = asyncio.Event()

    async def wait_beyond(self, position: int) -> None:
        """Until the head reaches past `position`, or stops."""
        while self._running and self._end <= position:
            await self._grew.wait()

    def read(self, after: int, grant_ids: frozenset[str] | None,
             type_names: frozenset[str] | None) -> tuple[list[events_pb2.EventBatch], int]:
        """Batches of up to READ_BATCH events after `after` that pass the filters, and the
        position up to which the log was looked at. Only call when `covers(after)`."""
        start = bisect.bisect_right(self._positions, after)
        stop = min(start + READ_BATCH, len(self._events))
        if stop == start:
            return [], self._end
        through = self._positions[stop - 1]
        key = (after, through, grant_ids, type_names)
        return _cached(self._chunks, key,
                       lambda: self._pack(start, stop, grant_ids, type_names)), through

    def _pack(self, start: int, stop: int, grant_ids: frozenset[str] | None,
              type_names: frozenset[str] | None) -> list[events_pb2.EventBatch]:
        batches: list[events_pb2.EventBatch] = []
        batch, size = events_pb2.EventBatch(), 0
        for index in range(start, stop):
            event = self._events[index]
            if (grant_ids is not None and event.grant_id not in grant_ids) or (
                    type_names is not None and event.type not in type_names):
                continue
            grown = self._sizes[index]
            if batch.events and size + grown > MAX_BATCH_BYTES:
                batch.cursor = batch.events[-1].cursor
                batches.append(batch)
                batch, size = events_pb2.EventBatch(), 0
            batch.events.append(event)
            size += grown
        if batch.events:
            batch.cursor = batch.events[-1].cursor
            batches.append(batch)
        return batches


class EventServicer(events_pb2_grpc.EventServiceServicer):
    def __init__(self, bridge: TrioBridge, feed: EventFeed, *,
                 head_capacity: int = HEAD_CAPACITY) -> None:
        self._bridge = bridge
        self._feed = feed
        self._head = LiveHead(head_capacity)
        self._head_task: asyncio.Task[None] | None = None

    def _ensure_head(self) -> None:
        """Start the live head with the first subscriber, and again after it stopped."""
        if self._head_task is None or self._head_task.done():
            self._head_task = asyncio.get_running_loop().create_task(self._run_head())

    async def _run_head(self) -> None:
        try:
            start = await self._bridge.call(self._feed.last_position)
            self._head.start(start)
            async with self._bridge.stream(self._feed.head_chunks, start,
                                           buffer=HEAD_CREDIT) as chunks:
                async for positions, events in chunks:
                    self._head.append(positions, events)
        except Exception as exc:
            # The daemon is stopping, or the log could not be read: subscribers replay,
            # and replay reports the failure to them.
            log.warning("events.live_head_stopped", error=str(exc))
        finally:
            self._head.stop()

    @rpc
    async def Subscribe(
        self, request: events_pb2.SubscribeRequest, context: Any
    ) -> AsyncIterator[events_pb2.EventBatch]:
        after = None
        # An empty cursor is "no cursor": some languages cannot tell the two apart.
        if request.HasField("cursor") and request.cursor:
            try:
                after = decode_cursor(request.cursor)
            except InvalidCursor as exc:
                raise InvalidArgument("cursor", str(exc)) from None
        ids = check_ids("grant_ids", request.grant_ids)
        grant_ids = frozenset(ids) if ids else None
        types = parse_types(request.types)
        type_names = _type_names(types)
        self._ensure_head()
        position = await self._bridge.call(self._feed.start_position, after)
        head = self._head
        self._feed.count(+1)
        try:
            while True:
                if head.covers(position):
                    batches, looked_at = head.read(position, grant_ids, type_names)
                    for batch in batches:
                        yield batch
                    position = looked_at
                    if position >= head.end:
                        await head.wait_beyond(position)
                    continue
                stream = self._bridge.stream(self._feed.replay, position, grant_ids, types,
                                             buffer=STREAM_CREDIT)
                async with stream as chunks:
                    async for last, batches in chunks:
                        for batch in batches:
                            yield batch
                        position = last
                        if head.covers(position):
                            break
        finally:
            self._feed.count(-1)

    @rpc
    async def GetCursor(
        self, request: events_pb2.GetCursorRequest, context: Any
    ) -> events_pb2.GetCursorResponse:
        if request.time < 0:
            raise InvalidArgument("time", "must be Unix seconds, not negative")
        cursor = await self._bridge.call(self._feed.cursor_at, float(request.time))
        return events_pb2.GetCursorResponse(cursor=cursor)
