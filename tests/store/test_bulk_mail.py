"""Batch writes and look-ups for the sync: many messages at once, on both back ends."""

from __future__ import annotations

import pytest

from tests.store.builders import account, at, attachment, message
from tidings.domain import EmailAddress, new_id
from tidings.store import (
    Conflict,
    MessageQuery,
    NotFound,
    Store,
    SubjectLatest,
    ThreadLink,
    WriteTx,
)


async def test_insert_messages_stores_every_table_and_thread(store: Store) -> None:
    grant, inbox = await account(store)
    shared = new_id()
    first_id, second_id = new_id(), new_id()
    first = message(grant.id, id=first_id, thread_id=shared, locations=at(inbox.id, 1),
                    date=100, references=("<a@x>",), in_reply_to=("<a@x>",),
                    cc=(EmailAddress("Cy", "cy@example.org"),),
                    attachments=(attachment(first_id),))
    second = message(grant.id, id=second_id, thread_id=shared, locations=at(inbox.id, 2),
                     date=200, flags=("\\Seen",))
    alone = message(grant.id, locations=at(inbox.id, 3), date=150)

    def write(tx: WriteTx) -> None:
        tx.insert_messages([first, second, alone])

    await store.write(write)
    stored = await store.get_message(first.id)
    assert stored.references == ("<a@x>",) and stored.cc == first.cc
    assert [a.filename for a in stored.attachments] == ["report.pdf"]
    assert [loc.uid for loc in stored.locations] == [1]
    thread = await store.get_thread(shared)
    assert thread.message_ids == (first.id, second.id)
    assert thread.unread  # the first is unread, the second seen
    assert (await store.get_thread(alone.thread_id)).message_ids == (alone.id,)
    by_cc = await store.list_messages(grant.id, MessageQuery(cc=("CY@example.org",)))
    assert [m.id for m in by_cc.items] == [first.id]
    by_attachment = await store.list_messages(grant.id, MessageQuery(has_attachment=True))
    assert [m.id for m in by_attachment.items] == [first.id]


async def test_insert_messages_names_the_message_whose_uid_is_taken(store: Store) -> None:
    grant, inbox = await account(store)
    holder = message(grant.id, locations=at(inbox.id, 7))
    await store.write(lambda tx: tx.insert_message(holder))
    fine = message(grant.id, locations=at(inbox.id, 8))
    clash = message(grant.id, locations=at(inbox.id, 7))

    with pytest.raises(Conflict, match=holder.id):
        await store.write(lambda tx: tx.insert_messages([fine, clash]))
    # The write failed as a whole: nothing of the batch was kept.
    with pytest.raises(NotFound):
        await store.get_message(fine.id)


async def test_find_messages_matches_message_id_and_content_hash(store: Store) -> None:
    grant, inbox = await account(store)
    a = message(grant.id, locations=at(inbox.id, 1), message_id_header="<same@x>",
                content_hash="one")
    b = message(grant.id, locations=at(inbox.id, 2), message_id_header="<same@x>",
                content_hash="two")
    await store.write(lambda tx: tx.insert_messages([a, b]))

    def find(tx: WriteTx) -> dict[tuple[str, str], str]:
        return tx.find_messages(grant.id, [("<same@x>", "two"), ("<same@x>", "three"),
                                           ("<other@x>", "one")])

    assert await store.write(find) == {("<same@x>", "two"): b.id}


async def test_thread_links_find_messages_by_their_id_and_by_their_references(
        store: Store) -> None:
    grant, inbox = await account(store)
    original = message(grant.id, locations=at(inbox.id, 1), message_id_header="<o@x>",
                       date=10)
    reply = message(grant.id, locations=at(inbox.id, 2), message_id_header="<r@x>",
                    in_reply_to=("<o@x>",), references=("<o@x>",), date=20)
    other_grant, other_inbox = await account(store)
    elsewhere = message(other_grant.id, locations=at(other_inbox.id, 1),
                        message_id_header="<o@x>")
    await store.write(lambda tx: tx.insert_messages([original, reply]))
    await store.write(lambda tx: tx.insert_message(elsewhere))

    links = await store.write(lambda tx: tx.thread_links(grant.id, ["<o@x>", "<none@x>"]))
    assert sorted(links, key=lambda link: link.date) == [
        ThreadLink("<o@x>", original.id, original.thread_id, 10),
        ThreadLink("<o@x>", reply.id, reply.thread_id, 20),
    ]
    assert await store.write(lambda tx: tx.thread_links(grant.id, [])) == []


async def test_latest_by_subject_picks_the_newest_message_per_subject(store: Store) -> None:
    grant, inbox = await account(store)
    old = message(grant.id, locations=at(inbox.id, 1), subject="Plans", date=10)
    new = message(grant.id, locations=at(inbox.id, 2), subject="Re: plans", date=30)
    lunch = message(grant.id, locations=at(inbox.id, 3), subject="Lunch", date=20)
    await store.write(lambda tx: tx.insert_messages([old, new, lunch]))

    latest = await store.write(
        lambda tx: tx.latest_by_subject(grant.id, ["plans", "lunch", "nothing", ""]))
    assert latest == {
        "plans": SubjectLatest(30, new.id, new.thread_id),
        "lunch": SubjectLatest(20, lunch.id, lunch.thread_id),
    }
