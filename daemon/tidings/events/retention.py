"""Purging events older than the retention period."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NoReturn

import structlog
import trio

from tidings.store import Store, StoreError

__all__ = ["purge_expired_events", "run_event_retention"]

log = structlog.get_logger(__name__)


async def purge_expired_events(
    store: Store, retention_seconds: float, now: Callable[[], float] = time.time
) -> int:
    """Delete events older than `retention_seconds`; returns how many went."""
    cutoff = now() - retention_seconds
    return await store.write(lambda tx: tx.purge_events_before(cutoff))


async def run_event_retention(
    store: Store,
    retention_seconds: float,
    interval: float,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Sweep every `interval` seconds; reports started after the first sweep."""
    started = False
    while True:
        try:
            purged = await purge_expired_events(store, retention_seconds)
        except StoreError as exc:
            # The database is unwell for now (a restart): sweep again next time.
            log.warning("events.purge_failed", error=str(exc))
            purged = 0
        if purged:
            log.info("events.purged", count=purged, retention_seconds=retention_seconds)
        if not started:
            task_status.started()
            started = True
        await trio.sleep(interval)
