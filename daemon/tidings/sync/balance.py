"""How grants are spread over the live nodes: a pure decision, taken by every node for
itself from the same picture of the cluster.

Fair shares: with n grants and k live nodes (ordered by id), the first n mod k nodes
sync ⌈n/k⌉ grants and the others ⌊n/k⌋, so the shares add up to n exactly. A node
above its share gives back the excess; a node below it takes free leases. Which grants
a node prefers is decided by rendezvous hashing (the highest hash of node and grant),
so nodes reaching for free grants at the same moment mostly reach for different ones,
and a node that gives some back keeps the ones it prefers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from tidings.store.leases import Lease, NodeRecord

__all__ = ["LeasePlan", "fair_share", "live_nodes", "plan_leases", "preference"]


@dataclass(frozen=True, slots=True)
class LeasePlan:
    """What one node should do this round: the leases to take and the ones to give back,
    most wanted first."""

    acquire: tuple[str, ...] = ()
    release: tuple[str, ...] = ()


def preference(node_id: str, grant_id: str) -> int:
    """The node's rendezvous score for the grant: the same on every node and run."""
    digest = hashlib.blake2b(f"{node_id}\0{grant_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def live_nodes(nodes: Sequence[NodeRecord], me: str, now: float, ttl: float) -> list[str]:
    """The ids of nodes heard from within `ttl` seconds, this node always among them."""
    alive = {node.id for node in nodes if node.heartbeat_at > now - ttl}
    alive.add(me)
    return sorted(alive)


def fair_share(me: str, live: Collection[str], total: int) -> int:
    """How many of `total` grants this node should sync among the `live` nodes."""
    ordered = sorted(set(live) | {me})
    base, extra = divmod(total, len(ordered))
    return base + (1 if ordered.index(me) < extra else 0)


def plan_leases(
    me: str,
    live: Collection[str],
    grant_ids: Collection[str],
    leases: Mapping[str, Lease],
    held: Collection[str],
    now: float,
) -> LeasePlan:
    """Decide what `me` does: `held` are the grants whose lease it holds (renewed this
    round), `leases` every lease row by grant id, `grant_ids` every grant.

    A grant is free for `me` when its lease was never taken, was given back, has expired,
    or names `me` but is not among `held` (left over from an earlier run of this node).
    """
    existing = set(grant_ids)
    mine = [grant_id for grant_id in held if grant_id in existing]
    share = fair_share(me, live, len(existing))
    if len(mine) > share:
        keep_last = sorted(mine, key=lambda grant_id: (preference(me, grant_id), grant_id))
        return LeasePlan(release=tuple(keep_last[: len(mine) - share]))
    if len(mine) == share:
        return LeasePlan()
    holding = set(mine)
    free = [
        grant_id for grant_id in existing
        if grant_id not in holding and _free_for(me, leases.get(grant_id), now)
    ]
    free.sort(key=lambda grant_id: (preference(me, grant_id), grant_id), reverse=True)
    return LeasePlan(acquire=tuple(free[: share - len(mine)]))


def _free_for(me: str, lease: Lease | None, now: float) -> bool:
    return lease is None or lease.node_id is None or lease.expires_at <= now or \
        lease.node_id == me
