"""Schema migrations on PostgreSQL: fresh schemas, upgrades, refusals, nodes starting at once."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg import sql

from tests.store import builders as b
from tidings.domain import Grant
from tidings.store import CredentialCipher, MessageQuery, MigrationError
from tidings.store.postgres.connection import Conn, connect, migrate, schema_version
from tidings.store.postgres.write_tx import PostgresWriteTx
from tidings.store.schema import LATEST_VERSION, MIGRATIONS
from tidings.store.sqlite.rows import GRANT_COLUMNS, grant_params


def _insert_old_grant(conn: Conn, g: Grant) -> None:
    """The grant as an older build wrote it: only the columns its schema had."""
    existing = {
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'grants'"
        )
    }
    columns = [name.strip() for name in GRANT_COLUMNS.split(",")]
    kept = [(name, value) for name, value in zip(columns, grant_params(g), strict=True)
            if name in existing]  # fmt: skip
    conn.execute(
        sql.SQL("INSERT INTO grants ({}) VALUES ({})").format(
            sql.SQL(", ").join(sql.Identifier(name) for name, _ in kept),
            sql.SQL(", ").join(sql.Placeholder() * len(kept)),
        ),
        [value for _, value in kept],
    )


def _indexes(conn: Conn) -> set[str]:
    rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    return {name for (name,) in rows}


def _schema(conn: Conn) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT table_name, column_name || ' ' || data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    return [(table, column) for table, column in rows]


async def test_a_new_schema_gets_the_latest_version(postgres_dsn: str) -> None:
    async with b.opened_store(postgres_dsn):
        pass
    with connect(postgres_dsn) as conn:
        assert schema_version(conn) == LATEST_VERSION == MIGRATIONS[-1].version
        assert "messages_unread" in _indexes(conn)
        # The dialect's types: a bigint identity for the log, bytea, double precision.
        columns = _schema(conn)
        assert ("events", "position bigint") in columns
        assert ("credentials", "sealed bytea") in columns
        assert ("connectors", "created_at double precision") in columns


async def test_an_old_schema_is_migrated_and_keeps_its_data(postgres_dsn: str) -> None:
    with connect(postgres_dsn) as conn:
        assert migrate(conn, target=1) == 1
        c = b.connector()
        g = b.grant(c.id)
        inbox = b.folder(g.id)
        m = b.message(g.id, locations=b.at(inbox.id, 1))
        tx = PostgresWriteTx(conn, CredentialCipher(b.KEY))
        with conn.transaction():
            tx.begin_job()
            tx.create_connector(c)
            _insert_old_grant(conn, g)
            tx.upsert_folder(inbox)
            tx.insert_message(m)
            tx.end_job()
        assert "messages_unread" not in _indexes(conn)
    async with b.opened_store(postgres_dsn) as store:
        page = await store.list_messages(g.id, MessageQuery(unread=True))
        assert [item.id for item in page.items] == [m.id]
        assert (await store.get_thread(m.thread_id)).message_ids == (m.id,)
    with connect(postgres_dsn) as conn:
        assert schema_version(conn) == LATEST_VERSION
        assert "messages_unread" in _indexes(conn)


def test_migrating_twice_changes_nothing(postgres_dsn: str) -> None:
    with connect(postgres_dsn) as conn:
        assert migrate(conn) == LATEST_VERSION
        before = (_schema(conn), _indexes(conn))
        assert migrate(conn) == LATEST_VERSION
        assert (_schema(conn), _indexes(conn)) == before


async def test_a_newer_schema_is_refused(postgres_dsn: str) -> None:
    with connect(postgres_dsn) as conn:
        migrate(conn)
        conn.execute("UPDATE schema_version SET version = %s", (LATEST_VERSION + 1,))
    with pytest.raises(MigrationError, match="newer than this build"):
        async with b.opened_store(postgres_dsn):
            pass


def test_a_failed_migration_leaves_nothing_of_itself(postgres_dsn: str) -> None:
    with connect(postgres_dsn) as conn:
        migrate(conn, target=1)
        conn.execute("CREATE TABLE clash (x integer)")
        conn.execute("CREATE INDEX messages_starred ON clash (x)")  # migration 2 collides
        with pytest.raises(MigrationError):
            migrate(conn)
        assert schema_version(conn) == 1
        # DDL is transactional: the index created before the collision is gone too.
        assert "messages_unread" not in _indexes(conn)


def test_nodes_migrating_at_once_apply_each_migration_once(postgres_dsn: str) -> None:
    results: list[int | BaseException] = []
    start = threading.Barrier(4)

    def node() -> None:
        try:
            with connect(postgres_dsn) as conn:
                start.wait(10)
                results.append(migrate(conn))
        except BaseException as exc:  # reported below
            results.append(exc)

    threads = [threading.Thread(target=node) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [LATEST_VERSION] * 4
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)
