"""Schema migrations: fresh databases, upgrades from an older version, refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.store import builders as b
from tidings.store import CredentialCipher, MessageQuery, MigrationError
from tidings.store.schema import LATEST_VERSION, MIGRATIONS
from tidings.store.sqlite.connection import connect_writer, migrate, schema_version
from tidings.store.sqlite.write_tx import SqliteWriteTx


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }


async def test_a_new_database_gets_the_latest_schema(tmp_path: Path) -> None:
    async with b.opened_store(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / "tidings.db")
    assert schema_version(conn) == LATEST_VERSION == MIGRATIONS[-1].version
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert "messages_unread" in _indexes(tmp_path / "tidings.db")


async def test_an_old_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "tidings.db"
    conn = connect_writer(path)
    assert migrate(conn, target=1) == 1
    # Data written while the database was at version 1.
    c = b.connector()
    g = b.grant(c.id)
    inbox = b.folder(g.id)
    m = b.message(g.id, locations=b.at(inbox.id, 1))
    tx = SqliteWriteTx(conn, CredentialCipher(b.KEY))
    tx.begin_job()
    tx.create_connector(c)
    tx.create_grant(g)
    tx.upsert_folder(inbox)
    tx.insert_message(m)
    tx.end_job()
    conn.close()
    assert "messages_unread" not in _indexes(path)
    async with b.opened_store(tmp_path) as store:
        page = await store.list_messages(g.id, MessageQuery(unread=True))
        assert [item.id for item in page.items] == [m.id]
        assert (await store.get_thread(m.thread_id)).message_ids == (m.id,)
    assert schema_version(sqlite3.connect(path)) == LATEST_VERSION
    assert "messages_unread" in _indexes(path)


async def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tidings.db"
    conn = connect_writer(path)
    assert migrate(conn) == LATEST_VERSION
    before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert migrate(conn) == LATEST_VERSION
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tidings.db"
    conn = connect_writer(path)
    migrate(conn)
    conn.execute("UPDATE schema_version SET version = ?", (LATEST_VERSION + 1,))
    conn.close()
    with pytest.raises(MigrationError, match="newer than this build"):
        async with b.opened_store(tmp_path):
            pass


def test_a_failed_migration_leaves_the_old_version(tmp_path: Path) -> None:
    path = tmp_path / "tidings.db"
    conn = connect_writer(path)
    migrate(conn, target=1)
    conn.execute("CREATE TABLE clash (x)")
    conn.execute("CREATE INDEX messages_starred ON clash (x)")  # migration 2 will collide
    with pytest.raises(MigrationError):
        migrate(conn)
    assert schema_version(conn) == 1
    assert "messages_unread" not in _indexes(path)
