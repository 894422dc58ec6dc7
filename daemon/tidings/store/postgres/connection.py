"""Connecting to PostgreSQL the way the store needs it, and applying migrations."""

from __future__ import annotations

from typing import Any, Final, TypeAlias

import psycopg

from tidings.store.errors import MigrationError, StoreError
from tidings.store.schema import LATEST_VERSION, MIGRATIONS, statements_for

__all__ = [
    "Conn",
    "connect",
    "insert_into",
    "lock_event_log",
    "migrate",
    "placeholders",
    "schema_version",
]

Conn: TypeAlias = psycopg.Connection[tuple[Any, ...]]

# A transaction-level advisory lock serializes migrations across nodes: the first
# transaction may create the table the version is read from, so no row can be locked yet.
# The two-key form is scoped by the current schema's OID, so deployments that share one
# database in different schemas do not wait for each other.
_MIGRATION_LOCK: Final = (
    "SELECT pg_advisory_xact_lock(%s, (SELECT oid FROM pg_namespace"
    " WHERE nspname = current_schema())::int)"
)
_MIGRATION_CLASS: Final = 0x7464  # "td": the first key of the pair


def placeholders(count: int) -> str:
    return ",".join(["%s"] * count)


def insert_into(table: str, columns: str) -> str:
    """An INSERT of one row into `columns` (a comma-separated list), a placeholder each:
    the count follows the shared column lists when they change."""
    values = placeholders(columns.count(",") + 1)
    return f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608


def connect(dsn: str, *, application_name: str = "tidings") -> Conn:
    """A connection in autocommit mode: transactions are explicit (BEGIN ... COMMIT)."""
    try:
        conn = psycopg.connect(dsn, autocommit=True, application_name=application_name)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
    return conn


def lock_event_log(conn: Conn) -> None:
    """Serialize appends to the event log until the transaction ends.

    Positions come from an identity sequence, which hands out numbers at INSERT, not at
    COMMIT: without this lock a transaction could take position 10, another take 11 and
    commit first, and a reader following the log would pass 11 and never see 10 once it
    commits. Holding this lock from before the first position is taken until COMMIT makes
    commit order equal position order across every connection and node. The key is the
    events table's OID, unique in the database, so each schema has its own log lock.
    A transaction-level advisory lock does not conflict with autovacuum (a table lock in
    EXCLUSIVE mode would), and readers never take it.
    """
    conn.execute("SELECT pg_advisory_xact_lock('events'::regclass::oid::bigint)")


def schema_version(conn: Conn) -> int:
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    version = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(version[0]) if version else 0


def migrate(conn: Conn, target: int = LATEST_VERSION) -> int:
    """Bring the schema to `target`, one migration per transaction; returns the version.

    DDL is transactional in PostgreSQL: a failed migration leaves nothing behind. Each
    transaction takes the migration lock before reading the version, so nodes starting
    together apply every migration once.
    """
    try:
        current = _prepare(conn)
        for migration in MIGRATIONS:
            if migration.version <= current or migration.version > target:
                continue
            with conn.transaction():
                conn.execute(_MIGRATION_LOCK, (_MIGRATION_CLASS,))
                if schema_version(conn) >= migration.version:  # applied by another node
                    continue
                for statement in statements_for(migration, "postgresql"):
                    conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = %s", (migration.version,))
            current = migration.version
        return schema_version(conn)
    except psycopg.Error as exc:
        raise MigrationError(f"schema migration failed: {exc}") from exc


def _prepare(conn: Conn) -> int:
    with conn.transaction():
        conn.execute(_MIGRATION_LOCK, (_MIGRATION_CLASS,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = schema_version(conn)
        if current > LATEST_VERSION:
            raise MigrationError(
                f"the database has schema version {current}, newer than this build"
                f" knows ({LATEST_VERSION}); run a newer Tidings"
            )
        row = conn.execute("SELECT count(*) FROM schema_version").fetchone()
        if row is not None and row[0] == 0:
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
    return current
