"""Threads: rollups computed from messages, lookups, merges and list_threads."""

from __future__ import annotations

import dataclasses

import pytest

from tests.store import builders as b
from tidings.domain import EmailAddress, Location, new_id, normalize_subject
from tidings.store import NotFound, Store, ThreadQuery, WriteTx
from tidings.store.sqlite import listing

ADA = EmailAddress("Ada", "ada@example.org")
BOB = EmailAddress("Bob", "bob@example.org")
CAROL = EmailAddress(None, "carol@example.org")


async def test_thread_rollup_follows_its_messages(store: Store) -> None:
    g, inbox = await b.account(store)
    archive = b.folder(g.id, "Archive")
    await store.write(lambda tx: tx.upsert_folder(archive))
    thread = new_id()
    first = b.message(
        g.id,
        thread_id=thread,
        subject="Plans",
        from_=(ADA,),
        to=(BOB,),
        date=100,
        flags=("\\Seen",),
        snippet="first",
        locations=b.at(inbox.id, 1),
    )
    reply_id = new_id()
    reply = b.message(
        g.id,
        id=reply_id,
        thread_id=thread,
        subject="Re: Plans",
        from_=(BOB,),
        to=(ADA,),
        cc=(CAROL, EmailAddress("Ada again", "ADA@example.org")),
        date=200,
        flags=(),
        snippet="second",
        locations=b.at(archive.id, 1),
        attachments=(b.attachment(reply_id),),
    )
    await b.insert(store, first, reply)
    t = await store.get_thread(thread)
    assert t.subject == "Plans"
    assert t.participants == (ADA, BOB, CAROL)
    assert t.message_ids == (first.id, reply.id)
    assert set(t.folder_ids) == {inbox.id, archive.id}
    assert (t.unread, t.starred, t.has_attachments) == (True, False, True)
    assert (t.earliest_message_date, t.latest_message_date, t.snippet) == (100, 200, "second")

    await store.write(lambda tx: tx.set_flags(reply.id, ["\\Seen", "\\Flagged"]))
    t = await store.get_thread(thread)
    assert (t.unread, t.starred) == (False, True)

    await store.write(lambda tx: tx.delete_message(reply.id))
    t = await store.get_thread(thread)
    assert (t.message_ids, t.folder_ids, t.has_attachments, t.snippet) == (
        (first.id,),
        (inbox.id,),
        False,
        "first",
    )


async def test_thread_lookup_by_references_in_both_directions(store: Store) -> None:
    g, _ = await b.account(store)
    parent = b.message(g.id, message_id_header="<parent@x>", date=10)
    # A reply whose parent we never stored, but which names it in References.
    orphan_reply = b.message(
        g.id,
        message_id_header="<reply@x>",
        references=("<root@x>",),
        in_reply_to=("<root@x>",),
        date=20,
    )
    await b.insert(store, parent, orphan_reply)

    def lookups(tx: WriteTx) -> list[str | None]:
        return [
            tx.thread_for_references(g.id, ["<unknown@x>", "<parent@x>"]),
            # The root arrives late: its own Message-ID finds the reply that named it.
            tx.thread_for_references(g.id, ["<root@x>"]),
            tx.thread_for_references(g.id, []),
            tx.thread_for_references("other-grant", ["<parent@x>"]),
        ]

    assert await store.write(lookups) == [parent.thread_id, orphan_reply.thread_id, None, None]
    both = await store.write(lambda tx: tx.threads_for_references(g.id, ["<root@x>", "<parent@x>"]))
    assert both == [parent.thread_id, orphan_reply.thread_id]  # oldest first


