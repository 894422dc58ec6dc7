"""Following the change stream across disconnects, without missing or repeating events.

Every event carries its own cursor (its position in the daemon's durable log). The
stream remembers the cursor of the last event it handed out; when the connection drops
or the daemon restarts, it subscribes again from that cursor after a capped, jittered
backoff, and the daemon replays the log from there. So the events seen are exactly the
log, in order, once each — whatever happened to the connection in between.

A stream started without a cursor first asks for the end of the log, so even a drop
before the first event loses nothing.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self

import grpc

from tidings.v1 import events_pb2
from tidings_client._convert import event_from_proto
from tidings_client._requests import subscribe_request
from tidings_client.errors import TidingsError, error_from_rpc
from tidings_client.models import Event

__all__ = ["AsyncEventStream", "Backoff", "EventStream", "is_reconnectable"]

# Codes that mean "the connection or the daemon went away", not "your request is wrong":
# a daemon that shuts down cancels its open streams (CANCELLED) and is then gone
# (UNAVAILABLE); ABORTED is gRPC's "retry the whole operation".
_RECONNECT_CODES: Final = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.ABORTED,
})
_RECONNECT_NAMES: Final = frozenset(code.name for code in _RECONNECT_CODES)


def is_reconnectable(exc: Any) -> bool:
    code = exc.code() if callable(getattr(exc, "code", None)) else None
    return code in _RECONNECT_CODES


@dataclass
class Backoff:
    """Capped exponential backoff with jitter: the n-th wait is between half and all of
    ``min(initial * 2**n, maximum)``, so many clients cut off together do not all come
    back in the same instant."""

    initial: float = 0.1
    maximum: float = 5.0
    _attempt: int = 0
    _random: random.Random = field(default_factory=random.Random)

    def next(self) -> float:
        ceiling = min(self.initial * 2.0 ** self._attempt, self.maximum)
        self._attempt += 1
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self._attempt = 0


@dataclass
class _Position:
    """What both streams share: filters, the resume cursor and the queued events."""

    cursor: str | None
    grant_ids: tuple[str, ...]
    types: tuple[str, ...]
    backoff: Backoff
    pending: deque[Event] = field(default_factory=deque)

    def request(self) -> events_pb2.SubscribeRequest:
        assert self.cursor is not None
        return subscribe_request(self.cursor, self.grant_ids, self.types)

    def take(self, batch: events_pb2.EventBatch) -> None:
        self.backoff.reset()
        self.pending.extend(event_from_proto(e) for e in batch.events)
        if not batch.events and batch.cursor:
            self.cursor = batch.cursor  # progress through filtered-out events

    def hand_out(self) -> Event:
        event = self.pending.popleft()
        self.cursor = event.cursor
        return event


class EventStream(Iterator[Event]):
    """The events after a cursor, forever: replayed, then live, reconnecting as needed.

    Iterate it; `cursor` is the cursor of the last event handed out (store it to resume
    later). `close()` (from any thread) ends the iteration. Errors other than a lost
    connection (a malformed or expired cursor, a revoked key) raise `TidingsError`s.
    """

    def __init__(self, subscribe: Callable[[events_pb2.SubscribeRequest], Any],
                 end_cursor: Callable[[], str], cursor: str | None,
                 grant_ids: Iterable[str] | None, types: Iterable[str] | None,
                 backoff: Backoff) -> None:
        self._subscribe = subscribe
        self._end_cursor = end_cursor
        self._position = _Position(cursor, tuple(grant_ids or ()), tuple(types or ()), backoff)
        self._call: Any = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.reconnects = 0

    @property
    def cursor(self) -> str | None:
        return self._position.cursor

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __next__(self) -> Event:
        position = self._position
        while True:
            if self._closed.is_set():
                raise StopIteration
            if position.pending:
                return position.hand_out()
            self._read_batch()

    def _read_batch(self) -> None:
        try:
            if self._position.cursor is None:
                self._position.cursor = self._end_cursor()
            with self._lock:
                if self._closed.is_set():
                    return
                if self._call is None:
                    self._call = self._subscribe(self._position.request())
                call = self._call
            batch = next(call)
        except StopIteration:
            pass  # the daemon ended the stream (it never does unless stopping): resume
        except grpc.RpcError as exc:
            if self._closed.is_set():
                return
            if not is_reconnectable(exc):
                self.close()
                raise error_from_rpc(exc) from exc
        except TidingsError as exc:
            # From end_cursor, a unary call that raises the client's errors already.
            if exc.code not in _RECONNECT_NAMES:
                raise
        else:
            self._position.take(batch)
            return
        with self._lock:
            self._call = None
        self.reconnects += 1
        # Waiting on the close event lets close() end a backoff at once.
        self._closed.wait(self._position.backoff.next())

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            if self._call is not None:
                self._call.cancel()
                self._call = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class AsyncEventStream(AsyncIterator[Event]):
    """`EventStream` for asyncio: ``async for event in stream``; cancelling the task
    that iterates, or `aclose()`, ends it."""

    def __init__(self, subscribe: Callable[[events_pb2.SubscribeRequest], Any],
                 end_cursor: Callable[[], Any], cursor: str | None,
                 grant_ids: Iterable[str] | None, types: Iterable[str] | None,
                 backoff: Backoff) -> None:
        self._subscribe = subscribe
        self._end_cursor = end_cursor
        self._position = _Position(cursor, tuple(grant_ids or ()), tuple(types or ()), backoff)
        self._call: Any = None
        self._batches: AsyncIterator[events_pb2.EventBatch] | None = None
        self._closed = False
        self.reconnects = 0

    @property
    def cursor(self) -> str | None:
        return self._position.cursor

    async def __anext__(self) -> Event:
        position = self._position
        while True:
            if self._closed:
                raise StopAsyncIteration
            if position.pending:
                return position.hand_out()
            try:
                await self._read_batch()
            except BaseException:
                self._cancel_call()
                raise

    async def _read_batch(self) -> None:
        try:
            if self._position.cursor is None:
                self._position.cursor = await self._end_cursor()
            if self._batches is None:
                self._call = self._subscribe(self._position.request())
                self._batches = aiter(self._call)
            batch = await anext(self._batches)
        except StopAsyncIteration:
            pass
        except grpc.aio.AioRpcError as exc:
            if self._closed:
                return
            if not is_reconnectable(exc):
                self._closed = True
                raise error_from_rpc(exc) from exc
        except TidingsError as exc:
            if exc.code not in _RECONNECT_NAMES:
                raise
        else:
            self._position.take(batch)
            return
        self._cancel_call()
        self.reconnects += 1
        await asyncio.sleep(self._position.backoff.next())

    def _cancel_call(self) -> None:
        if self._call is not None:
            self._call.cancel()
        self._call = None
        self._batches = None

    async def aclose(self) -> None:
        self._closed = True
        self._cancel_call()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()
