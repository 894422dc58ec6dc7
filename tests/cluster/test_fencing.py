"""Fencing: a node whose lease expired or was taken over writes nothing, whatever it had
in flight; in PostgreSQL a takeover waits for no one and is ordered after the writes
that passed their check; a fenced grant's sync stops without a trace in the store."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from tests.cluster.conftest import FakeClock
from tests.store.builders import KEY, connector, folder, grant
from tidings.domain import GrantState
from tidings.store import Store, StoreError, WriteTx, open_store
from tidings.store.leases import Fenced
from tidings.store.postgres import leases as postgres_leases
from tidings.sync.fencing import FencedStore
from tidings.sync.supervisor import Supervisor

TTL = 10.0


async def _one_grant(store: Store) -> str:
    owner = connector()
    made = grant(owner.id)

    def write(tx: WriteTx) -> None:
        tx.create_connector(owner)
        tx.create_grant(made)

    await store.write(write)
    return made.id


async def _take(store: Store, node: str, grant_id: str, now: float) -> int:
    won = await store.write(lambda tx: tx.acquire_leases(node, [grant_id], now, now + TTL))
    return won[grant_id]


async def test_a_node_whose_lease_was_taken_over_has_its_writes_refused(
        store: Store, clock: FakeClock) -> None:
    grant_id = await _one_grant(store)
    token = await _take(store, "a", grant_id, clock.now)
    fenced = FencedStore(store, grant_id=grant_id, node_id="a", token=token, clock=clock)
    inbox = folder(grant_id)
    await fenced.write(lambda tx: tx.upsert_folder(inbox))
    # a is frozen past its lease; b takes the grant over.
    clock.advance(TTL + 1)
    assert await _take(store, "b", grant_id, clock.now) == token + 1
    # a resumes and carries on where it was: nothing it writes is kept.
    with pytest.raises(Fenced):
        await fenced.write(lambda tx: tx.set_grant_state(grant_id, GrantState.INVALID, "x"))
    with pytest.raises(Fenced):
        await fenced.write(lambda tx: tx.delete_folder(inbox.id))
    assert (await store.get_grant(grant_id)).state is not GrantState.INVALID
    assert [f.id for f in await store.list_folders(grant_id)] == [inbox.id]
    # Reads still work (the API on that node keeps serving).
    assert (await fenced.get_folder(inbox.id)).name == "INBOX"


async def test_an_expired_lease_refuses_writes_even_before_a_takeover(
        store: Store, clock: FakeClock) -> None:
    grant_id = await _one_grant(store)
    token = await _take(store, "a", grant_id, clock.now)
    fenced = FencedStore(store, grant_id=grant_id, node_id="a", token=token, clock=clock)
    clock.advance(TTL)
    with pytest.raises(Fenced):
        await fenced.write(lambda tx: tx.upsert_folder(folder(grant_id)))
    assert await store.list_folders(grant_id) == []


async def test_a_refusal_is_reported_before_the_write_raises_it(
        store: Store, clock: FakeClock) -> None:
    grant_id = await _one_grant(store)
    token = await _take(store, "a", grant_id, clock.now)
    refusals: list[Fenced] = []
    fenced = FencedStore(store, grant_id=grant_id, node_id="a", token=token, clock=clock,
                         on_refused=refusals.append)
    await fenced.write(lambda tx: tx.upsert_folder(folder(grant_id)))
    assert refusals == []  # a write that passed its check reports nothing
    clock.advance(TTL)
    with pytest.raises(Fenced) as raised:
        await fenced.write(lambda tx: tx.upsert_folder(folder(grant_id)))
    assert refusals == [raised.value]
    assert (raised.value.grant_id, raised.value.token) == (grant_id, token)


@pytest.fixture
async def two_stores(postgres_dsn: str) -> AsyncIterator[tuple[Store, Store]]:
    async with open_store(postgres_dsn, KEY) as first, open_store(postgres_dsn, KEY) as second:
        yield first, second


async def test_postgres_takeover_skips_a_lease_in_use_and_follows_its_commit(
        two_stores: tuple[Store, Store], clock: FakeClock) -> None:
    node_a, node_b = two_stores
    grant_id = await _one_grant(node_a)
    token = await _take(node_a, "a", grant_id, clock.now)
    fenced = FencedStore(node_a, grant_id=grant_id, node_id="a", token=token, clock=clock)
    checked, finish = threading.Event(), threading.Event()
    inbox = folder(grant_id)

    def slow_write(tx: WriteTx) -> None:
        tx.upsert_folder(inbox)
        checked.set()
        finish.wait(30)  # a node paused between its check and its commit

    async with trio.open_nursery() as nursery:
        nursery.start_soon(fenced.write, slow_write)
        await trio.to_thread.run_sync(checked.wait, 30)
        clock.advance(TTL + 1)
        # The lease has run out, but a's transaction still holds it: b does not wait
        # for it (its writer would stall) and does not get it either.
        with trio.fail_after(5):
            assert await node_b.write(lambda tx: tx.acquire_leases(
                "b", [grant_id], clock.now, clock.now + TTL)) == {}
        finish.set()
    # a's write passed its check before any takeover: it is kept. Then b takes over and
    # a's next write is refused.
    assert [f.id for f in await node_b.list_folders(grant_id)] == [inbox.id]
    assert await _take(node_b, "b", grant_id, clock.now) == token + 1
    with pytest.raises(Fenced):
        await fenced.write(lambda tx: tx.delete_folder(inbox.id))


async def test_postgres_ends_a_frozen_transaction_so_its_lease_can_be_taken(
        two_stores: tuple[Store, Store], clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_leases, "FROZEN_AFTER", 1)
    node_a, node_b = two_stores
    grant_id = await _one_grant(node_a)
    token = await _take(node_a, "a", grant_id, clock.now)
    fenced = FencedStore(node_a, grant_id=grant_id, node_id="a", token=token, clock=clock)
    checked, thawed = threading.Event(), threading.Event()

    def frozen_write(tx: WriteTx) -> None:
        tx.upsert_folder(folder(grant_id))
        checked.set()
        thawed.wait(30)  # frozen between its check and its commit

    async with trio.open_nursery() as nursery:

        async def write_and_fail() -> None:
            with pytest.raises(StoreError):  # the server ended the transaction
                await fenced.write(frozen_write)

        nursery.start_soon(write_and_fail)
        await trio.to_thread.run_sync(checked.wait, 30)
        clock.advance(TTL + 1)
        won: dict[str, int] = {}
        with trio.fail_after(15):
            # Nothing tells b when the server ends a's session: ask each round, as a
            # coordinator would.
            while not won:
                won = await node_b.write(lambda tx: tx.acquire_leases(
                    "b", [grant_id], clock.now, clock.now + TTL))
                if not won:
                    await trio.sleep(0.2)
        assert won == {grant_id: token + 1}
        thawed.set()
    assert await node_b.list_folders(grant_id) == []
    # a's writer connects again for its next write, which the lease check refuses.
    with pytest.raises(Fenced):
        await fenced.write(lambda tx: tx.upsert_folder(folder(grant_id)))


async def test_a_fenced_grant_stops_without_recording_anything(tmp_path: Path) -> None:
    async with open_store(tmp_path / "tidings.db", KEY) as store:
        grant_id = await _one_grant(store)
        before = await store.get_grant(grant_id)
        supervisor = Supervisor(store, start_all=False)
        asked: list[str] = []

        def not_ours(wanted: str) -> Store:
            asked.append(wanted)
            raise Fenced(wanted, "a", 0)

        supervisor.sync_store = not_ours
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            assert supervisor.running == frozenset()  # nothing started by itself
            supervisor.start_grant(grant_id)
            assert supervisor.running == {grant_id}
            await trio.testing.wait_all_tasks_blocked()
            assert supervisor.running == frozenset()  # ended, not restarted with backoff
            nursery.cancel_scope.cancel()
        assert asked == [grant_id]
        assert await store.get_grant(grant_id) == before
        assert await store.read_events(0, 100) == []
