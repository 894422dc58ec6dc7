"""The writer: batched transactions, per-function rollback, events with their changes."""

from __future__ import annotations

import threading

import pytest
import trio

from tests.store import builders as b
from tidings.domain import EventType
from tidings.store import Conflict, NotFound, Store, StoreClosed, WriteTx


class Boom(Exception):
    pass


async def test_many_concurrent_writers_all_commit(store: Store) -> None:
    g, inbox = await b.account(store)
    messages = [b.message(g.id, locations=b.at(inbox.id, n)) for n in range(1, 201)]
    results: dict[str, int] = {}

    async def writer(index: int) -> None:
        m = messages[index]

        def fn(tx: WriteTx) -> int:
            tx.insert_message(m)
            return tx.append_event(b.event(g.id, object_id=m.id))

        results[m.id] = await store.write(fn)

    async with trio.open_nursery() as nursery:
        for index in range(len(messages)):
            nursery.start_soon(writer, index)
    assert len(await store.folder_uid_map(inbox.id)) == 200
    assert sorted(results.values()) == list(range(1, 201))
    events = await store.read_events(0, 1000)
    assert {e.object_id for e in events} == set(results)


async def test_queued_writes_share_a_transaction(store: Store) -> None:
    """While one function runs, the others queue; they then commit together, so the
    commit listener hears far fewer commits than there were writes."""
    g, _ = await b.account(store)
    commits: list[int] = []
    store.add_commit_listener(commits.append)
    release = threading.Event()

    def blocker(tx: WriteTx) -> None:
        release.wait(10)
        tx.append_event(b.event(g.id))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.write, blocker)
        await trio.testing.wait_all_tasks_blocked()
        for _ in range(50):
            nursery.start_soon(store.write, lambda tx: tx.append_event(b.event(g.id)))
        await trio.testing.wait_all_tasks_blocked()
        release.set()
    assert commits[-1] == 51
    assert commits == sorted(commits)
    assert len(commits) <= 3


async def test_a_failing_function_rolls_back_only_itself(store: Store) -> None:
    g, inbox = await b.account(store)
    good = [b.message(g.id, locations=b.at(inbox.id, n)) for n in range(1, 11)]
    bad = b.message(g.id, locations=b.at(inbox.id, 99))
    outcomes: dict[str, object] = {}
    release = threading.Event()

    def failing(tx: WriteTx) -> None:
        tx.insert_message(bad)
        tx.append_event(b.event(g.id, object_id=bad.id))
        raise Boom("no")

    async def run(name: str, fn: object) -> None:
        try:
            outcomes[name] = await store.write(fn)  # type: ignore[arg-type]
        except Exception as exc:
            outcomes[name] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.write, lambda tx: release.wait(10))
        await trio.testing.wait_all_tasks_blocked()
        for n, m in enumerate(good):

            def fn(tx: WriteTx, m: object = m) -> str:
                tx.insert_message(m)  # type: ignore[arg-type]
                tx.append_event(b.event(g.id, object_id=m.id))  # type: ignore[attr-defined]
                return "ok"

            nursery.start_soon(run, f"good{n}", fn)
            if n == 4:
                nursery.start_soon(run, "bad", failing)
        await trio.testing.wait_all_tasks_blocked()
        release.set()
    assert isinstance(outcomes.pop("bad"), Boom)
    assert set(outcomes.values()) == {"ok"}
    # Neither the bad message nor its event exists; every good one and its event does.
    with pytest.raises(NotFound):
        await store.get_message(bad.id)
    assert sorted(await store.folder_uid_map(inbox.id)) == list(range(1, 11))
    assert {e.object_id for e in await store.read_events(0, 100)} == {m.id for m in good}


async def test_database_errors_become_store_errors(store: Store) -> None:
    g, _ = await b.account(store)
    m = b.message(g.id)
    await b.insert(store, m)
    with pytest.raises(Conflict):
        await b.insert(store, m)


async def test_an_event_is_kept_only_with_its_change(store: Store) -> None:
    g, _ = await b.account(store)

    def change_then_fail(tx: WriteTx) -> None:
        tx.set_grant_state(g.id, tx.grant(g.id).state, "changed")  # type: ignore[union-attr]
        tx.append_event(b.event(g.id, EventType.GRANT_UPDATED))
        tx.create_connector(b.connector(id=g.connector_id))  # duplicate id → Conflict

    with pytest.raises(Conflict):
        await store.write(change_then_fail)
    assert (await store.get_grant(g.id)).state_reason is None
    assert await store.read_events(0, 10) == []
    assert await store.last_position() == 0


async def test_a_cancelled_caller_still_gets_its_write_committed(store: Store) -> None:
    g, _ = await b.account(store)
    release = threading.Event()

    def slow(tx: WriteTx) -> None:
        release.wait(10)
        tx.append_event(b.event(g.id))

    returned: list[bool] = []

    async def caller() -> None:
        await store.write(slow)
        returned.append(True)
        await trio.sleep_forever()  # the next checkpoint delivers the cancellation

    async with trio.open_nursery() as nursery:
        nursery.start_soon(caller)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
        release.set()
    assert returned == [True]
    assert await store.last_position() == 1


async def test_commit_listeners_run_in_trio_after_the_commit(store: Store) -> None:
    g, _ = await b.account(store)
    heard: list[tuple[int, int]] = []

    def listener(position: int) -> None:
        trio.lowlevel.current_task()  # raises outside the trio thread
        heard.append((position, 0))

    store.add_commit_listener(listener)
    await store.write(lambda tx: tx.append_event(b.event(g.id)))
    await store.write(lambda tx: None)  # no event appended: nobody is told
    await store.write(lambda tx: [tx.append_event(b.event(g.id)) for _ in range(3)])
    assert heard == [(1, 0), (4, 0)]


async def test_closed_store_refuses_work(store_target: str) -> None:
    async with b.opened_store(store_target) as store:
        pass
    with pytest.raises(StoreClosed):
        await store.write(lambda tx: None)
    with pytest.raises(StoreClosed):
        await store.list_connectors()
    # It can be opened again.
    async with store:
        assert await store.list_connectors() == []


async def test_a_failing_listener_does_not_stop_the_others(store: Store) -> None:
    heard: list[int] = []

    def broken(position: int) -> None:
        raise RuntimeError("listener bug")

    store.add_commit_listener(broken)
    store.add_commit_listener(heard.append)
    await store.write(lambda tx: tx.append_event(b.event("g")))
    await store.write(lambda tx: tx.append_event(b.event("g")))
    assert heard == [1, 2]
