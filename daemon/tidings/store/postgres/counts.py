"""Whole-store counts for health checks and metrics: one indexed scan each, no rows loaded."""

from __future__ import annotations

from tidings.store.postgres.connection import Conn

__all__ = ["count_folders_by_sync_state", "count_grants_by_state"]


def count_grants_by_state(conn: Conn) -> dict[str, int]:
    rows = conn.execute("SELECT state, count(*) FROM grants GROUP BY state")
    return {state: count for state, count in rows}


def count_folders_by_sync_state(conn: Conn) -> dict[str, int]:
    rows = conn.execute("SELECT sync_state, count(*) FROM folders GROUP BY sync_state")
    return {state: count for state, count in rows}
