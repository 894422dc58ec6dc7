"""Live figures for /metrics and /healthz.

The figures are read when a scrape arrives, never kept up to date in the background: the
store is asked for its counts (one grouped query each), the connection counters are read
from the sync supervisor, and the subscriber count is whatever the event stream servicer
last set. Each scrape builds its own registry, so two concurrent scrapes never see each
other's half-updated values.

The store does not record when a grant last synced successfully, so there is no sync-lag
gauge; the event log's last position (it grows with every change written) and the folders
per sync state show whether sync is moving instead.

On a cluster node (a PostgreSQL store) the coordinator's lease figures are added: leases
held here, nodes it saw live, and counters of leases acquired, given back to even out
the load, and lost (taken over by another node after this one missed its renewals).
Cluster-wide totals are the sum over the nodes' scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from tidings.domain import GrantState
from tidings.log import get_logger
from tidings.store import Store, StoreError
from tidings.sync.cluster import ClusterStats
from tidings.sync.link import ConnectionStats

__all__ = ["ClusterFigures", "Figures", "FiguresCollector", "MetricsSource", "render_metrics"]

log = get_logger("tidings.web")

SYNC_STATES: Final = ("new", "initial", "live")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterFigures:
    """This node's part in the cluster, copied from the coordinator's `ClusterStats` at
    scrape time (they keep changing while a scrape renders)."""

    leases_held: int
    nodes_live: int
    lease_acquisitions: int
    lease_releases: int
    leases_lost: int
    rebalances: int
    rounds_failed: int
    last_round_age: float  # seconds since the last successful round; 0 before the first

    @classmethod
    def read(cls, stats: ClusterStats, now: float) -> ClusterFigures:
        return cls(
            leases_held=stats.held,
            nodes_live=stats.live_nodes,
            lease_acquisitions=stats.acquired_total,
            lease_releases=stats.released_total,
            leases_lost=stats.lost_total,
            rebalances=stats.rebalances_total,
            rounds_failed=stats.rounds_failed_total,
            last_round_age=max(0.0, now - stats.last_round_at) if stats.last_round_at else 0.0,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    grants_by_state: Mapping[str, int]
    folders_by_sync_state: Mapping[str, int]
    events_last_position: int
    subscribers: int
    imap_connections_open: int
    imap_connections_opened: int
    started_at: float
    uptime: float
    sync_lag_max: float = 0.0
    sync_lag_mean: float = 0.0
    cluster: ClusterFigures | None = None  # None: not a cluster node (SQLite store)


@dataclass(eq=False)
class MetricsSource:
    """What /metrics and /healthz read. The event stream servicer keeps `subscribers`
    up to date (add one when a stream opens, take one away when it ends). `cluster` is
    the coordinator's figures on a cluster node, None otherwise."""

    store: Store
    connections: ConnectionStats = field(default_factory=ConnectionStats)
    cluster: ClusterStats | None = None
    subscribers: int = 0
    clock: Callable[[], float] = time.time
    started_at: float = field(default=0.0)

    def __post_init__(self) -> None:
        if not self.started_at:
            self.started_at = self.clock()

    async def figures(self) -> Figures:
        """Read the current figures; a store failure propagates (`StoreError`)."""
        grants = await self.store.count_grants_by_state()
        folders = await self.store.count_folders_by_sync_state()
        position = await self.store.last_position()
        now = self.clock()
        lag_max, lag_mean = self.connections.lag(now)
        return Figures(
            sync_lag_max=lag_max,
            sync_lag_mean=lag_mean,
            grants_by_state=grants,
            folders_by_sync_state=folders,
            events_last_position=position,
            subscribers=self.subscribers,
            imap_connections_open=self.connections.open,
            imap_connections_opened=self.connections.opened_total,
            started_at=self.started_at,
            uptime=max(0.0, now - self.started_at),
            cluster=None if self.cluster is None else ClusterFigures.read(self.cluster, now),
        )

    async def health(self) -> dict[str, Any]:
        """The /healthz document: "status" is "ok" only when the store answers."""
        uptime = round(max(0.0, self.clock() - self.started_at), 3)
        try:
            grants = await self.store.count_grants_by_state()
        except StoreError as exc:
            log.warning("health.store_failed", error=str(exc))
            return {"status": "error", "store": f"error: {exc}", "uptime_seconds": uptime}
        return {
            "status": "ok",
            "store": "ok",
            "grants": {state.value: grants.get(state.value, 0) for state in GrantState},
            "subscribers": self.subscribers,
            "imap_connections_open": self.connections.open,
            "uptime_seconds": uptime,
        }


