"""Opening SQLite connections the way the store needs them, and applying migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tidings.store.errors import MigrationError, StoreError
from tidings.store.schema import LATEST_VERSION, MIGRATIONS, statements_for

__all__ = ["connect_reader", "connect_writer", "migrate", "schema_version"]


def connect_writer(path: Path) -> sqlite3.Connection:
    """The one connection that writes. `isolation_level=None`: transactions are explicit."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL fsyncs the WAL at each commit: a position a subscriber has seen is never
        # lost and handed out again after a power cut. Batched commits keep this cheap.
        conn.execute("PRAGMA synchronous = FULL")
        _common_pragmas(conn)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection; in WAL mode it reads a snapshot and never blocks the writer."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _common_pragmas(conn)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    return conn


def _common_pragmas(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -16000")  # 16 MB per connection


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row is None:
        return 0
    version = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(version[0]) if version else 0


def migrate(conn: sqlite3.Connection, target: int = LATEST_VERSION) -> int:
    """Bring the schema to `target`, one migration per transaction; returns the version.

    BEGIN IMMEDIATE takes the write lock before the version is read, so two processes
    opening the same new database cannot both apply a migration.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = schema_version(conn)
            if current > LATEST_VERSION:
                raise MigrationError(
                    f"the database has schema version {current}, newer than this build"
                    f" knows ({LATEST_VERSION}); run a newer Tidings"
                )
            if (
                current == 0
                and conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0
            ):
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for migration in MIGRATIONS:
            if migration.version <= current or migration.version > target:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                if schema_version(conn) >= migration.version:  # applied by another process
                    conn.execute("ROLLBACK")
                    continue
                for statement in statements_for(migration, "sqlite"):
                    conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = ?", (migration.version,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            current = migration.version
    except sqlite3.Error as exc:
        raise MigrationError(f"schema migration failed: {exc}") from exc
    return schema_version(conn)
