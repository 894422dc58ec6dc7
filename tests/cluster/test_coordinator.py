"""Coordinators of two and three nodes, each with its own connection pool to one
PostgreSQL database, driven round by round on a clock the test moves: shares, takeover
of a dead node's grants, rebalancing when a node joins or leaves, restart requests, and
a lease whose sync write was refused never staying held with nothing syncing it."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio
import trio.testing

from tests.cluster.conftest import FakeClock
from tests.store.builders import KEY, connector, grant
from tidings.domain import GrantState
from tidings.store import Store, WriteTx, open_store
from tidings.store.leases import Fenced
from tidings.sync.cluster import (
    ClusterSettings,
    Coordinator,
    RoundOutcome,
    load_or_create_node_id,
)

TTL = 10.0
RENEW = 3.0


class LocalGrants:
    """Stands in for the supervisor: which grants this node runs, and every start."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.starts: list[str] = []

    def start_grant(self, grant_id: str) -> None:
        self.running.add(grant_id)
        self.starts.append(grant_id)

    def stop_grant(self, grant_id: str) -> None:
        self.running.discard(grant_id)


class Node:
    def __init__(self, store: Store, node_id: str, clock: FakeClock) -> None:
        self.store = store
        self.local = LocalGrants()
        self.coordinator = Coordinator(
            store, self.local, ClusterSettings(node_id, lease_ttl=TTL, renew_interval=RENEW),
            clock=clock, host="test", pid=1)


AddNode = Callable[[str], Awaitable[Node]]


async def _make_grants(store: Store, count: int) -> list[str]:
    owner = connector()
    made = [grant(owner.id, email=f"u{index}@example.org") for index in range(count)]

    def write(tx: WriteTx) -> None:
        tx.create_connector(owner)
        for item in made:
            tx.create_grant(item)

    await store.write(write)
    return sorted(item.id for item in made)


async def _rounds(nodes: list[Node], clock: FakeClock, count: int = 2) -> None:
    for _ in range(count):
        for node in nodes:
            await node.coordinator.run_round()
        clock.advance(RENEW)


def _assert_partition(nodes: list[Node], grants: list[str]) -> None:
    """Every grant runs on exactly one node, the one holding its lease."""
    seen: list[str] = []
    for node in nodes:
        assert node.local.running == set(node.coordinator.held)
        seen.extend(node.local.running)
    assert sorted(seen) == grants


@pytest.fixture
async def add_node(postgres_dsn: str, clock: FakeClock) -> AsyncIterator[AddNode]:
    """Start a node: its own store (own writer and pool) on the shared database."""
    async with AsyncExitStack() as stack:

        async def add(node_id: str) -> Node:
            store = await stack.enter_async_context(open_store(postgres_dsn, KEY))
            return Node(store, node_id, clock)

        yield add


async def test_three_nodes_split_ten_grants_four_three_three(
        add_node: AddNode, clock: FakeClock) -> None:
    nodes = [await add_node(name) for name in ("a", "b", "c")]
    grants = await _make_grants(nodes[0].store, 10)
    await _rounds(nodes, clock)
    _assert_partition(nodes, grants)
    assert [len(node.local.running) for node in nodes] == [4, 3, 3]
    # Steady state: more rounds move nothing and start nothing again.
    starts = [list(node.local.starts) for node in nodes]
    await _rounds(nodes, clock, 3)
    assert [node.local.starts for node in nodes] == starts
    assert all(node.coordinator.stats.live_nodes == 3 for node in nodes)


async def test_a_dead_nodes_grants_are_taken_over_after_its_leases_expire(
        add_node: AddNode, clock: FakeClock) -> None:
    nodes = [await add_node(name) for name in ("a", "b", "c")]
    grants = await _make_grants(nodes[0].store, 10)
    await _rounds(nodes, clock)
    dead, survivors = nodes[0], nodes[1:]
    orphaned = set(dead.coordinator.held)
    tokens = dict(dead.coordinator.held)
    # a stops renewing. Before its leases expire, nobody may take them.
    await _rounds(survivors, clock, 2)
    assert not orphaned & {g for node in survivors for g in node.coordinator.held}
    # Past the lease (and the heartbeat's ttl), the survivors share everything.
    clock.advance(TTL)
    await _rounds(survivors, clock, 2)
    _assert_partition(survivors, grants)
    assert sorted(len(node.local.running) for node in survivors) == [5, 5]
    taken = {g: t for node in survivors for g, t in node.coordinator.held.items()
             if g in orphaned}
    assert all(taken[g] > tokens[g] for g in orphaned)
    # a wakes up: its first round learns it lost everything and stops it all.
    outcome = await dead.coordinator.run_round()
    assert outcome.lost == orphaned
    assert dead.local.running == set()


async def test_a_joining_node_gets_its_share_from_the_others(
        add_node: AddNode, clock: FakeClock) -> None:
    nodes = [await add_node(name) for name in ("a", "b")]
    grants = await _make_grants(nodes[0].store, 9)
    await _rounds(nodes, clock)
    _assert_partition(nodes, grants)
    nodes.append(await add_node("c"))
    await _rounds(nodes, clock, 3)
    _assert_partition(nodes, grants)
    assert [len(node.local.running) for node in nodes] == [3, 3, 3]
    assert sum(node.coordinator.stats.rebalances_total for node in nodes) >= 1


