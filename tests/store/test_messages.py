"""Messages: round trips, identity, locations across folders, UIDVALIDITY rematch."""

from __future__ import annotations

import dataclasses

import pytest

from tests.store import builders as b
from tidings.domain import EmailAddress, Folder, Grant, Location, new_id
from tidings.store import Conflict, NotFound, Store, WriteTx


async def _two_folders(store: Store) -> tuple[Grant, Folder, Folder]:
    g, inbox = await b.account(store)
    archive = b.folder(g.id, "Archive")
    await store.write(lambda tx: tx.upsert_folder(archive))
    return g, inbox, archive


async def test_message_round_trip_keeps_every_field(store: Store) -> None:
    g, inbox = await b.account(store)
    message_id = new_id()
    m = b.message(
        g.id,
        id=message_id,
        synthetic_id=True,
        subject="Grüße ✓",
        cc=(EmailAddress("C", "c@example.org"),),
        bcc=(EmailAddress(None, "d@example.org"),),
        reply_to=(EmailAddress("R", "r@example.org"),),
        sent_date=999,
        size=4321,
        flags=("\\Seen", "$Label1"),
        locations=b.at(inbox.id, 42),
        text_body="hi",
        html_body="<p>hi</p>",
        headers=(("Subject", "Grüße ✓"), ("X-A", "1"), ("X-A", "2")),
        attachments=(
            b.attachment(message_id, "2"),
            b.attachment(message_id, "3", is_inline=True, content_id="<c1>"),
        ),
        in_reply_to=("<p@x>",),
        references=("<r@x>", "<p@x>"),
        warnings=("charset",),
    )
    await b.insert(store, m)
    stored = await store.get_message(m.id)
    assert stored == dataclasses.replace(m, flags=("$Label1", "\\Seen"))
    assert stored.folder_ids == (inbox.id,)
    assert not stored.unread
    assert stored.has_attachments
    assert await store.write(lambda tx: tx.message(m.id)) == stored


async def test_identity_lookup_uses_message_id_and_content_hash(store: Store) -> None:
    g, _ = await b.account(store)
    first = b.message(g.id, message_id_header="<same@x>", content_hash="aaa", date=10)
    second = b.message(g.id, message_id_header="<same@x>", content_hash="bbb", date=20)
    await b.insert(store, first, second)

    def lookups(tx: WriteTx) -> list[str | None]:
        return [
            tx.find_message(g.id, "<same@x>", "aaa"),
            tx.find_message(g.id, "<same@x>", "bbb"),
            tx.find_message(g.id, "<same@x>", "ccc"),
            tx.find_message(g.id, "<same@x>", None),
            tx.find_message(g.id, "<other@x>", None),
            tx.find_message("another-grant", "<same@x>", "aaa"),
        ]

    assert await store.write(lookups) == [first.id, second.id, None, first.id, None, None]
    duplicate = b.message(g.id, message_id_header="<same@x>", content_hash="aaa")
    with pytest.raises(Conflict):
        await b.insert(store, duplicate)


async def test_a_move_keeps_the_message_id(store: Store) -> None:
    g, inbox, archive = await _two_folders(store)
    m = b.message(g.id, locations=b.at(inbox.id, 5))
    await b.insert(store, m)

    def move(tx: WriteTx) -> str | None:
        moved = tx.remove_location(inbox.id, 5)
        assert moved is not None
        tx.add_location(moved, archive.id, 77)
        return moved

    assert await store.write(move) == m.id
    stored = await store.get_message(m.id)
    assert stored.locations == (Location(archive.id, 77),)
    assert await store.folder_uid_map(inbox.id) == {}
    assert await store.folder_uid_map(archive.id) == {77: (m.id, ())}
    assert await store.write(lambda tx: tx.remove_location(inbox.id, 5)) is None


