"""Migration 9 (trigram indexes for the subject filter) on a database that already holds
mail: the index covers the existing messages and threads, on both back ends, and a
PostgreSQL role that may not install pg_trgm still migrates and still filters."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.store import builders as b
from tests.support.postgres import PostgresServer
from tidings.domain import Message
from tidings.store import CredentialCipher, MessageQuery, Store, ThreadQuery
from tidings.store.postgres import connection as pg_connection
from tidings.store.postgres.write_tx import PostgresWriteTx
from tidings.store.schema import LATEST_VERSION
from tidings.store.sqlite import connection as sqlite_connection
from tidings.store.sqlite.write_tx import SqliteWriteTx

SUBJECTS = ("Quarterly budget", "Lunch on Friday", "Re: Budget for März", "Straße closed")


def _mail(grant_id: str, folder_id: str) -> list[Message]:
    return [
        b.message(grant_id, subject=subject, locations=b.at(folder_id, uid))
        for uid, subject in enumerate(SUBJECTS, start=1)
    ]


async def _assert_filters(store: Store, grant_id: str, messages: list[Message]) -> None:
    by_subject = {m.subject: m for m in messages}
    page = await store.list_messages(grant_id, MessageQuery(subject="BUDGET"))
    assert [m.id for m in page.items] == [
        by_subject["Re: Budget for März"].id,
        by_subject["Quarterly budget"].id,
    ]
    page = await store.list_messages(grant_id, MessageQuery(subject="strasse"))
    assert [m.id for m in page.items] == [by_subject["Straße closed"].id]
    threads = await store.list_threads(grant_id, ThreadQuery(subject="friday"))
    assert [t.id for t in threads.items] == [by_subject["Lunch on Friday"].thread_id]


async def test_a_sqlite_database_with_mail_gets_subject_indexes(tmp_path: Path) -> None:
    path = tmp_path / "tidings.db"
    conn = sqlite_connection.connect_writer(path)
    assert sqlite_connection.migrate(conn, target=8) == 8
    c = b.connector()
    g = b.grant(c.id)
    inbox = b.folder(g.id)
    messages = _mail(g.id, inbox.id)
    tx = SqliteWriteTx(conn, CredentialCipher(b.KEY))
    conn.execute("BEGIN IMMEDIATE")
    tx.begin_job()
    tx.create_connector(c)
    tx.create_grant(g)
    tx.upsert_folder(inbox)
    for m in messages:
        tx.insert_message(m)
    tx.end_job()
    conn.execute("COMMIT")
    conn.close()
    async with b.opened_store(tmp_path) as store:
        await _assert_filters(store, g.id, messages)
    with sqlite3.connect(path) as check:
        assert sqlite_connection.schema_version(check) == LATEST_VERSION
        indexed = check.execute("SELECT rowid, subject_search FROM message_subjects ORDER BY 1")
        stored = check.execute("SELECT rowid, subject_search FROM messages ORDER BY 1")
        assert indexed.fetchall() == stored.fetchall() != []
        found = check.execute(
            "SELECT count(*) FROM message_subjects WHERE message_subjects MATCH '\"budget\"'"
        ).fetchone()
        assert found == (2,)


def _pg_indexes(conn: pg_connection.Conn) -> set[str]:
    rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    return {name for (name,) in rows}


def _pg_fill(dsn: str) -> tuple[str, list[Message]]:
    """Migrations 1-8 and some mail, as a build before migration 9 left them."""
    with pg_connection.connect(dsn) as conn:
        assert pg_connection.migrate(conn, target=8) == 8
        c = b.connector()
        g = b.grant(c.id)
        inbox = b.folder(g.id)
        messages = _mail(g.id, inbox.id)
        tx = PostgresWriteTx(conn, CredentialCipher(b.KEY))
        with conn.transaction():
            tx.begin_job()
            tx.create_connector(c)
            tx.create_grant(g)
            tx.upsert_folder(inbox)
            for m in messages:
                tx.insert_message(m)
            tx.end_job()
    return g.id, messages


async def test_a_postgres_schema_with_mail_gets_trigram_indexes(postgres_dsn: str) -> None:
    grant_id, messages = _pg_fill(postgres_dsn)
    async with b.opened_store(postgres_dsn) as store:
        await _assert_filters(store, grant_id, messages)
    with pg_connection.connect(postgres_dsn) as conn:
        assert pg_connection.schema_version(conn) == LATEST_VERSION
        assert {"messages_subject_trigrams", "threads_subject_trigrams"} <= _pg_indexes(conn)
        with conn.transaction():
            # Four rows are read fastest without an index; forbid that to see it used.
            conn.execute("SET LOCAL enable_seqscan = off")
            plan = conn.execute(
                "EXPLAIN SELECT id FROM messages WHERE subject_search LIKE '%budget%'"
            ).fetchall()
        assert "messages_subject_trigrams" in " ".join(line for (line,) in plan)


@pytest.fixture
def limited_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of its own where a role owns a schema but may not install extensions
    (no CREATE on the database)."""
    role, database = "tidings_limited", "tidings_limited"
    with postgres_server.admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    with psycopg.connect(postgres_server.dsn(database), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA mail AUTHORIZATION {}").format(sql.Identifier(role)))
    dsn = postgres_server.dsn(database).replace(f"//{postgres_server.user}@", f"//{role}@")
    yield f"{dsn}?options=-csearch_path%3Dmail"
    with postgres_server.admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def test_without_pg_trgm_the_migration_passes_and_filters_still_work(
    limited_dsn: str,
) -> None:
    grant_id, messages = _pg_fill(limited_dsn)
    async with b.opened_store(limited_dsn) as store:
        await _assert_filters(store, grant_id, messages)
    with pg_connection.connect(limited_dsn) as conn:
        assert pg_connection.schema_version(conn) == LATEST_VERSION
        assert "messages_subject_trigrams" not in _pg_indexes(conn)
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"
                            ).fetchone() == (0,)  # fmt: skip
