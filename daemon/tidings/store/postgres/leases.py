"""Cluster nodes and grant leases in PostgreSQL: reads, and the `WriteTx` part.

Several nodes write at once here, so row locks order a lease check against a takeover:
`check_lease` locks the lease row FOR SHARE until its transaction ends, and a takeover
locks it FOR UPDATE. A write that passed the check therefore commits before any
takeover of its grant, and a takeover that committed first makes the check fail (READ
COMMITTED re-reads the row once the lock is granted). Takeovers skip rows locked by a
transaction in flight rather than wait: a node frozen in the middle of a transaction
must not stall every other node's writer. Such a node would hold its lease rows locked
for as long as it stays frozen, so a transaction that checked a lease is ended by the
server once it sits idle for `FROZEN_AFTER` seconds (a write function never pauses
between statements for anywhere near that long); its locks go, and the lease is taken
on a later round.
"""

# ruff: noqa: S608 -- only column lists and `%s` placeholders are put into the SQL text;
# every value is a bound parameter.

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from tidings.store.leases import ClusterView, Fenced, Lease, NodeRecord
from tidings.store.postgres.connection import Conn
from tidings.store.postgres.tx_base import TxBase

__all__ = ["LeaseReads", "LeasesTx", "read_cluster_view"]

R = TypeVar("R")

NODE_COLUMNS: Final = "id, host, pid, started_at, heartbeat_at"
LEASE_COLUMNS: Final = "grant_id, node_id, token, acquired_at, expires_at, restarts"
FROZEN_AFTER: Final = 10


def _node(row: Sequence[Any]) -> NodeRecord:
    node_id, host, pid, started_at, heartbeat_at = row
    return NodeRecord(id=node_id, host=host, pid=int(pid), started_at=float(started_at),
                      heartbeat_at=float(heartbeat_at))


def _lease(row: Sequence[Any]) -> Lease:
    grant_id, node_id, token, acquired_at, expires_at, restarts = row
    return Lease(grant_id=grant_id, node_id=node_id, token=int(token),
                 acquired_at=float(acquired_at), expires_at=float(expires_at),
                 restarts=int(restarts))


def read_cluster_view(conn: Conn) -> ClusterView:
    nodes = conn.execute(f"SELECT {NODE_COLUMNS} FROM cluster_nodes ORDER BY id").fetchall()
    leases = conn.execute(
        f"SELECT {LEASE_COLUMNS} FROM grant_leases ORDER BY grant_id").fetchall()
    grants = conn.execute("SELECT id FROM grants ORDER BY id").fetchall()
    return ClusterView(nodes=tuple(_node(row) for row in nodes),
                       leases=tuple(_lease(row) for row in leases),
                       grant_ids=tuple(grant_id for (grant_id,) in grants))


class LeasesTx(TxBase):
    """The `WriteTx` methods for cluster membership and leases."""

    def heartbeat(self, node: NodeRecord) -> None:
        self._exec(
            f"INSERT INTO cluster_nodes ({NODE_COLUMNS}) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,"
            " heartbeat_at = excluded.heartbeat_at",
            (node.id, node.host, node.pid, node.started_at, node.heartbeat_at))

    def cluster_view(self) -> ClusterView:
        return read_cluster_view(self._conn)

    def acquire_leases(self, node_id: str, grant_ids: Sequence[str], now: float,
                       until: float) -> dict[str, int]:
        if not grant_ids:
            return {}
        wanted = list(grant_ids)
        won: dict[str, int] = {}
        # Existing rows: lock the free ones that nobody is using, then take them.
        taken = self._conn.execute(
            "WITH free AS (SELECT grant_id FROM grant_leases WHERE grant_id = ANY(%s)"
            " AND (node_id IS NULL OR expires_at <= %s OR node_id = %s)"
            " FOR UPDATE SKIP LOCKED)"
            " UPDATE grant_leases l SET node_id = %s, token = l.token + 1,"
            " acquired_at = %s, expires_at = %s FROM free WHERE l.grant_id = free.grant_id"
            " RETURNING l.grant_id, l.token",
            (wanted, now, node_id, node_id, now, until)).fetchall()
        won.update((grant_id, int(token)) for grant_id, token in taken)
        # Grants never leased: the first insert wins, the others insert nothing.
        created = self._conn.execute(
            "INSERT INTO grant_leases (grant_id, node_id, token, acquired_at, expires_at,"
            " restarts) SELECT id, %s, 1, %s, %s, 0 FROM grants WHERE id = ANY(%s)"
            " AND NOT EXISTS (SELECT 1 FROM grant_leases l WHERE l.grant_id = grants.id)"
            " ON CONFLICT (grant_id) DO NOTHING RETURNING grant_id, token",
            (node_id, now, until, wanted)).fetchall()
        won.update((grant_id, int(token)) for grant_id, token in created)
        return won

    def renew_leases(self, node_id: str, tokens: Mapping[str, int], now: float,
                     until: float) -> set[str]:
        if not tokens:
            return set()
        rows = self._conn.execute(
            "UPDATE grant_leases l SET expires_at = %s"
            " FROM unnest(%s::text[], %s::bigint[]) AS held (grant_id, token)"
            " WHERE l.grant_id = held.grant_id AND l.token = held.token"
            " AND l.node_id = %s AND l.expires_at > %s RETURNING l.grant_id",
            (until, list(tokens), list(tokens.values()), node_id, now)).fetchall()
        return {grant_id for (grant_id,) in rows}

    def release_leases(self, node_id: str, tokens: Mapping[str, int]) -> None:
        if not tokens:
            return
        self._exec(
            "UPDATE grant_leases l SET node_id = NULL, expires_at = 0"
            " FROM unnest(%s::text[], %s::bigint[]) AS held (grant_id, token)"
            " WHERE l.grant_id = held.grant_id AND l.token = held.token AND l.node_id = %s",
            (list(tokens), list(tokens.values()), node_id))

    def check_lease(self, grant_id: str, node_id: str, token: int, now: float) -> None:
        # set_config(..., true) lasts until the transaction ends; in the same statement it
        # costs no extra round trip.
        row = self._conn.execute(
            "SELECT set_config('idle_in_transaction_session_timeout', %s, true)"
            " FROM grant_leases WHERE grant_id = %s AND node_id = %s AND token = %s"
            " AND expires_at > %s FOR SHARE",
            (f"{FROZEN_AFTER}s", grant_id, node_id, token, now)).fetchone()
        if row is None:
            raise Fenced(grant_id, node_id, token)

    def request_restart(self, grant_id: str) -> None:
        self._exec("UPDATE grant_leases SET restarts = restarts + 1 WHERE grant_id = %s",
                   (grant_id,))

    def remove_node(self, node_id: str) -> None:
        self._exec("UPDATE grant_leases SET node_id = NULL, expires_at = 0 WHERE node_id = %s",
                   (node_id,))
        self._exec("DELETE FROM cluster_nodes WHERE id = %s", (node_id,))

    def purge_nodes(self, before: float) -> int:
        return self._exec("DELETE FROM cluster_nodes WHERE heartbeat_at < %s",
                          (before,)).rowcount


class LeaseReads:
    """The `Store` read method for the cluster; mixed into the PostgreSQL store."""

    async def _read(self, fn: Callable[[Conn], R]) -> R:
        raise NotImplementedError  # the store's own reader pool

    async def cluster_view(self) -> ClusterView:
        return await self._read(read_cluster_view)
