"""Cluster nodes and grant leases in SQLite: reads, and the `WriteTx` part.

A SQLite database has one writer at a time (BEGIN IMMEDIATE), so a lease check and the
write it guards can never interleave with a takeover: reading the row is enough.
"""

# ruff: noqa: S608 -- only column lists and `?` placeholders are put into the SQL text;
# every value is a bound parameter.

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from tidings.store.leases import ClusterView, Fenced, Lease, NodeRecord
from tidings.store.sqlite.tx_base import TxBase

__all__ = ["LeaseReads", "LeasesTx", "read_cluster_view"]

R = TypeVar("R")

NODE_COLUMNS: Final = "id, host, pid, started_at, heartbeat_at"
LEASE_COLUMNS: Final = "grant_id, node_id, token, acquired_at, expires_at, restarts"


def _node(row: Sequence[Any]) -> NodeRecord:
    node_id, host, pid, started_at, heartbeat_at = row
    return NodeRecord(id=node_id, host=host, pid=int(pid), started_at=float(started_at),
                      heartbeat_at=float(heartbeat_at))


def _lease(row: Sequence[Any]) -> Lease:
    grant_id, node_id, token, acquired_at, expires_at, restarts = row
    return Lease(grant_id=grant_id, node_id=node_id, token=int(token),
                 acquired_at=float(acquired_at), expires_at=float(expires_at),
                 restarts=int(restarts))


def read_cluster_view(conn: sqlite3.Connection) -> ClusterView:
    nodes = conn.execute(f"SELECT {NODE_COLUMNS} FROM cluster_nodes ORDER BY id")
    leases = conn.execute(f"SELECT {LEASE_COLUMNS} FROM grant_leases ORDER BY grant_id")
    grants = conn.execute("SELECT id FROM grants ORDER BY id")
    return ClusterView(nodes=tuple(_node(row) for row in nodes),
                       leases=tuple(_lease(row) for row in leases),
                       grant_ids=tuple(grant_id for (grant_id,) in grants))


class LeasesTx(TxBase):
    """The `WriteTx` methods for cluster membership and leases."""

    def heartbeat(self, node: NodeRecord) -> None:
        self._exec(
            f"INSERT INTO cluster_nodes ({NODE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,"
            " heartbeat_at = excluded.heartbeat_at",
            (node.id, node.host, node.pid, node.started_at, node.heartbeat_at))

    def cluster_view(self) -> ClusterView:
        return read_cluster_view(self._conn)

    def acquire_leases(self, node_id: str, grant_ids: Sequence[str], now: float,
                       until: float) -> dict[str, int]:
        won: dict[str, int] = {}
        for grant_id in grant_ids:
            row = self._conn.execute(
                "INSERT INTO grant_leases (grant_id, node_id, token, acquired_at, expires_at,"
                " restarts) SELECT id, ?, 1, ?, ?, 0 FROM grants WHERE id = ?"
                " ON CONFLICT (grant_id) DO UPDATE SET node_id = excluded.node_id,"
                " token = grant_leases.token + 1, acquired_at = excluded.acquired_at,"
                " expires_at = excluded.expires_at"
                " WHERE grant_leases.node_id IS NULL OR grant_leases.expires_at <= ?"
                " OR grant_leases.node_id = ?"
                " RETURNING token",
                (node_id, now, until, grant_id, now, node_id)).fetchone()
            if row is not None:
                won[grant_id] = int(row[0])
        return won

    def renew_leases(self, node_id: str, tokens: Mapping[str, int], now: float,
                     until: float) -> set[str]:
        renewed: set[str] = set()
        for grant_id, token in tokens.items():
            row = self._conn.execute(
                "UPDATE grant_leases SET expires_at = ? WHERE grant_id = ? AND node_id = ?"
                " AND token = ? AND expires_at > ? RETURNING grant_id",
                (until, grant_id, node_id, token, now)).fetchone()
            if row is not None:
                renewed.add(grant_id)
        return renewed

    def release_leases(self, node_id: str, tokens: Mapping[str, int]) -> None:
        self._exec_many(
            "UPDATE grant_leases SET node_id = NULL, expires_at = 0"
            " WHERE grant_id = ? AND node_id = ? AND token = ?",
            [(grant_id, node_id, token) for grant_id, token in tokens.items()])

    def check_lease(self, grant_id: str, node_id: str, token: int, now: float) -> None:
        row = self._conn.execute(
            "SELECT 1 FROM grant_leases WHERE grant_id = ? AND node_id = ? AND token = ?"
            " AND expires_at > ?", (grant_id, node_id, token, now)).fetchone()
        if row is None:
            raise Fenced(grant_id, node_id, token)

    def request_restart(self, grant_id: str) -> None:
        self._exec("UPDATE grant_leases SET restarts = restarts + 1 WHERE grant_id = ?",
                   (grant_id,))

    def remove_node(self, node_id: str) -> None:
        self._exec("UPDATE grant_leases SET node_id = NULL, expires_at = 0 WHERE node_id = ?",
                   (node_id,))
        self._exec("DELETE FROM cluster_nodes WHERE id = ?", (node_id,))

    def purge_nodes(self, before: float) -> int:
        return self._exec("DELETE FROM cluster_nodes WHERE heartbeat_at < ?",
                          (before,)).rowcount


class LeaseReads:
    """The `Store` read method for the cluster; mixed into the SQLite store."""

    async def _read(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        raise NotImplementedError  # the store's own reader pool

    async def cluster_view(self) -> ClusterView:
        return await self._read(read_cluster_view)
