"""Lending the INBOX watcher's connection: the meeting point alone, and a grant's poller
and UIDVALIDITY checker asking their questions over it on the real Dovecot."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.events import EventLog
from tests.support.mailgen import make_message
from tests.sync.conftest import FAST, add_grant
from tidings.domain import EventType, FolderRole
from tidings.imap import ImapClient
from tidings.store import Store
from tidings.sync.grant import GrantRunner
from tidings.sync.lending import ConnectionLender
from tidings.sync.supervisor import Supervisor

CLIENT = cast(ImapClient, object())  # the lender only hands it over


async def test_without_a_holder_a_borrower_gets_nothing_at_once() -> None:
    lender = ConnectionLender()
    with trio.fail_after(1):
        async with lender.borrow(patience=60) as lent:
            assert lent is None
    assert lender.loans == 0


async def test_a_waiting_holder_is_woken_and_gets_its_connection_back() -> None:
    lender = ConnectionLender()
    back = trio.Event()
    woken: list[bool] = []

    async def holder() -> None:
        with lender.holding(CLIENT):
            with lender.interruptible() as wait:
                await trio.sleep_forever()
            woken.append(wait.cancelled_caught)
            assert await lender.lend(CLIENT)
            back.set()
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder)
        await trio.testing.wait_all_tasks_blocked()
        async with lender.borrow(patience=60) as lent:
            assert lent is CLIENT
            assert not back.is_set()  # the holder waits while the connection is out
        with trio.fail_after(1):
            await back.wait()
        nursery.cancel_scope.cancel()
    assert woken == [True]
    assert lender.loans == 1


async def test_a_request_made_while_the_holder_is_busy_waits_for_its_next_wait() -> None:
    lender = ConnectionLender()
    busy = trio.Event()

    async def holder() -> None:
        with lender.holding(CLIENT):
            await busy.wait()  # e.g. syncing after a push
            assert lender.wanted
            with lender.interruptible() as wait:
                await trio.sleep_forever()
            assert wait.cancelled_caught
            await lender.lend(CLIENT)

    got: list[ImapClient | None] = []

    async def borrower() -> None:
        async with lender.borrow(patience=60) as lent:
            got.append(lent)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder)
        nursery.start_soon(borrower)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        busy.set()
    assert got == [CLIENT]


async def test_a_holder_that_never_lends_leaves_the_borrower_to_fend_for_itself(
        autojump_clock: trio.testing.MockClock) -> None:
    lender = ConnectionLender()

    async def holder() -> None:
        with lender.holding(CLIENT):
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder)
        await trio.testing.wait_all_tasks_blocked()
        started = trio.current_time()
        async with lender.borrow(patience=5) as lent:
            assert lent is None
        assert trio.current_time() - started == pytest.approx(5)
        assert not lender.wanted  # the request was withdrawn
        nursery.cancel_scope.cancel()


async def test_a_holder_that_stops_releases_the_waiting_borrower() -> None:
    lender = ConnectionLender()
    stop = trio.Event()

    async def holder() -> None:
        with lender.holding(CLIENT):
            await stop.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder)
        await trio.testing.wait_all_tasks_blocked()

        async def stop_soon() -> None:
            await trio.testing.wait_all_tasks_blocked()
            stop.set()

        nursery.start_soon(stop_soon)
        with trio.fail_after(1):
            async with lender.borrow(patience=60) as lent:
                assert lent is None


async def test_a_borrower_that_gives_up_does_not_strand_the_holder() -> None:
    lender = ConnectionLender()
    busy, done = trio.Event(), trio.Event()

    async def holder() -> None:
        with lender.holding(CLIENT):
            await busy.wait()
            assert not await lender.lend(CLIENT)  # the request was withdrawn
            done.set()

    async def borrower(scope: trio.CancelScope) -> None:
        with scope:
            async with lender.borrow(patience=60):
                raise AssertionError("never lent")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder)
        giving_up = trio.CancelScope()
        nursery.start_soon(borrower, giving_up)
        await trio.testing.wait_all_tasks_blocked()
        assert lender.wanted
        giving_up.cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert not lender.wanted
        busy.set()
        with trio.fail_after(1):
            await done.wait()
    assert lender.loans == 0


@pytest.mark.dovecot
async def test_quiet_polls_open_no_connection_and_changes_still_arrive(
        dovecot: Dovecot, store: Store, events: EventLog, nursery: trio.Nursery,
        mail_client: Any) -> None:
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject="first", message_id="<first@x>")])
    grant = await add_grant(store, dovecot, user, password)
    link = await Supervisor(store, FAST, ssl_context_factory=dovecot.ssl_context
                            ).link_for(grant.id)
    link.settings = replace(link.settings, poll_interval=0.3, uidvalidity_check_interval=0.3)
    runner = GrantRunner(link)
    nursery.start_soon(runner.run)
    await events.wait_type(EventType.GRANT_IMAP_SYNC_COMPLETED, grant.id, timeout=60)
    lender = runner.lenders[FolderRole.INBOX]
    with trio.fail_after(30):
        await lender.lent(1)
        opened = link.stats.opened_total
        await lender.lent(lender.loans + 6)  # polls and UIDVALIDITY checks
    assert link.stats.opened_total == opened
    assert runner.lenders[FolderRole.SENT].loans == 0
    folders = await store.list_folders(grant.id)
    assert all(f.last_uidvalidity_check is not None for f in folders)

    def created(subject: str) -> Any:
        return lambda e: (e.type == EventType.MESSAGE_CREATED and e.grant_id == grant.id
                          and e.payload["subject"] == subject)

    async with mail_client(user, password) as client:
        # A folder nobody watches: the poll sees it over the lent connection and syncs
        # it on a connection of its own.
        await client.append("Archive", make_message(subject="filed", message_id="<filed@x>"))
        await events.wait_for(created("filed"), timeout=30)
        assert link.stats.opened_total > opened
        # The watcher's own folder: IDLE still tells, between the loans.
        await client.append("INBOX", make_message(subject="news", message_id="<news@x>"))
        await events.wait_for(created("news"), timeout=30)
