"""Waiting for events in a store's log, with a deadline (no sleeps)."""

from __future__ import annotations

from collections.abc import Callable

import trio

from tidings.domain import Event, EventType
from tidings.events import EventHub
from tidings.store import Store

__all__ = ["EventLog"]


class EventLog:
    """Reads a store's event log from a position onwards; ``seen`` keeps everything read."""

    def __init__(self, store: Store, hub: EventHub, position: int = 0) -> None:
        self.store = store
        self.hub = hub
        self.position = position
        self.seen: list[Event] = []

    @classmethod
    async def attach(cls, store: Store, *, from_start: bool = True) -> EventLog:
        hub = await EventHub.for_store(store)
        return cls(store, hub, 0 if from_start else await store.last_position())

    async def _pull(self) -> list[Event]:
        got = await self.store.read_events(self.position, 1000)
        if got:
            self.position = got[-1].position
            self.seen.extend(got)
        return got

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 30.0
                       ) -> Event:
        with trio.fail_after(timeout):
            while True:
                for event in await self._pull():
                    if predicate(event):
                        return event
                await self.hub.wait_beyond(self.position)

    async def wait_type(self, kind: EventType, grant_id: str | None = None,
                        timeout: float = 30.0) -> Event:
        return await self.wait_for(
            lambda e: e.type == kind and (grant_id is None or e.grant_id == grant_id), timeout)

    async def seen_or_wait(self, kind: EventType, grant_id: str | None = None,
                           timeout: float = 30.0) -> Event:
        """Like ``wait_type``, but an event already read counts too."""
        for event in self.seen:
            if event.type == kind and (grant_id is None or event.grant_id == grant_id):
                return event
        return await self.wait_type(kind, grant_id, timeout)

    async def drain(self) -> list[Event]:
        """Everything committed so far that has not been read yet."""
        out: list[Event] = []
        while got := await self._pull():
            out.extend(got)
        return out

    def of_type(self, kind: EventType) -> list[Event]:
        return [e for e in self.seen if e.type == kind]
