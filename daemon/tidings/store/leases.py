"""Cluster membership and grant leases as the store keeps them.

Each daemon sharing a database is a node with a heartbeat row. A grant is synced by the
one node that holds its lease row; the row's fencing token grows on every new
acquisition, so a write checked against an older token is refused (`Fenced`) however
late it reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.store.errors import StoreError

__all__ = ["ClusterView", "Fenced", "Lease", "NodeRecord"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRecord:
    """A daemon as it last reported itself."""

    id: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """Who syncs a grant, until when. `node_id` is None for a lease given back; the row
    stays so that the token keeps growing. `restarts` counts requests (from any node) that
    the holder restart the grant's sync, e.g. after its credentials changed."""

    grant_id: str
    node_id: str | None
    token: int
    acquired_at: float
    expires_at: float
    restarts: int = 0

    def held_by(self, node_id: str, now: float) -> bool:
        return self.node_id == node_id and self.expires_at > now


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterView:
    """Every node row, every lease row and every grant id, read in one transaction."""

    nodes: tuple[NodeRecord, ...]
    leases: tuple[Lease, ...]
    grant_ids: tuple[str, ...]


class Fenced(StoreError):
    """A sync write for a grant whose lease this node no longer holds (taken over,
    given back or expired): nothing of the write was kept."""

    def __init__(self, grant_id: str, node_id: str, token: int) -> None:
        super().__init__(
            f"node {node_id!r} no longer holds the lease of grant {grant_id!r}"
            f" (token {token})")
        self.grant_id = grant_id
        self.node_id = node_id
        self.token = token
