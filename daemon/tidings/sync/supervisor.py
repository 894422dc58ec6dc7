"""The grant supervisor: one child task tree per grant, restarted with capped
exponential backoff and jitter; one grant's failure never disturbs another."""

from __future__ import annotations

import functools
import random
import ssl
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn

import trio

from tidings.domain import EventType, GrantState
from tidings.imap import AuthError, ImapError
from tidings.log import get_logger
from tidings.store import NotFound, Store, StoreError
from tidings.store.leases import Fenced
from tidings.sync.apply import record_grant_state
from tidings.sync.connection_slots import ClusterSlots
from tidings.sync.grant import FlappingUidValidity, GrantRunner
from tidings.sync.link import ConnectionStats, GrantLink, SyncSettings

__all__ = ["Supervisor", "backoff_delay", "first_leaf"]

log = get_logger("tidings.sync")


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception of a task tree's group that is not a cancellation: the one
    that brought the tree down (the others are its siblings being cancelled)."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for leaf in leaves:
        if not isinstance(leaf, trio.Cancelled):
            return leaf
    return leaves[0] if leaves else group


def backoff_delay(attempt: int, minimum: float, maximum: float) -> float:
    """Full-jitter exponential backoff: uniform in [min, min(max, min·2^attempt)]."""
    ceiling = min(maximum, minimum * (2 ** min(attempt, 30)))
    return random.uniform(minimum, max(minimum, ceiling))


