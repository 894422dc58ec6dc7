"""Batch threading gives the threads that storing the messages one at a time gives.

The oracle is the one-at-a-time rule written against the store's single-message look-ups
(`threads_for_references`, `thread_for_subject`, `merge_threads`); the batch runs
`apply.ingest`, which threads and stores a whole batch with two look-ups.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.builders import account, at, message, opened_store
from tidings.domain import Message, new_id, normalize_subject
from tidings.store import NotFound, Store, WriteTx
from tidings.sync import apply
from tidings.sync.threader import SUBJECT_THREAD_SPAN, assign_threads

DAY = 86400
SUBJECTS = ("Plans", "Re: Plans", "Fwd: Plans", "Lunch?", "RE: lunch?", "")
IDS = [f"<k{n}@example.org>" for n in range(8)]


def _oracle_thread(tx: WriteTx, m: Message) -> tuple[str, bool]:
    refs = list(dict.fromkeys((*m.references, *m.in_reply_to, m.message_id_header)))
    threads = tx.threads_for_references(m.grant_id, refs)
    if threads:
        if len(threads) > 1:
            tx.merge_threads(threads[0], threads[1:])
        return threads[0], True
    reply = normalize_subject(m.subject) != " ".join(m.subject.split()).casefold()
    if reply or m.in_reply_to:
        found = tx.thread_for_subject(m.grant_id, normalize_subject(m.subject),
                                      m.date - SUBJECT_THREAD_SPAN)
        if found is not None:
            return found, True
    return new_id(), False


@st.composite
def mail(draw: st.DrawFn) -> list[dict[str, object]]:
    """Specs of messages sharing a few Message-IDs, subjects and dates."""
    count = draw(st.integers(1, 10))
    specs = []
    for n in range(count):
        specs.append({
            "message_id_header": draw(st.sampled_from(IDS)),
            "content_hash": f"h{n}",
            "references": tuple(draw(st.lists(st.sampled_from(IDS), max_size=3))),
            "in_reply_to": tuple(draw(st.lists(st.sampled_from(IDS), max_size=1))),
            "subject": draw(st.sampled_from(SUBJECTS)),
            "date": 1_000_000_000 + draw(st.integers(0, 60)) * DAY,
        })
    return specs


def _partition(messages: list[Message], threads: dict[str, str]) -> set[frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for index, m in enumerate(messages):
        groups.setdefault(threads[m.id], set()).add(index)
    return {frozenset(group) for group in groups.values()}


async def _stored_threads(store: Store, messages: list[Message]) -> dict[str, str]:
    stored = {}
    for m in messages:
        stored[m.id] = (await store.get_message(m.id)).thread_id
    return stored


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=mail(), stored_first=st.integers(0, 10))
def test_batch_threads_match_one_at_a_time(tmp_path: Path, specs: list[dict[str, object]],
                                           stored_first: int) -> None:
    # A store per example: trio.run per example, as hypothesis drives a plain function.
    where = tmp_path / new_id()
    where.mkdir()
    trio.run(_compare, where, specs, stored_first)


async def _compare(where: Path, specs: list[dict[str, object]], stored_first: int) -> None:
    async with opened_store(where) as store:
        await _compare_in(store, specs, stored_first)


async def _compare_in(store: Store, specs: list[dict[str, object]], stored_first: int) -> None:
    one_grant, one_folder = await account(store)
    batch_grant, batch_folder = await account(store)
    singles = [message(one_grant.id, locations=at(one_folder.id, n + 1), **spec)
               for n, spec in enumerate(specs)]
    batched = [message(batch_grant.id, locations=at(batch_folder.id, n + 1), **spec)
               for n, spec in enumerate(specs)]
    cut = min(stored_first, len(specs))

    def one_at_a_time(tx: WriteTx) -> list[bool]:
        joined = []
        for m in singles:
            thread_id, found = _oracle_thread(tx, m)
            tx.insert_message(dataclasses.replace(m, thread_id=thread_id))
            joined.append(found)
        return joined

    def store_head(tx: WriteTx) -> None:
        for m in batched[:cut]:
            thread_id, _found = _oracle_thread(tx, m)
            tx.insert_message(dataclasses.replace(m, thread_id=thread_id))

    def batch_joined(tx: WriteTx) -> tuple[bool, ...]:
        return assign_threads(tx, batch_grant.id, batched[cut:]).joined

    def ingest_tail(tx: WriteTx) -> None:
        items = [apply.Incoming(uid=m.locations[0].uid or 0, flags=m.flags,
                                message_id_header=m.message_id_header,
                                content_hash=m.content_hash, message=m)
                 for m in batched[cut:]]
        outcome = apply.ingest(tx, grant_id=batch_grant.id, folder_id=batch_folder.id,
                               items=items, emit=False)
        assert outcome.created == len(items)

    expected_joined = await store.write(one_at_a_time)
    await store.write(store_head)
    joined = await store.write(batch_joined)
    await store.write(ingest_tail)

    assert joined == tuple(expected_joined[cut:])
    assert _partition(batched, await _stored_threads(store, batched)) == _partition(
        singles, await _stored_threads(store, singles))


async def test_a_reply_stored_before_its_parent_in_one_batch_shares_its_thread(
        store: Store) -> None:
    # Newest first, as the initial sync stores mail: the reply comes before the original.
    grant, inbox = await account(store)
    reply = message(grant.id, locations=at(inbox.id, 2), message_id_header="<r@x>",
                    in_reply_to=("<o@x>",), references=("<o@x>",), subject="Re: Q",
                    date=2_000)
    original = message(grant.id, locations=at(inbox.id, 1), message_id_header="<o@x>",
                       subject="Q", date=1_000)
    unrelated = message(grant.id, locations=at(inbox.id, 3), subject="Other", date=1_500)

    def ingest(tx: WriteTx) -> apply.IngestOutcome:
        items = [apply.Incoming(uid=m.locations[0].uid or 0, flags=(),
                                message_id_header=m.message_id_header,
                                content_hash=m.content_hash, message=m)
                 for m in (reply, original, unrelated)]
        return apply.ingest(tx, grant_id=grant.id, folder_id=inbox.id, items=items,
                            emit=True)

    outcome = await store.write(ingest)
    assert outcome.created == 3
    threads = await _stored_threads(store, [reply, original, unrelated])
    assert threads[reply.id] == threads[original.id] != threads[unrelated.id]
    thread = await store.get_thread(threads[reply.id])
    assert thread.message_ids == (original.id, reply.id)


async def test_a_second_copy_in_the_same_batch_becomes_a_second_location(
        store: Store) -> None:
    grant, inbox = await account(store)
    first = message(grant.id, locations=at(inbox.id, 1))
    copy = dataclasses.replace(first, id=new_id(), locations=at(inbox.id, 2))

    def ingest(tx: WriteTx) -> apply.IngestOutcome:
        items = [apply.Incoming(uid=uid, flags=(), message_id_header=m.message_id_header,
                                content_hash=m.content_hash, message=m)
                 for uid, m in ((1, first), (2, copy))]
        return apply.ingest(tx, grant_id=grant.id, folder_id=inbox.id, items=items,
                            emit=False)

    outcome = await store.write(ingest)
    assert (outcome.created, outcome.matched) == (1, 1)
    stored = await store.get_message(first.id)
    assert sorted(loc.uid or 0 for loc in stored.locations) == [1, 2]
    with pytest.raises(NotFound):
        await store.get_message(copy.id)
