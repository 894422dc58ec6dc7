"""Choosing a backend from a database URL or path: SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tidings.store.errors import StoreError
from tidings.store.interface import Store
from tidings.store.postgres import PostgresStore
from tidings.store.sqlite import SqliteStore

__all__ = ["open_store"]


def open_store(url_or_path: str | Path, key: bytes) -> Store:
    """A store for `sqlite:///path/to/file.db`, a plain file path, or a PostgreSQL URL
    (`postgresql://user:password@host:5432/dbname`, every libpq parameter allowed); not
    yet opened.

    Use it as `async with open_store(url, key) as store:`.
    """
    text = str(url_or_path)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStore(text, key)
    if text.startswith("sqlite://"):
        text = text.removeprefix("sqlite://")
        if not text.startswith("/"):
            raise StoreError("a sqlite URL needs an absolute path: sqlite:///path/to/file.db")
    elif "://" in text:
        raise StoreError(f"unsupported database URL scheme in {text.split('://')[0]!r}")
    if text in ("", ":memory:"):
        raise StoreError("the store needs a database file (readers use their own connections)")
    return SqliteStore(text, key)
