"""What listed messages carry (`bodies`, `headers`), the `ids` and `thread_ids` filters,
and the plans chosen when a flag or a thread is rarer than a folder's messages."""

from __future__ import annotations

import dataclasses

import pytest

from tests.store import builders as b
from tidings.domain import Message, new_id
from tidings.store import InvalidQuery, MessageQuery, Store, WriteTx
from tidings.store.postgres import listing as postgres_listing
from tidings.store.queries import MAX_LIMIT
from tidings.store.sqlite import listing as sqlite_listing


async def _stored(store: Store, count: int, **changes: object) -> tuple[str, str, list[Message]]:
    """A grant with `count` messages in its INBOX, each with bodies and header fields."""
    g, inbox = await b.account(store)
    messages = [
        b.message(
            g.id,
            text_body=f"text {n}",
            html_body=f"<p>html {n}</p>",
            headers=(("Subject", f"subject {n}"), ("X-Number", str(n))),
            locations=b.at(inbox.id, n + 1),
            **changes,
        )
        for n in range(count)
    ]

    def insert(tx: WriteTx) -> None:
        for m in messages:
            tx.insert_message(m)

    await store.write(insert)
    return g.id, inbox.id, messages


async def test_a_listing_without_bodies_or_headers_leaves_only_those_out(store: Store) -> None:
    grant_id, _inbox, _messages = await _stored(store, 5)
    full = (await store.list_messages(grant_id, MessageQuery())).items
    assert all(m.text_body and m.html_body and m.headers for m in full)
    for bodies, headers in ((False, False), (False, True), (True, False)):
        page = await store.list_messages(grant_id, MessageQuery(bodies=bodies, headers=headers))
        expected = [
            dataclasses.replace(
                m,
                text_body=m.text_body if bodies else None,
                html_body=m.html_body if bodies else None,
                headers=m.headers if headers else (),
            )
            for m in full
        ]
        assert list(page.items) == expected


async def test_ids_and_thread_ids_keep_only_those(store: Store) -> None:
    thread = new_id()
    grant_id, inbox, messages = await _stored(store, 12)
    picked = [messages[1], messages[4], messages[9]]
    page = await store.list_messages(
        grant_id, MessageQuery(ids=(*[m.id for m in picked], "no-such-id"))
    )
    newest_first = sorted(picked, key=lambda m: (m.date, m.id), reverse=True)
    assert [m.id for m in page.items] == [m.id for m in newest_first]

    def rethread(tx: WriteTx) -> None:
        for m in messages[:3]:
            tx.set_message_thread(m.id, thread)

    await store.write(rethread)
    threads = (thread, messages[7].thread_id)
    page = await store.list_messages(
        grant_id, MessageQuery(thread_ids=threads, folder_id=inbox, limit=3)
    )
    wanted = sorted([*messages[:3], messages[7]], key=lambda m: (m.date, m.id), reverse=True)
    assert [m.id for m in page.items] == [m.id for m in wanted[:3]]
    assert page.next_page_token is not None
    rest = await store.list_messages(
        grant_id,
        MessageQuery(thread_ids=threads, folder_id=inbox, page_token=page.next_page_token),
    )
    assert [m.id for m in rest.items] == [wanted[3].id]


@pytest.mark.parametrize("rare_below", [-1, 500], ids=["walk folder", "start from flag"])
async def test_a_flag_in_a_folder_lists_the_same_by_either_plan(
    store: Store, rare_below: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for listing in (sqlite_listing, postgres_listing):
        monkeypatch.setattr(listing, "_SELECTIVE_ROWS", rare_below)
    grant_id, inbox, messages = await _stored(store, 30)
    starred = {m.id for m in messages[::7]}

    def star(tx: WriteTx) -> None:
        for m in messages:
            if m.id in starred:
                tx.set_flags(m.id, ("\\Flagged",))

    await store.write(star)
    got: list[str] = []
    token = None
    while True:
        page = await store.list_messages(
            grant_id, MessageQuery(folder_id=inbox, starred=True, limit=2, page_token=token)
        )
        got += [m.id for m in page.items]
        if page.next_page_token is None:
            break
        token = page.next_page_token
    newest_first = sorted(
        (m for m in messages if m.id in starred), key=lambda m: (m.date, m.id), reverse=True
    )
    assert got == [m.id for m in newest_first]


def test_too_many_ids_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="ids"):
        MessageQuery(ids=tuple(str(n) for n in range(MAX_LIMIT + 1)))
    with pytest.raises(InvalidQuery, match="thread_ids"):
        MessageQuery(thread_ids=tuple(str(n) for n in range(MAX_LIMIT + 1)))
