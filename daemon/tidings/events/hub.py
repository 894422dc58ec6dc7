"""Waking subscribers when the log grows."""

from __future__ import annotations

import trio

from tidings.store import Store

__all__ = ["EventHub"]


class EventHub:
    """Knows the highest committed log position and wakes whoever waits for a higher one.

    Waiting costs one `trio.Event` shared by all waiters; `notify` swaps in a fresh one, so
    any number of subscribers wake together and nobody is woken twice for one commit.
    """

    __slots__ = ("_changed", "_position")

    def __init__(self, position: int = 0) -> None:
        self._position = position
        self._changed = trio.Event()

    @classmethod
    async def for_store(cls, store: Store) -> EventHub:
        """A hub that the store notifies after every commit that appended events."""
        hub = cls()
        # Listen first, then read: a commit in between only raises the position further.
        store.add_commit_listener(hub.notify)
        hub.notify(await store.last_position())
        return hub

    @property
    def position(self) -> int:
        return self._position

    def notify(self, position: int) -> None:
        """Record that the log now reaches `position` (called in the trio thread)."""
        if position <= self._position:
            return
        self._position = position
        changed, self._changed = self._changed, trio.Event()
        changed.set()

    async def wait_beyond(self, position: int) -> int:
        """Wait until the log reaches past `position`; returns the position it reached."""
        while self._position <= position:
            await self._changed.wait()
        await trio.lowlevel.checkpoint()
        return self._position
