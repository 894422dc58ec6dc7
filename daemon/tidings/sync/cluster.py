"""The cluster coordinator: one per daemon sharing a PostgreSQL database (a node).

Every `renew_interval` seconds, in one store transaction, the coordinator refreshes the
node's heartbeat, renews the leases it holds, reads who is alive and who holds what,
gives back leases above its fair share and takes free ones below it (`balance.py`).
Then it tells the local supervisor which grants to start and stop. A grant's sync
writes go through `store_for(grant_id)`, which checks the lease token in each write's
transaction (`fencing.py`), so at most one node's writes for a grant are ever kept.

Timing: a lease lasts `lease_ttl` (10 s) and is renewed every `renew_interval` (3 s),
so two renewals in a row can fail before it is lost. A node that dies stops renewing;
its leases expire within `lease_ttl`, its heartbeat ages out after the same time, and
the survivors take its grants on their next round: within lease_ttl + renew_interval
(13 s) plus the time to start the grants. A node that stops cleanly gives its leases
back at once. Expiry compares wall-clock times written by different nodes: their clocks
must agree to well within a lease (NTP does this); the fencing token, not the clock,
is what keeps two nodes from both writing.

A grant's sync runs only while its lease is held here, and a held lease always has a
sync running. Two things keep the second half true when the database goes away for a
while (a restart) and leases run out meanwhile. A round reads the clock inside its own
transaction, on the store's writer, like the lease check of every sync write: a round
queued behind a backlog of writes cannot renew a lease that a write just before it was
refused for. And a refused sync write, which ends the grant's sync, is reported here
(`FencedStore.on_refused`): the lease is forgotten, and the next round, woken at once,
takes it again with a new token and starts the grant, unless another node has it.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NoReturn, Protocol

import trio

from tidings.log import get_logger
from tidings.store import Store, StoreError, WriteTx
from tidings.store.leases import Fenced, NodeRecord
from tidings.sync.balance import live_nodes, plan_leases
from tidings.sync.connection_slots import SLOT_TTL
from tidings.sync.fencing import FencedStore

__all__ = [
    "ClusterSettings",
    "ClusterStats",
    "Coordinator",
    "LocalSync",
    "RoundOutcome",
    "load_or_create_node_id",
]

log = get_logger("tidings.cluster")

LEAVE_TIMEOUT: Final = 5.0
PURGE_EVERY: Final = 100  # rounds between sweeps of long-gone node rows


def load_or_create_node_id(path: Path) -> str:
    """The node id kept in `path`, or a new random one written there (so a restarted
    daemon is the same node in `tidings nodes`)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if text:
        return text
    node_id = f"node-{secrets.token_hex(6)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(node_id + "\n", encoding="utf-8")
    return node_id


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    node_id: str
    lease_ttl: float = 10.0
    renew_interval: float = 3.0
    # A node row not refreshed for this long is deleted (it only served `tidings nodes`).
    forget_nodes_after: float = 86400.0

    def __post_init__(self) -> None:
        if not self.node_id:
            raise ValueError("a node needs an id")
        if not 0 < self.renew_interval * 2 <= self.lease_ttl:
            raise ValueError("renew_interval must be at most half of lease_ttl, so that"
                             " one late renewal does not lose the leases")


@dataclass
class ClusterStats:
    """Figures for /metrics, kept by the coordinator."""

    held: int = 0
    live_nodes: int = 0
    acquired_total: int = 0
    released_total: int = 0
    lost_total: int = 0
    rebalances_total: int = 0  # rounds that gave leases back to even out the load
    rounds_failed_total: int = 0
    last_round_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """What one round changed on this node."""

    acquired: Mapping[str, int] = field(default_factory=dict)
    released: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()
    restarted: frozenset[str] = frozenset()
    live_nodes: int = 1


