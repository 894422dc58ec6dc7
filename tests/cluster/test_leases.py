"""Lease rows in both stores: acquisition, renewal, expiry, takeover with a higher token,
giving back, the fencing check, restart requests and node rows."""

from __future__ import annotations

import functools

import pytest

from tests.store.builders import connector, grant
from tidings.store import Store, WriteTx
from tidings.store.leases import ClusterView, Fenced, NodeRecord

NOW = 1_800_000_000.0
TTL = 10.0


async def _grants(store: Store, count: int) -> list[str]:
    owner = connector()
    made = [grant(owner.id, email=f"u{index}@example.org") for index in range(count)]

    def write(tx: WriteTx) -> None:
        tx.create_connector(owner)
        for item in made:
            tx.create_grant(item)

    await store.write(write)
    return sorted(item.id for item in made)


async def _acquire(store: Store, node: str, grant_ids: list[str], now: float = NOW
                   ) -> dict[str, int]:
    return await store.write(lambda tx: tx.acquire_leases(node, grant_ids, now, now + TTL))


async def test_free_leases_are_taken_once_with_token_one(store: Store) -> None:
    grants = await _grants(store, 3)
    assert await _acquire(store, "a", grants) == dict.fromkeys(grants, 1)
    # Held by a: b gets none of them.
    assert await _acquire(store, "b", grants, NOW + 1) == {}
    view = await store.cluster_view()
    assert [(lease.grant_id, lease.node_id, lease.token) for lease in view.leases] == [
        (g, "a", 1) for g in grants]
    assert view.grant_ids == tuple(grants)


async def test_an_unknown_grant_gets_no_lease(store: Store) -> None:
    assert await _acquire(store, "a", ["no-such-grant"]) == {}
    assert (await store.cluster_view()).leases == ()


async def test_renewal_extends_only_unexpired_leases_with_the_right_token(store: Store) -> None:
    first, second, third = await _grants(store, 3)
    await _acquire(store, "a", [first, second, third])
    renewed = await store.write(lambda tx: tx.renew_leases(
        "a", {first: 1, second: 2}, NOW + 5, NOW + 5 + TTL))
    assert renewed == {first}  # second: wrong token
    renewed = await store.write(lambda tx: tx.renew_leases(
        "a", {first: 1, third: 1}, NOW + TTL + 1, NOW + 30))
    assert renewed == {first}  # third expired at NOW + TTL: lost, though nobody took it
    assert await store.write(lambda tx: tx.renew_leases("b", {first: 1}, NOW, NOW + 30)) == set()


async def test_an_expired_lease_is_taken_over_with_a_higher_token(store: Store) -> None:
    (grant_id,) = await _grants(store, 1)
    await _acquire(store, "a", [grant_id])
    assert await _acquire(store, "b", [grant_id], NOW + TTL - 0.1) == {}
    assert await _acquire(store, "b", [grant_id], NOW + TTL) == {grant_id: 2}
    assert await _acquire(store, "a", [grant_id], NOW + 2 * TTL) == {grant_id: 3}
    (lease,) = (await store.cluster_view()).leases
    assert (lease.node_id, lease.token, lease.acquired_at) == ("a", 3, NOW + 2 * TTL)


async def test_a_lease_given_back_is_free_at_once_and_its_token_keeps_growing(
        store: Store) -> None:
    first, second = await _grants(store, 2)
    await _acquire(store, "a", [first, second])
    await store.write(lambda tx: tx.release_leases("a", {first: 1, second: 7}))
    view = {lease.grant_id: lease for lease in (await store.cluster_view()).leases}
    assert view[first].node_id is None
    assert view[second].node_id == "a"  # a wrong token gives nothing back
    assert await _acquire(store, "b", [first, second], NOW + 1) == {first: 2}


def _check(tx: WriteTx, *, grant_id: str, node_id: str, token: int, now: float) -> None:
    tx.check_lease(grant_id, node_id, token, now)


async def test_check_lease_refuses_every_holder_but_the_current_one(store: Store) -> None:
    (grant_id,) = await _grants(store, 1)
    await _acquire(store, "a", [grant_id])
    await store.write(lambda tx: tx.check_lease(grant_id, "a", 1, NOW + 1))
    for node, token, now in (("b", 1, NOW + 1), ("a", 2, NOW + 1), ("a", 1, NOW + TTL)):
        with pytest.raises(Fenced) as refused:
            await store.write(functools.partial(_check, grant_id=grant_id, node_id=node,
                                                token=token, now=now))
        assert (refused.value.grant_id, refused.value.node_id) == (grant_id, node)
    await _acquire(store, "b", [grant_id], NOW + TTL)
    with pytest.raises(Fenced):
        await store.write(lambda tx: tx.check_lease(grant_id, "a", 1, NOW + 1))


async def test_a_fenced_write_keeps_nothing(store: Store) -> None:
    (grant_id,) = await _grants(store, 1)
    await _acquire(store, "a", [grant_id])
    await _acquire(store, "b", [grant_id], NOW + TTL)

    def stale_write(tx: WriteTx) -> None:
        tx.heartbeat(NodeRecord(id="a", host="h", pid=1, started_at=NOW, heartbeat_at=NOW))
        tx.check_lease(grant_id, "a", 1, NOW + TTL)

    with pytest.raises(Fenced):
        await store.write(stale_write)
    assert (await store.cluster_view()).nodes == ()


async def test_restart_requests_are_counted_on_the_lease(store: Store) -> None:
    (grant_id,) = await _grants(store, 1)
    await store.write(lambda tx: tx.request_restart(grant_id))  # no lease yet: nothing
    await _acquire(store, "a", [grant_id])
    await store.write(lambda tx: tx.request_restart(grant_id))
    await store.write(lambda tx: tx.request_restart(grant_id))
    (lease,) = (await store.cluster_view()).leases
    assert lease.restarts == 2


async def test_node_rows_heartbeat_leave_and_purge(store: Store) -> None:
    (grant_id,) = await _grants(store, 1)
    await store.write(lambda tx: tx.heartbeat(NodeRecord(
        id="a", host="box", pid=42, started_at=NOW, heartbeat_at=NOW)))
    await store.write(lambda tx: tx.heartbeat(NodeRecord(
        id="a", host="box", pid=43, started_at=NOW + 9, heartbeat_at=NOW + 9)))
    await store.write(lambda tx: tx.heartbeat(NodeRecord(
        id="b", host="other", pid=7, started_at=NOW, heartbeat_at=NOW)))
    view: ClusterView = await store.cluster_view()
    a, b = view.nodes
    assert (a.id, a.pid, a.started_at, a.heartbeat_at) == ("a", 43, NOW, NOW + 9)
    await _acquire(store, "a", [grant_id], NOW + 9)
    await store.write(lambda tx: tx.remove_node("a"))
    view = await store.cluster_view()
    assert [node.id for node in view.nodes] == ["b"]
    assert view.leases[0].node_id is None
    assert await store.write(lambda tx: tx.purge_nodes(NOW + 1)) == 1
    assert (await store.cluster_view()).nodes == ()
    assert b.host == "other"


async def test_a_deleted_grant_takes_its_lease_with_it(store: Store) -> None:
    (grant_id,) = await _grants(store, 1)
    await _acquire(store, "a", [grant_id])
    await store.write(lambda tx: tx.delete_grant(grant_id))
    assert (await store.cluster_view()).leases == ()
    with pytest.raises(Fenced):
        await store.write(lambda tx: tx.check_lease(grant_id, "a", 1, NOW + 1))
