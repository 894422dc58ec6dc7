"""PostgreSQL specifics: one global order of the event log across stores (nodes) sharing a
database, and recovery from lost connections."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest
import trio

from tests.store import builders as b
from tidings.store import WriteTx
from tidings.store.postgres import PostgresStore

Pair = tuple[PostgresStore, PostgresStore]


@pytest.fixture
async def stores(postgres_dsn: str) -> AsyncIterator[Pair]:
    """Two stores on one database, as two daemons would have."""
    async with (
        PostgresStore(postgres_dsn, b.KEY) as first,
        PostgresStore(postgres_dsn, b.KEY) as second,
    ):
        yield first, second


async def _wait_for(check: Callable[[], bool], what: str) -> None:
    """Poll the server's own view of a state until it holds (there is nothing to wait
    on for another session's lock wait), failing after a deadline."""
    try:
        with trio.fail_after(10):
            while not await trio.to_thread.run_sync(check):  # noqa: ASYNC110 -- see above
                await trio.sleep(0.01)
    except trio.TooSlowError:
        raise AssertionError(f"timed out waiting until {what}") from None


def _lock_waiters(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
    return int(row[0]) if row else 0


async def test_an_append_waits_until_an_earlier_position_commits(
    stores: Pair, postgres_dsn: str
) -> None:
    """A position taken but not committed holds back every later append: a follower can
    never read past a position that will commit later."""
    first, second = stores
    holding = threading.Event()
    release = threading.Event()

    def slow(tx: WriteTx) -> int:
        position = tx.append_event(b.event("g1"))
        holding.set()
        release.wait(10)
        return position

    positions: dict[str, int] = {}

    async def run(name: str, store: PostgresStore, fn: Callable[[WriteTx], int]) -> None:
        positions[name] = await store.write(fn)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, "slow", first, slow)
        assert await trio.to_thread.run_sync(holding.wait, 10)
        nursery.start_soon(run, "quick", second, lambda tx: tx.append_event(b.event("g2")))
        await _wait_for(lambda: _lock_waiters(postgres_dsn) == 1, "the quick append waits")
        # Neither write has committed: nothing is readable yet.
        assert await second.read_events(0, 10) == []
        assert "quick" not in positions
        release.set()
    assert positions["slow"] < positions["quick"]
    read = await first.read_events(0, 10)
    assert [e.position for e in read] == [positions["slow"], positions["quick"]]


async def test_a_rolled_back_append_releases_the_log_at_once(stores: Pair) -> None:
    """The log lock taken by a write function that then fails goes with its savepoint:
    the rest of the batch does not hold up appends from other nodes."""
    first, second = stores
    gate = threading.Event()
    inside = threading.Event()
    release = threading.Event()

    class Boom(Exception):
        pass

    def failing(tx: WriteTx) -> None:
        tx.append_event(b.event("g1"))
        raise Boom

    def long_running(tx: WriteTx) -> None:
        inside.set()
        release.wait(10)

    async def expect_boom() -> None:
        with pytest.raises(Boom):
            await first.write(failing)

    try:
        async with trio.open_nursery() as nursery:
            # The first batch holds only the gate; the two functions queued behind it run
            # together in the next batch.
            nursery.start_soon(first.write, lambda tx: gate.wait(10))
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(expect_boom)
            nursery.start_soon(first.write, long_running)
            await trio.testing.wait_all_tasks_blocked()
            gate.set()
            assert await trio.to_thread.run_sync(inside.wait, 10)
            with trio.fail_after(10):
                position = await second.write(lambda tx: tx.append_event(b.event("g2")))
            release.set()
    finally:
        gate.set()
        release.set()
    [event] = await second.read_events(0, 10)
    assert (event.position, event.grant_id) == (position, "g2")


async def test_concurrent_appends_on_two_nodes_are_followed_without_gaps(stores: Pair) -> None:
    """A follower that reads past what it has seen ends up with every event exactly once,
    in position order, while two nodes append concurrently."""
    first, second = stores
    per_node = 60
    written: list[int] = []
    seen: list[int] = []
    done = trio.Event()

    async def node(store: PostgresStore, grant: str) -> None:
        for _ in range(per_node):
            written.append(await store.write(lambda tx: tx.append_event(b.event(grant))))

    async def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            batch = await first.read_events(cursor, 1000)
            seen.extend(e.position for e in batch)
            if batch:
                cursor = batch[-1].position
            elif finished:
                return
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow)
        async with trio.open_nursery() as writers:
            for n in range(3):
                writers.start_soon(node, first, f"a{n}")
                writers.start_soon(node, second, f"b{n}")
        done.set()
    assert len(written) == 6 * per_node
    assert seen == sorted(written)


async def test_stores_recover_when_the_server_drops_their_connections(
    stores: Pair, postgres_dsn: str
) -> None:
    first, _ = stores
    g, _ = await b.account(first)
    await first.get_grant(g.id)  # a reader connection is in the pool
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name LIKE 'tidings-%' AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None and killed[0] >= 2
    # Neither call has anything running when its connection dies: both go through.
    assert await first.write(lambda tx: tx.append_event(b.event(g.id))) == 1
    assert (await first.get_grant(g.id)).id == g.id
    assert [e.position for e in await first.read_events(0, 10)] == [1]



class Heard:
    """A commit listener that records positions and lets a test wait for one."""

    def __init__(self) -> None:
        self.positions: list[int] = []
        self._waiting: list[tuple[int, trio.Event]] = []

    def __call__(self, position: int) -> None:
        self.positions.append(position)
        for wanted, arrived in self._waiting:
            if position >= wanted:
                arrived.set()

    async def reach(self, position: int) -> None:
        if self.positions and self.positions[-1] >= position:
            return
        arrived = trio.Event()
        self._waiting.append((position, arrived))
        with trio.fail_after(10):
            await arrived.wait()


async def test_commit_listeners_hear_commits_made_by_other_nodes(stores: Pair) -> None:
    first, second = stores
    heard = Heard()
    second.add_commit_listener(heard)
    await first.write(lambda tx: tx.append_event(b.event("g1")))
    await heard.reach(1)
    await first.write(lambda tx: [tx.append_event(b.event("g1")) for _ in range(3)])
    await heard.reach(4)
    # Its own commits are reported once each, whichever way they arrive first.
    await second.write(lambda tx: tx.append_event(b.event("g2")))
    await heard.reach(5)
    await first.write(lambda tx: None)  # no event: nothing to tell
    await first.write(lambda tx: tx.append_event(b.event("g1")))
    await heard.reach(6)
    assert heard.positions == [1, 4, 5, 6]


async def test_a_listener_that_lost_its_connection_catches_up(
    stores: Pair, postgres_dsn: str
) -> None:
    first, second = stores
    heard = Heard()
    second.add_commit_listener(heard)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        # A commit whose notification nobody heard, as when it comes while the listening
        # connection is down.
        conn.execute(
            "INSERT INTO events (id, grant_id, type, object_id, payload, created_at)"
            " VALUES ('e1', 'g1', 'message.created', 'm1', '{}', 0)"
        )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'tidings-listener' AND pid <> pg_backend_pid()"
        )
    await heard.reach(1)
    await first.write(lambda tx: tx.append_event(b.event("g1")))
    await heard.reach(2)
    assert heard.positions == [1, 2]
