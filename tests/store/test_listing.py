"""list_messages: every filter against a plain Python model, keyset pagination, limits."""

from __future__ import annotations

import dataclasses
import random

import pytest

from tests.store import builders as b
from tidings.domain import EmailAddress, Location, Message, new_id
from tidings.store import InvalidQuery, MessageQuery, Store, WriteTx
from tidings.store.sqlite import listing

PEOPLE = [
    "ada@example.org",
    "Bob@Example.org",
    "carol@example.net",
    "dan@example.com",
    "eve@example.org",
]
WORDS = ["invoice", "Meeting", "lunch", "Rechnung für März", "report", "déjà vu"]


def _dataset(
    rng: random.Random, grant_id: str, folders: list[str], threads: list[str]
) -> list[Message]:
    messages: list[Message] = []
    for _ in range(300):
        message_id = new_id()
        people = [EmailAddress(None, rng.choice(PEOPLE)) for _ in range(4)]
        where = rng.sample(folders, rng.choice([1, 1, 2]))
        flags = tuple(f for f in ("\\Seen", "\\Flagged") if rng.random() < 0.5)
        attachments = (
            (b.attachment(message_id, is_inline=rng.random() < 0.3),) if rng.random() < 0.3 else ()
        )
        messages.append(
            b.message(
                grant_id,
                id=message_id,
                thread_id=rng.choice(threads),
                subject=f"{rng.choice(WORDS)} {rng.randint(1, 9)}",
                from_=(people[0],),
                to=(people[1],),
                cc=(people[2],) if rng.random() < 0.5 else (),
                bcc=(people[3],) if rng.random() < 0.3 else (),
                date=rng.randint(1000, 1100),  # many equal dates: the id breaks ties
                flags=flags,
                attachments=attachments,
                locations=tuple(
                    Location(f, n) for n, f in enumerate(where, start=len(messages) * 3)
                ),
            )
        )
    return messages


def _matches(m: Message, q: MessageQuery) -> bool:
    def addresses(*groups: tuple[EmailAddress, ...]) -> set[str]:
        return {a.email.lower() for group in groups for a in group}

    def wanted(emails: tuple[str, ...]) -> set[str]:
        return {e.lower() for e in emails}

    for emails, have in (
        (q.any_email, addresses(m.from_, m.to, m.cc, m.bcc)),
        (q.from_, addresses(m.from_)),
        (q.to, addresses(m.to)),
        (q.cc, addresses(m.cc)),
        (q.bcc, addresses(m.bcc)),
    ):
        if emails and not wanted(emails) & have:
            return False
    return all(
        (
            q.subject is None or q.subject.casefold() in m.subject.casefold(),
            q.folder_id is None or q.folder_id in m.folder_ids,
            q.unread is None or m.unread == q.unread,
            q.starred is None or m.starred == q.starred,
            q.has_attachment is None or m.has_attachments == q.has_attachment,
            q.received_before is None or m.date < q.received_before,
            q.received_after is None or m.date > q.received_after,
            q.thread_id is None or m.thread_id == q.thread_id,
        )
    )


async def _all_pages(store: Store, grant_id: str, query: MessageQuery) -> list[Message]:
    seen: list[Message] = []
    token: str | None = None
    while True:
        page = await store.list_messages(grant_id, dataclasses.replace(query, page_token=token))
        assert len(page.items) <= query.limit
        seen.extend(page.items)
        if page.next_page_token is None:
            return seen
        assert len(page.items) == query.limit
        token = page.next_page_token