async def test_a_node_leaving_cleanly_hands_over_without_waiting_for_expiry(
        add_node: AddNode, clock: FakeClock) -> None:
    nodes = [await add_node(name) for name in ("a", "b")]
    grants = await _make_grants(nodes[0].store, 6)
    await _rounds(nodes, clock)
    await nodes[0].coordinator.leave()
    assert nodes[0].local.running == set()
    clock.advance(0.1)
    await nodes[1].coordinator.run_round()
    assert sorted(nodes[1].local.running) == grants
    view = await nodes[1].store.cluster_view()
    assert [node.id for node in view.nodes] == ["b"]


async def test_a_restart_asked_of_another_node_restarts_the_grant_where_it_runs(
        add_node: AddNode, clock: FakeClock) -> None:
    a, b = [await add_node(name) for name in ("a", "b")]
    await _make_grants(a.store, 2)
    await _rounds([a, b], clock)
    (on_a,) = a.coordinator.held
    (on_b,) = b.coordinator.held
    b.coordinator.start_grant(on_a)  # e.g. new credentials, stored through b's API
    b.coordinator.start_grant(on_b)  # b holds this one: restarted at once
    assert b.local.starts.count(on_b) == 2
    await b.coordinator.run_round()
    outcome = await a.coordinator.run_round()
    assert outcome.restarted == {on_a}
    assert a.local.starts.count(on_a) == 2
    assert (await a.coordinator.run_round()).restarted == frozenset()


async def test_a_new_grant_is_picked_up_on_the_next_round(
        add_node: AddNode, clock: FakeClock) -> None:
    a = await add_node("a")
    await _rounds([a], clock)
    (created,) = await _make_grants(a.store, 1)
    outcome = await a.coordinator.run_round()
    assert outcome.acquired == {created: 1}
    assert a.local.running == {created}


def test_the_node_id_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "node_id"
    first = load_or_create_node_id(path)
    assert first.startswith("node-")
    assert load_or_create_node_id(path) == first


def test_settings_refuse_a_renewal_slower_than_half_the_lease() -> None:
    with pytest.raises(ValueError, match="half"):
        ClusterSettings("a", lease_ttl=10.0, renew_interval=6.0)
    with pytest.raises(ValueError, match="id"):
        ClusterSettings("")


async def test_leases_not_renewed_in_time_stop_the_local_grants(
        add_node: AddNode, clock: FakeClock) -> None:
    a = await add_node("a")
    await _make_grants(a.store, 3)
    await _rounds([a], clock)
    assert len(a.local.running) == 3
    await a.store.aclose()  # the database is out of reach from here on
    clock.advance(TTL)
    async with trio.open_nursery() as nursery:
        await nursery.start(a.coordinator.run)  # its first round fails
        assert a.local.running == set()
        assert a.coordinator.held == {}
        assert a.coordinator.stats.rounds_failed_total == 1
        assert a.coordinator.stats.lost_total == 3
        nursery.cancel_scope.cancel()


async def test_a_refused_sync_write_hands_the_lease_to_the_next_round(
        add_node: AddNode, clock: FakeClock) -> None:
    a = await add_node("a")
    (grant_id,) = await _make_grants(a.store, 1)
    await _rounds([a], clock)
    token = a.coordinator.held[grant_id]
    synced = a.coordinator.store_for(grant_id)
    # The lease runs out before a write of the grant's sync reaches the database: the
    # write is refused, and the real supervisor ends the grant's sync on that.
    clock.advance(TTL)
    with pytest.raises(Fenced):
        await synced.write(lambda tx: tx.set_grant_state(grant_id, GrantState.VALID, None))
    a.local.running.discard(grant_id)
    assert a.coordinator.held == {}
    # Even a round that still sees the lease as valid (its clock stepped back) does not
    # keep it with nothing running: it takes the lease again and starts the grant.
    clock.advance(-TTL / 2)
    outcome = await a.coordinator.run_round()
    assert outcome.acquired == {grant_id: token + 1}
    assert a.local.starts == [grant_id, grant_id]
    _assert_partition([a], [grant_id])


async def test_a_round_queued_behind_a_refused_write_finds_the_lease_run_out(
        add_node: AddNode, clock: FakeClock) -> None:
    a = await add_node("a")
    (grant_id,) = await _make_grants(a.store, 1)
    await _rounds([a], clock)
    token = a.coordinator.held[grant_id]
    synced = a.coordinator.store_for(grant_id)
    busy, free = threading.Event(), threading.Event()
    outcomes: list[RoundOutcome] = []

    def slow(tx: WriteTx) -> None:
        busy.set()
        free.wait(30)  # a backlog on the writer (e.g. after a database restart)

    async def refused_write() -> None:
        with pytest.raises(Fenced):
            await synced.write(lambda tx: tx.set_grant_state(grant_id, GrantState.VALID, None))

    async def round_() -> None:
        outcomes.append(await a.coordinator.run_round())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(a.store.write, slow)
        await trio.to_thread.run_sync(busy.wait, 30)
        nursery.start_soon(refused_write)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(round_)
        await trio.testing.wait_all_tasks_blocked()
        # Both wait behind the backlog while the lease runs out.
        clock.advance(TTL)
        free.set()
    # The round ran after the refused write, at a time when the lease had run out: it
    # did not renew it, but took it again under a new token and restarted the grant.
    (outcome,) = outcomes
    assert outcome.acquired == {grant_id: token + 1}
    assert a.coordinator.held == {grant_id: token + 1}
    assert a.local.starts == [grant_id, grant_id]
    _assert_partition([a], [grant_id])
