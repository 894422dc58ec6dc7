"""The PostgreSQL backend: several daemons can share one database."""

from __future__ import annotations

from tidings.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