class LocalSync(Protocol):
    """What the coordinator drives: the node's grant supervisor."""

    def start_grant(self, grant_id: str) -> None: ...

    def stop_grant(self, grant_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Round:
    renewed: frozenset[str]
    released: frozenset[str]
    acquired: dict[str, int]
    restarts: dict[str, int]
    live_nodes: int
    at: float  # the clock when the round's transaction ran


class Coordinator:
    """Holds this node's leases and keeps the local supervisor in step with them.

    It is also the `SyncControl` the account service uses: `start_grant` restarts a grant
    here when this node holds it, and otherwise asks its holder (through the database) to
    restart it; a new grant is picked up by the next round, which `start_grant` hastens.
    """

    def __init__(self, store: Store, local: LocalSync, settings: ClusterSettings, *,
                 clock: Callable[[], float] = time.time, host: str | None = None,
                 pid: int | None = None) -> None:
        self.store = store
        self.local = local
        self.settings = settings
        self.stats = ClusterStats()
        self._clock = clock
        self._host = host if host is not None else socket.gethostname()
        self._pid = pid if pid is not None else os.getpid()
        self._started_at = clock()
        self._held: dict[str, int] = {}
        self._restarts: dict[str, int] = {}
        self._restart_requests: set[str] = set()
        self._valid_until = -math.inf
        self._rounds = 0
        self._wake = trio.Event()
        self._round_done = trio.Event()

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    @property
    def held(self) -> Mapping[str, int]:
        """Grant id → fencing token of every lease this node holds."""
        return dict(self._held)

    # -- what the supervisor and the service call -------------------------------------------
    def store_for(self, grant_id: str) -> Store:
        """The store a grant's sync writes through; `Fenced` when this node does not
        hold the grant's lease (the sync must not start)."""
        token = self._held.get(grant_id)
        if token is None:
            raise Fenced(grant_id, self.node_id, 0)
        return FencedStore(self.store, grant_id=grant_id, node_id=self.node_id, token=token,
                           clock=self._clock, on_refused=self._refused)

    def start_grant(self, grant_id: str) -> None:
        if grant_id in self._held:
            self.local.start_grant(grant_id)
        else:
            self._restart_requests.add(grant_id)
        self._wake.set()

    def stop_grant(self, grant_id: str) -> None:
        # Only deletion stops a grant for good, and the lease goes with the grant's row.
        self.local.stop_grant(grant_id)
        self._wake.set()

    def _refused(self, refusal: Fenced) -> None:
        """A sync write of a grant was refused by its lease check, so the grant's sync is
        ending. If this node still counts that lease (same token) as its own, renewing it
        would keep the grant leased here with nothing syncing it: forget it, and let the
        next round take it back (or find it taken)."""
        grant_id = refusal.grant_id
        if self._held.get(grant_id) != refusal.token:
            return  # already forgotten, or held again under a newer token
        log.warning("cluster.lease_refused", node=self.node_id, grant=grant_id,
                    token=refusal.token)
        self.stats.lost_total += 1
        self._drop({grant_id})
        self._wake.set()

    async def wait_round(self) -> None:
        """Wait until the running loop finishes a round (with or without success)."""
        await self._round_done.wait()

    # -- the loop ---------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> NoReturn:
        """Take part in the cluster until cancelled, then leave it: stop the local grants
        and give every lease back, so that the other nodes take them at once."""
        try:
            await self._round_logged()
            task_status.started()
            while True:
                with trio.move_on_after(self.settings.renew_interval):
                    await self._wake.wait()
                self._wake = trio.Event()
                await self._round_logged()
        finally:
            with trio.move_on_after(LEAVE_TIMEOUT, shield=True):
                await self.leave()

    async def leave(self) -> None:
        """Stop every local grant and give the leases back (a clean shutdown)."""
        self._drop(set(self._held))
        node_id = self.node_id
        try:
            await self.store.write(lambda tx: tx.remove_node(node_id))
        except StoreError as exc:
            log.warning("cluster.leave_failed", node=node_id, error=str(exc))
        else:
            log.info("cluster.left", node=node_id)

    async def _round_logged(self) -> None:
        try:
            await self._round()
        finally:
            done, self._round_done = self._round_done, trio.Event()
            done.set()

    async def _round(self) -> None:
        try:
            outcome = await self.run_round()
        except StoreError as exc:
            self.stats.rounds_failed_total += 1
            log.warning("cluster.round_failed", node=self.node_id, error=str(exc))
            if self._held and self._clock() >= self._valid_until:
                # Unrenewed leases have run out: others may hold them by now.
                log.warning("cluster.leases_expired", node=self.node_id, grants=len(self._held))
                self.stats.lost_total += len(self._held)
                self._drop(set(self._held))
            return
        if outcome.acquired or outcome.released or outcome.lost:
            log.info("cluster.round", node=self.node_id, acquired=len(outcome.acquired),
                     released=len(outcome.released), lost=len(outcome.lost),
                     held=len(self._held), live_nodes=outcome.live_nodes)

    async def run_round(self) -> RoundOutcome:
        """One round: heartbeat, renew, rebalance, then start and stop local grants.
        The first round of a node only announces it, so that nodes starting together
        see each other before they divide the grants."""
        settings = self.settings
        clock = self._clock
        node_id, host, pid, started_at = self.node_id, self._host, self._pid, self._started_at
        held = dict(self._held)
        requests = set(self._restart_requests)
        self._restart_requests.clear()
        balance = self._rounds > 0
        first = self._rounds == 0
        purge = self._rounds % PURGE_EVERY == 0

        def step(tx: WriteTx) -> _Round:
            # The time of the transaction itself, not of the queueing: a sync write ahead
            # of this round on the writer may have been refused for a lease that ran out
            # meanwhile, and this round must then find it run out too.
            now = clock()
            until = now + settings.lease_ttl
            node = NodeRecord(id=node_id, host=host, pid=pid, started_at=started_at,
                              heartbeat_at=now)
            tx.heartbeat(node)
            if first:
                tx.drop_node_slots(node.id)  # slots of this node's previous run
            tx.renew_connection_slots(node.id, now + SLOT_TTL)
            renewed = tx.renew_leases(node.id, held, now, until)
            for grant_id in sorted(requests):
                tx.request_restart(grant_id)
            view = tx.cluster_view()
            leases = {lease.grant_id: lease for lease in view.leases}
            live = live_nodes(view.nodes, node.id, now, settings.lease_ttl)
            released: frozenset[str] = frozenset()
            acquired: dict[str, int] = {}
            if balance:
                plan = plan_leases(node.id, live, view.grant_ids, leases, renewed, now)
                released = frozenset(plan.release)
                tx.release_leases(node.id, {g: held[g] for g in plan.release})
                acquired = tx.acquire_leases(node.id, plan.acquire, now, until)
            if purge:
                tx.purge_nodes(now - settings.forget_nodes_after)
            restarts = {grant_id: lease.restarts for grant_id, lease in leases.items()
                        if grant_id in renewed or grant_id in acquired}
            return _Round(renewed=frozenset(renewed) - released, released=released,
                          acquired=acquired, restarts=restarts, live_nodes=len(live), at=now)

        try:
            result = await self.store.write(step)
        except BaseException:
            self._restart_requests |= requests  # asked again next round
            raise
        self._rounds += 1
        self._valid_until = result.at + settings.lease_ttl
        return self._apply(held, result, result.at)

    def _apply(self, held: Mapping[str, int], result: _Round, now: float) -> RoundOutcome:
        lost = frozenset(held) - result.renewed - result.released
        self._drop(lost | result.released)
        restarted: set[str] = set()
        # A lease forgotten on a refused write while the round ran stays forgotten: the
        # next round takes it again under a new token.
        for grant_id in sorted(result.renewed & self._held.keys()):
            count = result.restarts.get(grant_id, 0)
            if count > self._restarts.get(grant_id, 0):
                restarted.add(grant_id)
                self._restarts[grant_id] = count
                self.local.start_grant(grant_id)
        for grant_id, token in sorted(result.acquired.items()):
            self._held[grant_id] = token
            self._restarts[grant_id] = result.restarts.get(grant_id, 0)
            self.local.start_grant(grant_id)
        stats = self.stats
        stats.held = len(self._held)
        stats.live_nodes = result.live_nodes
        stats.acquired_total += len(result.acquired)
        stats.released_total += len(result.released)
        stats.lost_total += len(lost)
        stats.rebalances_total += 1 if result.released else 0
        stats.last_round_at = now
        if lost:
            log.warning("cluster.leases_lost", node=self.node_id, grants=sorted(lost))
        return RoundOutcome(acquired=dict(result.acquired), released=result.released,
                            lost=lost, restarted=frozenset(restarted),
                            live_nodes=result.live_nodes)

    def _drop(self, grant_ids: set[str] | frozenset[str]) -> None:
        for grant_id in sorted(grant_ids):
            self._held.pop(grant_id, None)
            self._restarts.pop(grant_id, None)
            self.local.stop_grant(grant_id)
        self.stats.held = len(self._held)
