"""The balancing decision: fair shares, what a node takes and gives back, and that rounds
of every node's own decision settle on each grant held by exactly one node."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.store.leases import Lease, NodeRecord
from tidings.sync.balance import LeasePlan, fair_share, live_nodes, plan_leases, preference

NOW = 1000.0
TTL = 10.0


def _lease(grant_id: str, node_id: str | None, expires_at: float = NOW + TTL,
           token: int = 1) -> Lease:
    return Lease(grant_id=grant_id, node_id=node_id, token=token, acquired_at=NOW - 1,
                 expires_at=expires_at)


def _grants(count: int) -> list[str]:
    return [f"g{index:03}" for index in range(count)]


def test_fair_shares_add_up_and_differ_by_at_most_one() -> None:
    nodes = ["a", "b", "c"]
    shares = [fair_share(node, nodes, 10) for node in nodes]
    assert shares == [4, 3, 3]
    assert [fair_share(node, nodes, 2) for node in nodes] == [1, 1, 0]
    assert fair_share("a", ["a"], 7) == 7
    # A node is always counted, even when the view does not list it yet.
    assert fair_share("z", ["a"], 4) == 2


def test_live_nodes_are_the_ones_heard_from_within_the_ttl() -> None:
    def node(node_id: str, heartbeat_at: float) -> NodeRecord:
        return NodeRecord(id=node_id, host="h", pid=1, started_at=0.0,
                          heartbeat_at=heartbeat_at)

    nodes = [node("b", NOW - 3), node("c", NOW - TTL), node("d", NOW - 30)]
    assert live_nodes(nodes, "a", NOW, TTL) == ["a", "b"]


def test_a_lone_node_takes_every_grant() -> None:
    grants = _grants(5)
    plan = plan_leases("a", ["a"], grants, {}, held=(), now=NOW)
    assert sorted(plan.acquire) == grants
    assert plan.release == ()


def test_a_node_at_its_share_does_nothing() -> None:
    grants = _grants(4)
    leases = {g: _lease(g, "a" if i < 2 else "b") for i, g in enumerate(grants)}
    assert plan_leases("a", ["a", "b"], grants, leases, held=grants[:2], now=NOW) == LeasePlan()


def test_a_node_above_its_share_gives_back_the_excess_it_prefers_least() -> None:
    grants = _grants(6)
    leases = {g: _lease(g, "a") for g in grants}
    plan = plan_leases("a", ["a", "b", "c"], grants, leases, held=grants, now=NOW)
    assert plan.acquire == ()
    assert len(plan.release) == 4
    kept = set(grants) - set(plan.release)
    assert min(preference("a", g) for g in kept) > max(preference("a", g) for g in plan.release)


def test_only_free_leases_are_taken() -> None:
    grants = _grants(6)
    leases = {
        "g000": _lease("g000", "b"),                       # held by b
        "g001": _lease("g001", "b", expires_at=NOW),       # expired: free
        "g002": _lease("g002", None, expires_at=0.0),      # given back: free
        "g003": _lease("g003", "a", token=4),              # an earlier run of a: free
        "g004": _lease("g004", "c"),                       # held by c
    }  # g005 was never leased: free
    plan = plan_leases("a", ["a"], grants, leases, held=(), now=NOW)
    assert sorted(plan.acquire) == ["g001", "g002", "g003", "g005"]


def test_a_grant_that_no_longer_exists_counts_for_nothing() -> None:
    grants = _grants(2)
    plan = plan_leases("a", ["a", "b"], grants, {}, held=["gone"], now=NOW)
    assert len(plan.acquire) == 1
    assert plan.release == ()


def _settle(nodes: list[str], grants: list[str], owner: dict[str, str],
            rounds: int = 6) -> dict[str, str]:
    """Run every node's own decision in turn, applying it as the database would."""
    for _ in range(rounds):
        for node in nodes:
            leases = {g: _lease(g, n) for g, n in owner.items()}
            held = [g for g, n in owner.items() if n == node]
            plan = plan_leases(node, nodes, grants, leases, held, NOW)
            for grant_id in plan.release:
                del owner[grant_id]
            for grant_id in plan.acquire:
                assert grant_id not in owner  # never a lease another node holds
                owner[grant_id] = node
    return owner


@given(
    node_count=st.integers(min_value=1, max_value=5),
    grant_count=st.integers(min_value=0, max_value=40),
    start=st.lists(st.integers(min_value=-1, max_value=6), max_size=40),
)
def test_rounds_settle_on_one_holder_per_grant_and_fair_shares(
        node_count: int, grant_count: int, start: list[int]) -> None:
    nodes = [f"n{index}" for index in range(node_count)]
    grants = _grants(grant_count)
    # Any starting point: grants held by live nodes, by nodes gone (their leases
    # expired, so no row names them as holder any more) or by nobody.
    owner = {g: nodes[pick] for g, pick in zip(grants, start, strict=False)
             if 0 <= pick < node_count}
    owner = _settle(nodes, grants, owner)
    assert sorted(owner) == grants
    counts = sorted(sum(1 for n in owner.values() if n == node) for node in nodes)
    assert counts[-1] - counts[0] <= 1
    assert {node: sum(1 for n in owner.values() if n == node) for node in nodes} == {
        node: fair_share(node, nodes, grant_count) for node in nodes}


def test_a_joining_node_gets_its_share_and_the_others_keep_the_rest() -> None:
    grants = _grants(12)
    owner = _settle(["a", "b"], grants, {})
    before = dict(owner)
    owner = _settle(["a", "b", "c"], grants, owner)
    assert sum(1 for n in owner.values() if n == "c") == 4
    moved = [g for g in grants if before[g] != owner[g]]
    assert len(moved) == 4  # only what c needed moved
