"""The SQLite backend."""

from __future__ import annotations

from tidings.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