@pytest.mark.parametrize("selective_rows", [500, 0])
async def test_every_filter_matches_the_model(
    store: Store, monkeypatch: pytest.MonkeyPatch, selective_rows: int
) -> None:
    # Both ways of applying an address filter: driven from the address index, and
    # checked per message while walking newest first.
    monkeypatch.setattr(listing, "_SELECTIVE_ADDRESS_ROWS", selective_rows)
    rng = random.Random(20240611)
    g, inbox = await b.account(store)
    others = [b.folder(g.id, name) for name in ("Archive", "Sent")]

    def folders(tx: WriteTx) -> None:
        for f in others:
            tx.upsert_folder(f)

    await store.write(folders)
    folder_ids = [inbox.id, *(f.id for f in others)]
    threads = [new_id() for _ in range(40)]
    messages = _dataset(rng, g.id, folder_ids, threads)
    await b.insert(store, *messages)
    stored = {m.id: m for m in messages}
    queries = [
        MessageQuery(),
        MessageQuery(subject="INVOICE"),
        MessageQuery(subject="für mär"),
        MessageQuery(subject="DÉJÀ"),
        MessageQuery(any_email=("bob@example.org",)),
        MessageQuery(any_email=("eve@example.org", "DAN@example.com")),
        MessageQuery(from_=("ada@example.org",)),
        MessageQuery(to=("carol@example.net",)),
        MessageQuery(cc=("bob@example.org", "eve@example.org")),
        MessageQuery(bcc=("dan@example.com",)),
        MessageQuery(from_=("ada@example.org",), to=("bob@example.org",)),
        MessageQuery(folder_id=others[0].id),
        MessageQuery(unread=True),
        MessageQuery(unread=False),
        MessageQuery(starred=True),
        MessageQuery(starred=False),
        MessageQuery(has_attachment=True),
        MessageQuery(has_attachment=False),
        MessageQuery(received_before=1050),
        MessageQuery(received_after=1050),
        MessageQuery(received_after=1020, received_before=1030),
        MessageQuery(thread_id=threads[3]),
        MessageQuery(folder_id=inbox.id, unread=True, starred=False, from_=("eve@example.org",)),
        MessageQuery(any_email=("nobody@example.org",)),
    ]
    for query in queries:
        for limit in (7, 200):
            got = await _all_pages(store, g.id, dataclasses.replace(query, limit=limit))
            expected = sorted(
                (m for m in stored.values() if _matches(m, query)),
                key=lambda m: (m.date, m.id),
                reverse=True,
            )
            assert [m.id for m in got] == [m.id for m in expected], query
    # The rows come back whole, with locations and attachments.
    first = (await store.list_messages(g.id, MessageQuery(limit=1))).items[0]
    assert first.attachments == stored[first.id].attachments
    assert first.locations == stored[first.id].locations


async def test_pages_have_no_gaps_or_repeats_while_mail_arrives(store: Store) -> None:
    g, inbox = await b.account(store)
    original = [
        b.message(g.id, date=1000 + n // 3, locations=b.at(inbox.id, n)) for n in range(100)
    ]
    await b.insert(store, *original)
    seen: list[Message] = []
    token: str | None = None
    uid = 1000
    while True:
        page = await store.list_messages(g.id, MessageQuery(limit=9, page_token=token))
        seen.extend(page.items)
        uid += 1
        # New mail lands at the top of the list while the client pages down.
        await b.insert(
            store,
            *(
                b.message(g.id, date=5000 + uid * 3 + k, locations=b.at(inbox.id, uid * 3 + k))
                for k in range(3)
            ),
        )
        token = page.next_page_token
        if token is None:
            break
    ids = [m.id for m in seen]
    assert len(ids) == len(set(ids))
    assert set(ids) == {m.id for m in original}
    keys = [(m.date, m.id) for m in seen]
    assert keys == sorted(keys, reverse=True)


async def test_invalid_queries_are_refused(store: Store) -> None:
    g, _ = await b.account(store)
    for bad in ("garbage!", "AQ", "", "AQAAAAAAAAPv"):
        with pytest.raises(InvalidQuery, match="page token"):
            await store.list_messages(g.id, MessageQuery(page_token=bad))
    with pytest.raises(InvalidQuery, match="limit"):
        MessageQuery(limit=0)
    with pytest.raises(InvalidQuery, match="limit"):
        MessageQuery(limit=201)
    with pytest.raises(InvalidQuery, match="25"):
        MessageQuery(any_email=tuple(f"u{n}@x" for n in range(26)))
    assert (await store.list_messages(g.id, MessageQuery(limit=200))).items == ()