async def test_thread_lookup_by_subject_within_a_window(store: Store) -> None:
    g, _ = await b.account(store)
    older = b.message(g.id, subject="Quarterly report", date=100)
    newer = b.message(g.id, subject="RE: [team] Quarterly  Report", date=500)
    blank = b.message(g.id, subject="", date=600)
    await b.insert(store, older, newer, blank)
    key = normalize_subject("Fwd: quarterly report")

    def lookups(tx: WriteTx) -> list[str | None]:
        return [
            tx.thread_for_subject(g.id, key, 0),
            tx.thread_for_subject(g.id, key, 501),
            tx.thread_for_subject(g.id, "", 0),
        ]

    assert await store.write(lookups) == [newer.thread_id, None, None]


async def test_merging_and_reassigning_threads(store: Store) -> None:
    g, _ = await b.account(store)
    a, c = b.message(g.id, date=1, from_=(ADA,)), b.message(g.id, date=3, from_=(CAROL,))
    bb = b.message(g.id, date=2, from_=(BOB,))
    await b.insert(store, a, bb, c)
    assert (
        await store.write(
            lambda tx: tx.merge_threads(a.thread_id, [bb.thread_id, c.thread_id, a.thread_id])
        )
        == 2
    )
    merged = await store.get_thread(a.thread_id)
    assert merged.message_ids == (a.id, bb.id, c.id)
    assert merged.participants[0] == ADA
    for gone in (bb.thread_id, c.thread_id):
        with pytest.raises(NotFound):
            await store.get_thread(gone)
    split = new_id()
    await store.write(lambda tx: tx.set_message_thread(c.id, split))
    assert (await store.get_thread(split)).message_ids == (c.id,)
    assert (await store.get_thread(a.thread_id)).message_ids == (a.id, bb.id)


@pytest.mark.parametrize("selective_rows", [500, 0])
async def test_list_threads_filters_and_pages(
    store: Store, monkeypatch: pytest.MonkeyPatch, selective_rows: int
) -> None:
    monkeypatch.setattr(listing, "_SELECTIVE_ADDRESS_ROWS", selective_rows)
    g, inbox = await b.account(store)
    archive = b.folder(g.id, "Archive")
    await store.write(lambda tx: tx.upsert_folder(archive))
    threads = []
    uid = 0
    for n in range(25):
        thread = new_id()
        threads.append(thread)
        for k in range(3):
            uid += 1
            folder_id = archive.id if n % 5 == 0 and k == 2 else inbox.id
            await b.insert(
                store,
                b.message(
                    g.id,
                    thread_id=thread,
                    subject=f"topic {n}",
                    date=1000 + n * 10 + k,
                    from_=(CAROL if n % 4 == 0 else ADA,),
                    to=(BOB,),
                    flags=() if n % 3 == 0 and k == 1 else ("\\Seen",),
                    locations=(Location(folder_id, uid),),
                ),
            )

    async def listed(query: ThreadQuery) -> list[str]:
        ids: list[str] = []
        token = None
        while True:
            page = await store.list_threads(g.id, dataclasses.replace(query, page_token=token))
            ids.extend(t.id for t in page.items)
            if (token := page.next_page_token) is None:
                return ids

    newest_first = list(reversed(threads))
    assert await listed(ThreadQuery(limit=4)) == newest_first
    assert await listed(ThreadQuery(limit=4, unread=True)) == [
        t for n, t in reversed(list(enumerate(threads))) if n % 3 == 0
    ]
    assert await listed(ThreadQuery(limit=3, from_=("carol@EXAMPLE.org",))) == [
        t for n, t in reversed(list(enumerate(threads))) if n % 4 == 0
    ]
    assert await listed(ThreadQuery(folder_id=archive.id)) == [
        t for n, t in reversed(list(enumerate(threads))) if n % 5 == 0
    ]
    assert await listed(ThreadQuery(subject="TOPIC 1")) == [
        t for n, t in reversed(list(enumerate(threads))) if str(n).startswith("1")
    ]
    assert await listed(ThreadQuery(latest_message_after=1200, latest_message_before=1223)) == [
        threads[22],
        threads[21],
        threads[20],
    ]
    assert await listed(ThreadQuery(any_email=("nobody@x",))) == []