async def test_a_message_in_two_folders_and_flag_changes(store: Store) -> None:
    g, inbox, archive = await _two_folders(store)
    m = b.message(g.id, locations=b.at(inbox.id, 1))
    await b.insert(store, m)
    await store.write(lambda tx: tx.add_location(m.id, archive.id, 2))
    await store.write(lambda tx: tx.add_location(m.id, archive.id, 2))  # idempotent
    await store.write(lambda tx: tx.set_flags(m.id, ["\\Seen", "\\Flagged"]))
    stored = await store.get_message(m.id)
    assert stored.folder_ids == (inbox.id, archive.id)
    assert stored.starred
    assert not stored.unread
    assert await store.folder_uid_map(archive.id) == {2: (m.id, ("\\Flagged", "\\Seen"))}
    await store.write(lambda tx: tx.remove_location(inbox.id, 1))
    assert await store.write(lambda tx: tx.messages_without_location(g.id)) == []
    await store.write(lambda tx: tx.remove_location(archive.id, 2))
    assert await store.write(lambda tx: tx.messages_without_location(g.id)) == [m.id]


async def test_a_uid_names_one_message(store: Store) -> None:
    g, inbox = await b.account(store)
    m, other = b.message(g.id, locations=b.at(inbox.id, 1)), b.message(g.id)
    await b.insert(store, m, other)
    with pytest.raises(Conflict, match="UID 1"):
        await store.write(lambda tx: tx.add_location(other.id, inbox.id, 1))
    with pytest.raises(NotFound):
        await store.write(lambda tx: tx.add_location("missing", inbox.id, 3))
    with pytest.raises(NotFound):
        await store.write(lambda tx: tx.add_location(m.id, "missing", 3))


async def test_uidvalidity_change_then_rematch(store: Store) -> None:
    g, inbox, archive = await _two_folders(store)
    kept = b.message(g.id, locations=(Location(inbox.id, 1), Location(archive.id, 1)))
    gone = b.message(g.id, locations=b.at(inbox.id, 2))
    await b.insert(store, kept, gone)
    assert await store.write(lambda tx: tx.drop_folder_uids(inbox.id)) == 2
    assert await store.folder_uid_map(inbox.id) == {}
    assert await store.folder_uid_map(archive.id) == {1: (kept.id, ())}
    # While unmatched, the messages still show in the folder.
    assert (await store.get_message(gone.id)).locations == (Location(inbox.id, None),)
    assert sorted(await store.write(lambda tx: tx.unmatched_in_folder(inbox.id))) == sorted(
        [kept.id, gone.id]
    )

    def rematch(tx: WriteTx) -> list[str]:
        # The server renumbered the folder; only `kept` is still there, now as UID 500.
        found = tx.find_message(g.id, kept.message_id_header, kept.content_hash)
        assert found == kept.id
        tx.add_location(found, inbox.id, 500)
        return tx.clear_unmatched(inbox.id)

    assert await store.write(rematch) == [gone.id]
    assert await store.folder_uid_map(inbox.id) == {500: (kept.id, ())}
    assert (await store.get_message(kept.id)).locations == (
        Location(inbox.id, 500),
        Location(archive.id, 1),
    )
    assert await store.write(lambda tx: tx.messages_without_location(g.id)) == [gone.id]


async def test_delete_and_purge(store: Store) -> None:
    g, inbox = await b.account(store)
    old = b.message(g.id, date=100, locations=b.at(inbox.id, 1))
    older = b.message(g.id, date=50, locations=b.at(inbox.id, 2))
    new = b.message(g.id, date=1000, locations=b.at(inbox.id, 3))
    await b.insert(store, old, older, new)
    await store.write(lambda tx: tx.delete_message(new.id))
    with pytest.raises(NotFound):
        await store.get_message(new.id)
    with pytest.raises(NotFound):
        await store.get_thread(new.thread_id)
    assert await store.write(lambda tx: tx.purge_messages_before(g.id, 101)) == 2
    assert await store.folder_uid_map(inbox.id) == {}
    assert await store.read_events(0, 10) == []  # ageing out is silent


async def test_folder_uid_map_of_a_large_folder(store: Store) -> None:
    g, inbox = await b.account(store)
    messages = [
        b.message(g.id, locations=b.at(inbox.id, uid), flags=("\\Seen",) if uid % 3 else ())
        for uid in range(1, 2001)
    ]
    await b.insert(store, *messages)
    uid_map = await store.folder_uid_map(inbox.id)
    assert len(uid_map) == 2000
    assert uid_map[3] == (messages[2].id, ())
    assert uid_map[4] == (messages[3].id, ("\\Seen",))
