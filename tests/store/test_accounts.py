"""Connectors, grants, credentials and folders: round trips and rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
import pytest

from tests.store import builders as b
from tidings.domain import (
    ConnectorSettings,
    Credentials,
    EventType,
    FolderRole,
    GrantState,
    Location,
    SyncProgress,
)
from tidings.store import (
    KEEP,
    Conflict,
    CredentialsError,
    NotFound,
    Store,
    WriteTx,
    open_store,
)


async def test_connector_round_trip_update_and_delete(store: Store) -> None:
    c = b.connector(
        settings=ConnectorSettings(
            sync_window_days=30,
            strict_message_id=True,
            poll_interval=12.5,
            allowed_redirect_uris=("https://app.example/cb",),
        )
    )
    await store.write(lambda tx: tx.create_connector(c))
    assert await store.get_connector(c.id) == c
    renamed = dataclasses.replace(c, name="renamed", updated_at=b.NOW + 5)
    await store.write(lambda tx: tx.update_connector(renamed))
    assert await store.list_connectors() == [renamed]
    await store.write(lambda tx: tx.delete_connector(c.id))
    with pytest.raises(NotFound):
        await store.get_connector(c.id)
    with pytest.raises(Conflict):
        await store.write(lambda tx: (tx.create_connector(c), tx.create_connector(c)))


async def test_a_connector_with_grants_is_not_deleted(store: Store) -> None:
    g, _ = await b.account(store)
    with pytest.raises(Conflict, match="still has grants"):
        await store.write(lambda tx: tx.delete_connector(g.connector_id))


async def test_grant_round_trip_state_and_progress(store: Store) -> None:
    g, _ = await b.account(store)
    assert await store.get_grant(g.id) == g
    await store.write(lambda tx: tx.set_grant_state(g.id, GrantState.DEGRADED, "UIDVALIDITY"))
    await store.write(lambda tx: tx.set_grant_progress(g.id, SyncProgress(1, 4, 10, 400)))
    stored = await store.get_grant(g.id)
    assert (stored.state, stored.state_reason) == (GrantState.DEGRADED, "UIDVALIDITY")
    assert stored.progress == SyncProgress(1, 4, 10, 400)
    assert stored.updated_at > g.updated_at
    changed = dataclasses.replace(
        stored,
        email="new@example.org",
        caller_state="xyz",
        sync_window_days=7,
        allow_plaintext=True,
    )
    await store.write(lambda tx: tx.update_grant(changed))
    assert await store.get_grant(g.id) == changed
    assert await store.list_grants(g.connector_id) == [changed]
    assert await store.list_grants("other") == []


async def test_grant_needs_an_existing_connector(store: Store) -> None:
    with pytest.raises(NotFound, match="connector"):
        await store.write(lambda tx: tx.create_grant(b.grant("missing")))


async def test_missing_objects_raise_not_found(store: Store) -> None:
    for read in (
        store.get_grant,
        store.get_folder,
        store.get_message,
        store.get_thread,
        store.get_credentials,
        store.get_connector,
    ):
        with pytest.raises(NotFound):
            await read("nope")
    with pytest.raises(NotFound):
        await store.write(lambda tx: tx.set_grant_state("nope", GrantState.VALID, None))
    with pytest.raises(NotFound):
        await store.write(lambda tx: tx.delete_grant("nope"))


def _stored_bytes(target: str) -> bytes:
    """What the database holds: for SQLite the file with its WAL, everything written; for
    PostgreSQL the credentials table as the server returns it."""
    if "://" in target:
        with psycopg.connect(target) as conn:
            return b"".join(bytes(row[0]) for row in conn.execute("SELECT sealed FROM credentials"))
    directory = Path(target).parent
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


async def test_credentials_are_encrypted_at_rest(store_target: str) -> None:
    password = "correct horse battery staple"
    async with b.opened_store(store_target) as store:
        g, _ = await b.account(store)
        await store.write(lambda tx: tx.set_credentials(g.id, Credentials(password, password)))
        assert await store.get_credentials(g.id) == Credentials(password, password)
        await store.write(lambda tx: tx.set_credentials(g.id, Credentials("second", password)))
        assert (await store.get_credentials(g.id)).imap_password == "second"
        stored = _stored_bytes(store_target)
        assert stored
        assert password.encode() not in stored
        assert b"second" not in stored
    # The same database read with another key gives a clear error, not garbage.
    async with open_store(store_target, bytes(32)) as other:
        with pytest.raises(CredentialsError):
            await other.get_credentials(g.id)


async def test_folders_upsert_sync_state_and_unique_names(store: Store) -> None:
    g, inbox = await b.account(store)
    sent = b.folder(g.id, "Sent", role=FolderRole.SENT, attributes=("\\Sent",))
    await store.write(lambda tx: tx.upsert_folder(sent))
    assert [f.name for f in await store.list_folders(g.id)] == ["INBOX", "Sent"]
    renamed = dataclasses.replace(sent, name="Sent Items", parent_id=inbox.id)
    await store.write(lambda tx: tx.upsert_folder(renamed))
    assert await store.get_folder(sent.id) == renamed
    await store.write(
        lambda tx: tx.set_folder_sync(
            inbox.id,
            uidvalidity=7,
            uidnext=100,
            highestmodseq=None,
            sync_state="live",
            total_count=5,
            unread_count=2,
            last_uidvalidity_check=123.5,
        )
    )
    synced = await store.get_folder(inbox.id)
    assert (synced.uidvalidity, synced.uidnext, synced.highestmodseq, synced.sync_state) == (
        7,
        100,
        None,
        "live",
    )
    assert (synced.total_count, synced.unread_count, synced.last_uidvalidity_check) == (5, 2, 123.5)
    await store.write(lambda tx: tx.set_folder_sync(inbox.id, uidnext=KEEP, uidvalidity_changes=3))
    assert (await store.get_folder(inbox.id)).uidvalidity_changes == 3
    assert (await store.get_folder(inbox.id)).uidnext == 100
    clash = b.folder(g.id, "INBOX")
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.upsert_folder(clash))


async def test_deleting_a_folder_keeps_its_messages(store: Store) -> None:
    g, inbox = await b.account(store)
    archive = b.folder(g.id, "Archive")
    await store.write(lambda tx: tx.upsert_folder(archive))
    m = b.message(g.id, locations=(Location(inbox.id, 1), Location(archive.id, 9)))
    await b.insert(store, m)
    assert await store.write(lambda tx: tx.delete_folder(inbox.id)) == [m.id]
    stored = await store.get_message(m.id)
    assert stored.locations == (Location(archive.id, 9),)
    assert (await store.get_thread(m.thread_id)).folder_ids == (archive.id,)


async def test_deleting_a_grant_removes_its_data_but_keeps_its_events(store: Store) -> None:
    g, inbox = await b.account(store)
    other, other_inbox = await b.account(store)
    m = b.message(g.id, locations=b.at(inbox.id, 1))
    kept = b.message(other.id, locations=b.at(other_inbox.id, 1))
    await b.insert(store, m, kept)

    def delete(tx: WriteTx) -> None:
        tx.set_credentials(g.id, Credentials("a", "b"))
        tx.delete_grant(g.id)
        tx.append_event(b.event(g.id, EventType.GRANT_DELETED))

    await store.write(delete)
    for read, object_id in (
        (store.get_grant, g.id),
        (store.get_folder, inbox.id),
        (store.get_message, m.id),
        (store.get_thread, m.thread_id),
        (store.get_credentials, g.id),
    ):
        with pytest.raises(NotFound):
            await read(object_id)
    assert await store.list_folders(g.id) == []
    assert [e.type for e in await store.read_events(0, 10)] == [EventType.GRANT_DELETED]
    assert (await store.get_message(kept.id)).id == kept.id