class Supervisor:
    def __init__(self, store: Store, settings: SyncSettings | None = None, *,
                 ssl_context_factory: Callable[[], ssl.SSLContext | None] = lambda: None,
                 start_all: bool = True) -> None:
        self.store = store
        self.settings = settings or SyncSettings()
        self.ssl_context_factory = ssl_context_factory
        # Alone, a node syncs every grant from the start; in a cluster the coordinator
        # starts the grants whose leases it holds, and wraps the store their sync writes
        # through so that each write checks the lease (tidings.sync.cluster).
        self.start_all = start_all
        self.sync_store: Callable[[str], Store] = lambda _grant_id: self.store
        # In a cluster, connection slots in the shared database (GrantLink.slots).
        self.connection_slots: ClusterSlots | None = None
        self.stats = ConnectionStats()
        self._scopes: dict[str, trio.CancelScope] = {}
        # Set when a grant's task tree has ended, cancelled writes and all.
        self._ended: dict[str, trio.Event] = {}
        self._nursery: trio.Nursery | None = None
        # One connection limiter per grant, shared by its sync tasks and the connections
        # opened for API calls; it lives as long as some link holds it.
        self._limiters: weakref.WeakValueDictionary[str, trio.CapacityLimiter] = (
            weakref.WeakValueDictionary())
        # Likewise one change lock per grant (GrantLink.changes).
        self._change_locks: weakref.WeakValueDictionary[str, trio.Lock] = (
            weakref.WeakValueDictionary())

    @property
    def running(self) -> frozenset[str]:
        return frozenset(self._scopes)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> NoReturn:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if self.start_all:
                for grant in await self.store.list_grants():
                    self.start_grant(grant.id)
            task_status.started()
            await trio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    def start_grant(self, grant_id: str) -> None:
        """Start (or restart, e.g. after new credentials) the grant's task tree."""
        if self._nursery is None:
            raise RuntimeError("the supervisor is not running")
        self.stop_grant(grant_id)
        scope = trio.CancelScope()
        self._scopes[grant_id] = scope
        previous = self._ended.get(grant_id)
        ended = self._ended[grant_id] = trio.Event()
        self._nursery.start_soon(self._supervise, grant_id, scope, previous, ended)

    def stop_grant(self, grant_id: str) -> None:
        self.stats.synced_at.pop(grant_id, None)
        scope = self._scopes.pop(grant_id, None)
        if scope is not None:
            scope.cancel()

    async def _supervise(self, grant_id: str, scope: trio.CancelScope,
                         previous: trio.Event | None, ended: trio.Event) -> None:
        try:
            with scope:
                if previous is not None:
                    # The tree being replaced finishes first: a write it had queued
                    # (they are shielded) must land before this one reads the grant.
                    await previous.wait()
                await self._attempts(grant_id)
        finally:
            if previous is not None and not previous.is_set():  # cancelled while waiting
                with trio.CancelScope(shield=True):
                    await previous.wait()
            ended.set()
            if self._ended.get(grant_id) is ended:
                del self._ended[grant_id]
        if self._scopes.get(grant_id) is scope:
            del self._scopes[grant_id]

    async def _attempts(self, grant_id: str) -> None:
        attempt = 0
        while True:
            try:
                try:
                    await self._run_once(grant_id)
                except BaseExceptionGroup as group:
                    raise first_leaf(group) from group
            except Fenced:
                # Another node holds the grant now; it writes nothing more from here.
                log.info("grant.fenced", grant=grant_id)
                break
            except NotFound:
                log.info("grant.gone", grant=grant_id)
                break
            except AuthError as exc:
                await self._record(grant_id, GrantState.INVALID, exc.text or str(exc),
                                   EventType.GRANT_EXPIRED)
                log.warning("grant.auth_failed", grant=grant_id, reason=exc.text)
                break  # until new credentials restart it
            except FlappingUidValidity as exc:
                await self._record(grant_id, GrantState.DEGRADED, str(exc),
                                   EventType.GRANT_UPDATED)
                log.warning("grant.uidvalidity_flapping", grant=grant_id, folder=exc.folder)
                if not await self._recheck(grant_id):
                    log.info("grant.fenced", grant=grant_id)
                    break
                attempt = 0
                continue
            except (ImapError, OSError, trio.TooSlowError, StoreError) as exc:
                # The server or the database away: an outage, not a bug.
                reason = f"{type(exc).__name__}: {exc}"
                await self._record(grant_id, GrantState.DEGRADED, reason,
                                   EventType.GRANT_UPDATED)
                log.warning("grant.failed", grant=grant_id, error=reason, attempt=attempt)
            except Exception as exc:
                # A bug must not take other grants down: log it, back off, retry.
                log.exception("grant.crashed", grant=grant_id, error=repr(exc))
                await self._record(grant_id, GrantState.DEGRADED,
                                   f"internal error: {type(exc).__name__}",
                                   EventType.GRANT_UPDATED)
            await trio.sleep(backoff_delay(attempt, self.settings.min_backoff,
                                           self.settings.max_backoff))
            attempt += 1

    async def _link(self, grant_id: str, *, syncing: bool = False) -> GrantLink:
        store = self.sync_store(grant_id) if syncing else self.store
        grant = await self.store.get_grant(grant_id)
        credentials = await self.store.get_credentials(grant_id)
        connector = await self.store.get_connector(grant.connector_id)
        settings = self.settings
        # The connector's poll interval, when it has one; the daemon's otherwise.
        poll_interval = connector.settings.poll_interval or settings.poll_interval
        if connector.settings.strict_message_id != settings.strict_message_id or \
                poll_interval != settings.poll_interval:
            settings = replace(settings, strict_message_id=connector.settings.strict_message_id,
                               poll_interval=poll_interval)
        link = GrantLink(grant=grant, credentials=credentials, store=store,
                         settings=settings, stats=self.stats,
                         ssl_context_factory=self.ssl_context_factory,
                         slots=self.connection_slots)
        link.limiter = self._limiter(grant_id, link.preset.max_connections)
        lock = self._change_locks.get(grant_id)
        if lock is None:
            lock = self._change_locks[grant_id] = trio.Lock()
        link.changes = lock
        return link

    def _limiter(self, grant_id: str, cap: int) -> trio.CapacityLimiter:
        limiter = self._limiters.get(grant_id)
        if limiter is None:
            limiter = trio.CapacityLimiter(cap)
            self._limiters[grant_id] = limiter
        elif limiter.total_tokens != cap:  # the provider preset changed
            limiter.total_tokens = cap
        return limiter

    async def link_for(self, grant_id: str) -> GrantLink:
        """A link for connections made on behalf of API calls (fetching raw mail or an
        attachment, a native search). It shares the grant's connection limiter with the
        grant's sync tasks, so together they stay under the provider's cap. Raises
        `NotFound` for an unknown grant."""
        return await self._link(grant_id)

    async def _run_once(self, grant_id: str) -> None:
        runner = GrantRunner(await self._link(grant_id, syncing=True))
        await runner.run()

    async def _recheck(self, grant_id: str) -> bool:
        """Wait until the grant's UIDVALIDITY holds still; False when the grant's lease
        was lost meanwhile."""
        try:
            runner = GrantRunner(await self._link(grant_id, syncing=True))
        except Fenced:
            return False
        while True:
            try:
                await runner.recheck_until_stable()
                return True
            except Fenced:
                return False
            except (ImapError, OSError) as exc:
                log.warning("grant.recheck_failed", grant=grant_id, error=str(exc))

    async def _record(self, grant_id: str, state: GrantState, reason: str | None,
                      kind: EventType) -> None:
        try:
            await self.sync_store(grant_id).write(functools.partial(
                record_grant_state, grant_id=grant_id, state=state, reason=reason, kind=kind))
        except (NotFound, Fenced):
            pass
        except StoreError as exc:
            # The database itself is unwell (a restart, a lost connection): the grant's
            # state waits for the next attempt; the daemon must not fall over with it.
            log.warning("grant.state_not_recorded", grant=grant_id, state=str(state),
                        error=str(exc))
