"""EventService: the change stream, replayed from a cursor and then followed live.

The trio side (`EventFeed`) reads the log through `tidings.events.follow`, which makes
replay and live one ordered sequence: nothing is skipped or repeated at the seam. It
reaches the asyncio side through a bridged stream with a few batches of credit, so a slow
subscriber only falls behind in the log; nothing waits for it and nothing piles up.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from collections.abc import Set as AbstractSet
from contextlib import aclosing
from typing import Any, Final

from tidings.api.bridge import TrioBridge
from tidings.api.errors import FailedPrecondition, InvalidArgument, rpc
from tidings.api.event_objects import event_batches, event_from_log
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

__all__ = ["EventFeed", "EventServicer", "parse_types"]

READ_BATCH: Final = 500
CONVERTED_CACHE: Final = 20_000
# Batches in flight per subscriber between the trio and asyncio threads.
STREAM_CREDIT: Final = 4
_KNOWN_TYPES: Final = ", ".join(sorted(t.value for t in EventType))


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


class EventFeed:
    """The trio side of Subscribe: the log after a position as protobuf batches."""

    def __init__(self, store: Store, hub: EventHub, *, read_batch: int = READ_BATCH,
                 on_subscribers: Callable[[int], None] | None = None,
                 recent: RecentEvents | None = None) -> None:
        self._store = store
        self._hub = hub
        self._read_batch = read_batch
        self._on_subscribers = on_subscribers
        self._recent = recent
        # Subscribers at the head of the log send the same events: convert each once.
        self._converted: OrderedDict[int, events_pb2.Event] = OrderedDict()
        self.subscribers = 0

    def _convert(self, event: Event) -> events_pb2.Event:
        converted = self._converted.get(event.position)
        if converted is None:
            converted = self._converted[event.position] = event_from_log(event)
            if len(self._converted) > CONVERTED_CACHE:
                self._converted.popitem(last=False)
        return converted

    def _count(self, change: int) -> None:
        self.subscribers += change
        if self._on_subscribers is not None:
            self._on_subscribers(self.subscribers)

    async def batches(
        self,
        after: int | None,
        grant_ids: AbstractSet[str] | None,
        types: AbstractSet[EventType] | None,
    ) -> AsyncIterator[events_pb2.EventBatch]:
        """Batches of the events after `after` (None: from now), forever."""
        self._count(+1)
        try:
            if after is None:
                after = await self._store.last_position()
            async with aclosing(
                follow(self._store, self._hub, after, grant_ids=grant_ids, types=types,
                       batch=self._read_batch, recent=self._recent)
            ) as events:
                async for chunk in events:
                    for batch in event_batches(chunk, convert=self._convert):
                        yield batch
        except InvalidCursor as exc:
            raise InvalidArgument("cursor", str(exc)) from exc
        except CursorExpired as exc:
            raise FailedPrecondition(f"cursor: {exc}") from exc
        finally:
            self._count(-1)

    async def cursor_at(self, time: float) -> str:
        return encode_cursor(await self._store.position_at(time))


class EventServicer(events_pb2_grpc.EventServiceServicer):
    def __init__(self, bridge: TrioBridge, feed: EventFeed) -> None:
        self._bridge = bridge
        self._feed = feed

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
        grant_ids = check_ids("grant_ids", request.grant_ids) or None
        types = parse_types(request.types)
        stream = self._bridge.stream(
            self._feed.batches, after, grant_ids, types, buffer=STREAM_CREDIT
        )
        async with stream as batches:
            async for batch in batches:
                yield batch

    @rpc
    async def GetCursor(
        self, request: events_pb2.GetCursorRequest, context: Any
    ) -> events_pb2.GetCursorResponse:
        if request.time < 0:
            raise InvalidArgument("time", "must be Unix seconds, not negative")
        cursor = await self._bridge.call(self._feed.cursor_at, float(request.time))
        return events_pb2.GetCursorResponse(cursor=cursor)
