"""/metrics on a cluster node: lease and rebalance figures, read from the coordinator at
scrape time, through the real endpoint of daemons sharing one PostgreSQL database."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.store import builders as b
from tidings.app import RunningDaemon, run_daemon
from tidings.config import ClusterConfig, Config, GrpcConfig, LogConfig, WebConfig
from tidings.domain import Endpoint, Security
from tidings.store import Store, WriteTx
from tidings.sync.cluster import ClusterStats
from tidings.web.metrics import ClusterFigures, Figures, render_metrics

KEY = base64.b64encode(b.KEY).decode()
GRANTS = 6
CLUSTER_FAMILIES = {
    "tidings_cluster_leases_held", "tidings_cluster_nodes_live",
    "tidings_cluster_lease_acquisitions", "tidings_cluster_lease_releases",
    "tidings_cluster_leases_lost", "tidings_cluster_rebalances",
    "tidings_cluster_rounds_failed", "tidings_cluster_last_round_age_seconds",
}


def samples(text: str) -> dict[str, float]:
    return {sample.name: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.labels}


def families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def figures(cluster: ClusterFigures | None) -> Figures:
    return Figures(grants_by_state={}, folders_by_sync_state={}, events_last_position=0,
                   subscribers=0, imap_connections_open=0, imap_connections_opened=0,
                   started_at=0.0, uptime=1.0, cluster=cluster)


def test_a_node_reports_its_lease_figures() -> None:
    stats = ClusterStats(held=4, live_nodes=3, acquired_total=9, released_total=2,
                         lost_total=1, rebalances_total=1, rounds_failed_total=5,
                         last_round_at=100.0)
    found = samples(render_metrics(figures(ClusterFigures.read(stats, now=102.5))).decode())
    assert {name: found[name] for name in (
        "tidings_cluster_leases_held", "tidings_cluster_nodes_live",
        "tidings_cluster_lease_acquisitions_total", "tidings_cluster_lease_releases_total",
        "tidings_cluster_leases_lost_total", "tidings_cluster_rebalances_total",
        "tidings_cluster_rounds_failed_total", "tidings_cluster_last_round_age_seconds",
    )} == {
        "tidings_cluster_leases_held": 4, "tidings_cluster_nodes_live": 3,
        "tidings_cluster_lease_acquisitions_total": 9,
        "tidings_cluster_lease_releases_total": 2, "tidings_cluster_leases_lost_total": 1,
        "tidings_cluster_rebalances_total": 1, "tidings_cluster_rounds_failed_total": 5,
        "tidings_cluster_last_round_age_seconds": 2.5,
    }


def test_the_round_age_is_zero_before_the_first_round() -> None:
    assert ClusterFigures.read(ClusterStats(), now=500.0).last_round_age == 0.0


def test_a_daemon_outside_a_cluster_reports_no_lease_figures() -> None:
    assert not families(render_metrics(figures(None)).decode()) & CLUSTER_FAMILIES


@dataclass
class Node:
    running: RunningDaemon
    scope: trio.CancelScope
    stopped: trio.Event

    @property
    def stats(self) -> ClusterStats:
        assert self.running.coordinator is not None
        return self.running.coordinator.stats

    async def scrape(self) -> dict[str, float]:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{self.running.web_port}/metrics")
        assert answer.status_code == 200
        return samples(answer.text)

    async def wait_until(self, holds: Callable[[ClusterStats], bool]) -> None:
        """Wait, round by round, until this node's figures hold."""
        coordinator = self.running.coordinator
        assert coordinator is not None
        while not holds(coordinator.stats):
            await coordinator.wait_round()


async def _serve(config: Config, stopped: trio.Event, *,
                 task_status: trio.TaskStatus[tuple[RunningDaemon, trio.CancelScope]]
                 = trio.TASK_STATUS_IGNORED) -> None:
    try:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(functools.partial(run_daemon, config,
                                                            handle_signals=False))
            task_status.started((running, nursery.cancel_scope))
    finally:
        stopped.set()


async def start_node(nursery: trio.Nursery, data_dir: Path, dsn: str, node_id: str) -> Node:
    config = Config(data_dir=str(data_dir), store=dsn, key=KEY,
                    grpc=GrpcConfig(host="127.0.0.1", port=0),
                    web=WebConfig(host="127.0.0.1", port=0), log=LogConfig(level="error"),
                    cluster=ClusterConfig(node_id=node_id, lease_ttl=4.0, renew_interval=0.5))
    stopped = trio.Event()
    running, scope = await nursery.start(_serve, config, stopped)
    return Node(running, scope, stopped)


async def add_grants(store: Store, count: int) -> None:
    """Grants whose mail server refuses connections at once: their sync backs off, but
    their leases are spread like any other."""
    connector = b.connector()
    grants = [b.grant(connector.id, email=f"user{n}@example.org",
                      imap=Endpoint("127.0.0.1", 1, Security.TLS)) for n in range(count)]

    def write(tx: WriteTx) -> None:
        tx.create_connector(connector)
        for grant in grants:
            tx.create_grant(grant)

    await store.write(write)


async def test_metrics_follow_leases_as_nodes_join_and_leave(
        tmp_path: Path, postgres_dsn: str, nursery: trio.Nursery) -> None:
    first = await start_node(nursery, tmp_path / "node0", postgres_dsn, "node0")
    await add_grants(first.running.store, GRANTS)
    with trio.fail_after(20):
        await first.wait_until(lambda s: s.held == GRANTS)
    alone = await first.scrape()
    assert alone["tidings_cluster_leases_held"] == GRANTS
    assert alone["tidings_cluster_nodes_live"] == 1
    assert alone["tidings_cluster_lease_acquisitions_total"] == GRANTS
    assert alone["tidings_cluster_rebalances_total"] == 0
    assert 0 <= alone["tidings_cluster_last_round_age_seconds"] < 4.0

    # A second node joins: the first gives half its leases back to even out the load.
    second = await start_node(nursery, tmp_path / "node1", postgres_dsn, "node1")
    with trio.fail_after(20):
        await first.wait_until(lambda s: s.held == GRANTS // 2 and s.live_nodes == 2)
        await second.wait_until(lambda s: s.held == GRANTS // 2 and s.live_nodes == 2)
    shared = [await first.scrape(), await second.scrape()]
    assert [s["tidings_cluster_leases_held"] for s in shared] == [GRANTS // 2] * 2
    assert [s["tidings_cluster_nodes_live"] for s in shared] == [2, 2]
    assert shared[0]["tidings_cluster_lease_releases_total"] == GRANTS // 2
    assert shared[0]["tidings_cluster_rebalances_total"] >= 1
    assert shared[1]["tidings_cluster_lease_acquisitions_total"] == GRANTS // 2
    assert shared[1]["tidings_cluster_lease_releases_total"] == 0

    # The second leaves (a clean stop gives its leases back): the first takes them all.
    second.scope.cancel()
    with trio.fail_after(15):
        await second.stopped.wait()
    with trio.fail_after(20):
        await first.wait_until(lambda s: s.held == GRANTS and s.live_nodes == 1)
    after = await first.scrape()
    assert after["tidings_cluster_leases_held"] == GRANTS
    assert after["tidings_cluster_nodes_live"] == 1
    assert after["tidings_cluster_lease_acquisitions_total"] == GRANTS + GRANTS // 2
    assert after["tidings_cluster_leases_lost_total"] == 0
    assert after["tidings_cluster_rounds_failed_total"] == 0