class FiguresCollector:
    """A prometheus-client collector that reports one set of `Figures`."""

    def __init__(self, figures: Figures) -> None:
        self._figures = figures

    def collect(self) -> Iterable[Metric]:
        f = self._figures
        grants = GaugeMetricFamily(
            "tidings_grants", "Grants by state.", labels=["state"]
        )
        # Every known state is reported, zeros included, so alerts on a state that
        # empties out do not see the series vanish.
        states = {state.value: 0 for state in GrantState} | dict(f.grants_by_state)
        for state, count in sorted(states.items()):
            grants.add_metric([state], count)
        yield grants
        folders = GaugeMetricFamily(
            "tidings_folders", "Folders of all grants by sync state.", labels=["sync_state"]
        )
        folder_states = dict.fromkeys(SYNC_STATES, 0) | dict(f.folders_by_sync_state)
        for state, count in sorted(folder_states.items()):
            folders.add_metric([state], count)
        yield folders
        yield GaugeMetricFamily(
            "tidings_events_last_position",
            "Position of the newest event in the change log (grows with every change).",
            value=f.events_last_position,
        )
        yield GaugeMetricFamily(
            "tidings_event_subscribers", "Open event streams.", value=f.subscribers
        )
        yield GaugeMetricFamily(
            "tidings_sync_lag_seconds_max",
            "Longest time since a running grant last confirmed it is up to date "
            "(an IDLE sync or a completed poll of all its folders).",
            value=f.sync_lag_max,
        )
        yield GaugeMetricFamily(
            "tidings_sync_lag_seconds_mean", "Mean of the same over the running grants.",
            value=f.sync_lag_mean,
        )
        yield GaugeMetricFamily(
            "tidings_imap_connections_open", "IMAP connections open now.",
            value=f.imap_connections_open,
        )
        yield CounterMetricFamily(
            "tidings_imap_connections_opened", "IMAP connections opened since start.",
            value=f.imap_connections_opened,
        )
        yield GaugeMetricFamily(
            "tidings_start_time_seconds", "When the daemon started (Unix time).",
            value=f.started_at,
        )
        yield GaugeMetricFamily(
            "tidings_uptime_seconds", "Seconds since the daemon started.", value=f.uptime
        )
        if f.cluster is not None:
            yield from _cluster_metrics(f.cluster)


def _cluster_metrics(c: ClusterFigures) -> Iterable[Metric]:
    yield GaugeMetricFamily(
        "tidings_cluster_leases_held", "Grant leases this node holds (grants it syncs).",
        value=c.leases_held,
    )
    yield GaugeMetricFamily(
        "tidings_cluster_nodes_live",
        "Nodes this node saw heartbeating within a lease's lifetime (itself included).",
        value=c.nodes_live,
    )
    yield CounterMetricFamily(
        "tidings_cluster_lease_acquisitions",
        "Leases this node took: new grants, grants of nodes that left or died, rebalancing.",
        value=c.lease_acquisitions,
    )
    yield CounterMetricFamily(
        "tidings_cluster_lease_releases",
        "Leases this node gave back to even out the load.", value=c.lease_releases,
    )
    yield CounterMetricFamily(
        "tidings_cluster_leases_lost",
        "Leases this node lost: not renewed in time (a pause, a database outage) and taken"
        " over or expired; their grants' writes from here are refused.",
        value=c.leases_lost,
    )
    yield CounterMetricFamily(
        "tidings_cluster_rebalances", "Rounds in which this node gave leases back.",
        value=c.rebalances,
    )
    yield CounterMetricFamily(
        "tidings_cluster_rounds_failed",
        "Lease rounds that failed (the database did not answer).", value=c.rounds_failed,
    )
    yield GaugeMetricFamily(
        "tidings_cluster_last_round_age_seconds",
        "Seconds since this node's last successful lease round (0 before the first);"
        " past the lease lifetime its leases are gone.",
        value=c.last_round_age,
    )


def render_metrics(figures: Figures) -> bytes:
    """The Prometheus text exposition of the figures and of this process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))
    ProcessCollector(registry=registry)
    return generate_latest(registry)
