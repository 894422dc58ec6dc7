"""Schema migrations: fresh databases, upgrades from an older version, refusals."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from tests.store import builders as b
from tidings.domain import Grant
from tidings.store import CredentialCipher, MessageQuery, MigrationError
from tidings.store.schema import LATEST_VERSION, MIGRATIONS
from tidings.store.sqlite.connection import connect_writer, migrate, schema_version
from tidings.store.sqlite.write_tx import SqliteWriteTx

# A grant row of the table as migrations 1 to 5 left it (migration 6 added `name`).
_INSERT_GRANT_BEFORE_6 = (
    "INSERT INTO grants (id, connector_id, email, provider_type, imap_host, imap_port,"
    " imap_security, smtp_host, smtp_port, smtp_security, imap_username, smtp_username,"
    " allow_plaintext, sync_window_days, state, state_reason, folders_done, folders_total,"
    " messages_done, messages_total, caller_state, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_old_grant(conn: sqlite3.Connection, g: Grant) -> None:
    """A grant row as a build before migration 6 wrote it."""
    p = g.progress
    conn.execute(
        _INSERT_GRANT_BEFORE_6,
        (g.id, g.connector_id, g.email, g.provider_type,
         g.imap.host, g.imap.port, g.imap.security.value,
         g.smtp.host, g.smtp.port, g.smtp.security.value,
         g.imap_username, g.smtp_username, int(g.allow_plaintext), g.sync_window_days,
         g.state.value, g.state_reason,
         p.folders_done, p.folders_total, p.messages_done, p.messages_total,
         g.caller_state, g.created_at, g.updated_at),
    )


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
    _insert_old_grant(conn, g)
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


async def test_grants_of_a_version_4_database_get_an_empty_display_name(tmp_path: Path
                                                                        ) -> None:
    path = tmp_path / "tidings.db"
    conn = connect_writer(path)
    assert migrate(conn, target=4) == 4
    c = b.connector()
    g = b.grant(c.id, caller_state="s1", sync_window_days=30)
    tx = SqliteWriteTx(conn, CredentialCipher(b.KEY))
    tx.begin_job()
    tx.create_connector(c)
    _insert_old_grant(conn, g)
    tx.end_job()
    conn.commit()
    conn.close()
    async with b.opened_store(tmp_path) as store:
        migrated = await store.get_grant(g.id)
        # Everything the grant had is kept; it has no display name until one is set.
        assert migrated == g
        assert migrated.name == ""
        named = replace(migrated, name="Ada Lovelace")
        await store.write(lambda tx: tx.update_grant(named))
        assert (await store.get_grant(g.id)).name == "Ada Lovelace"
        fresh = b.grant(c.id, email="grace@example.org", name="Grace Hopper")
        await store.write(lambda tx: tx.create_grant(fresh))
        assert [x.name for x in await store.list_grants(c.id)] == ["Ada Lovelace",
                                                                    "Grace Hopper"]
    assert schema_version(sqlite3.connect(path)) == LATEST_VERSION
    assert [(m.version, m.description) for m in MIGRATIONS if m.version == 6] == [
        (6, "grant display name")]
