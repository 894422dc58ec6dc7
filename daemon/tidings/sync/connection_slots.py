"""A provider's connection cap over a whole cluster: each connection to a grant's mail
server holds a slot row in the shared database (migration 8) for as long as it is open.

Alone, a daemon needs none of this: the grant's `trio.CapacityLimiter` counts every
connection it opens. In a cluster, API calls for a grant may land on any node while its
sync runs on the lease holder; the slots make them all count against the one cap. A slot
expires unless its node renews it (the coordinator does, every round), so a node that
dies frees its slots within `SLOT_TTL`.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from typing import Final

import trio

from tidings.log import get_logger
from tidings.store import Store, StoreError, WriteTx

__all__ = ["SLOT_TTL", "ClusterSlots"]

log = get_logger("tidings.sync")

SLOT_TTL: Final = 30.0
_FIRST_WAIT: Final = 0.05
_LONGEST_WAIT: Final = 1.0


def _take(tx: WriteTx, *, grant_id: str, cap: int, node_id: str, holder: str, now: float,
          until: float) -> int | None:
    return tx.take_connection_slot(grant_id, cap, node_id=node_id, holder=holder, now=now,
                                   until=until)


class ClusterSlots:
    """Slots of this node (`node_id`) in `store`."""

    def __init__(self, store: Store, node_id: str, *, ttl: float = SLOT_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.node_id = node_id
        self.ttl = ttl
        self._clock = clock
        self._serial = itertools.count(1)
        self._unreleased: set[tuple[str, int, str]] = set()

    async def take(self, grant_id: str, cap: int, *, wait: bool = True) -> tuple[int, str]:
        """A slot for one connection: (slot, holder). Waits, polling with a growing pause,
        until one is free; with ``wait=False`` raises `trio.WouldBlock` at once instead."""
        if self._unreleased:
            await self._release_leftovers()
        holder = f"{self.node_id}:{next(self._serial)}"
        pause = _FIRST_WAIT
        while True:
            now = self._clock()
            slot = await self.store.write(functools.partial(
                _take, grant_id=grant_id, cap=cap, node_id=self.node_id, holder=holder,
                now=now, until=now + self.ttl))
            if slot is not None:
                return slot, holder
            if not wait:
                raise trio.WouldBlock
            log.debug("cluster.connection_cap_wait", grant=grant_id, cap=cap)
            await trio.sleep(pause)
            pause = min(_LONGEST_WAIT, pause * 2)

    async def release(self, grant_id: str, slot: int, holder: str) -> None:
        """Give the slot back. When the database cannot be reached (a restart), the slot
        is remembered and given back before the next one is taken: the coordinator
        renews every slot of this node, so a forgotten one would never expire."""
        with trio.CancelScope(shield=True):
            try:
                await self.store.write(
                    lambda tx: tx.release_connection_slot(grant_id, slot, holder))
            except StoreError as exc:
                self._unreleased.add((grant_id, slot, holder))
                log.warning("cluster.slot_release_failed", grant=grant_id, slot=slot,
                            error=str(exc))

    async def _release_leftovers(self) -> None:
        for grant_id, slot, holder in sorted(self._unreleased):
            self._unreleased.discard((grant_id, slot, holder))
            await self.release(grant_id, slot, holder)
