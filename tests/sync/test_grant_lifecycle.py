"""How a grant's sync starts and ends: its completion is told once, whatever order an old
attempt's writes and a new attempt's reads land in; its settings come from its connector
and, where the connector has none, from the daemon."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import cast

import pytest
import trio
import trio.testing

from tests.support.dovecot import Dovecot
from tests.sync.conftest import add_grant
from tests.sync.test_sync_trouble import _seed
from tidings.domain import EventType, GrantState, SyncProgress
from tidings.store import Store
from tidings.sync.grant import GrantRunner, _record_progress
from tidings.sync.supervisor import Supervisor


async def _completions(store: Store, grant_id: str) -> int:
    events = await store.read_events(0, 1000, grant_ids={grant_id},
                                     types={EventType.GRANT_IMAP_SYNC_COMPLETED})
    return len(events)


@pytest.mark.dovecot
async def test_a_late_or_repeated_completion_is_not_told_again(
        dovecot: Dovecot, store: Store, supervisor: Supervisor) -> None:
    user, password = dovecot.add_user()
    _seed(dovecot, user, 5)
    grant = await add_grant(store, dovecot, user, password)
    await GrantRunner(await supervisor.link_for(grant.id)).initial_sync()
    assert await _completions(store, grant.id) == 1
    done = (await store.get_grant(grant.id)).progress
    assert done.completed and done.messages_done == 5

    # An older attempt's progress write lands after the completion: it changes nothing,
    # so a restart still knows the completion was told.
    await store.write(functools.partial(
        _record_progress, grant_id=grant.id,
        progress=SyncProgress(folders_done=1, folders_total=done.folders_total,
                              messages_done=2, messages_total=5)))
    assert (await store.get_grant(grant.id)).progress == done

    # Two attempts both reach the completion (the first was told its commit failed,
    # though the database kept it): the second records the state, not a second event.
    await store.write(lambda tx: tx.set_grant_state(grant.id, GrantState.DEGRADED, "outage"))
    second = GrantRunner(await supervisor.link_for(grant.id))
    await second._complete(done)
    stored = await store.get_grant(grant.id)
    assert stored.state is GrantState.VALID and stored.state_reason is None
    assert await _completions(store, grant.id) == 1

    # And a restarted sync only catches up.
    await GrantRunner(await supervisor.link_for(grant.id)).initial_sync()
    assert await _completions(store, grant.id) == 1


class _Traced(Supervisor):
    """A supervisor whose grant tree only records its start and, once `release` is set,
    its end: an end that waits stands for a shielded write still queued."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, start_all=False)
        self.trace: list[str] = []
        self.release = trio.Event()
        self._runs = 0

    async def _run_once(self, grant_id: str) -> None:
        run = self._runs
        self._runs += 1
        self.trace.append(f"start {run}")
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await self.release.wait()
            self.trace.append(f"end {run}")


async def test_a_restarted_grant_starts_after_the_old_tree_ends(
        nursery: trio.Nursery) -> None:
    supervisor = _Traced(cast(Store, None))  # the traced tree never reaches a store
    await nursery.start(supervisor.run)
    supervisor.start_grant("g1")
    await trio.testing.wait_all_tasks_blocked()
    assert supervisor.trace == ["start 0"]

    supervisor.start_grant("g1")  # e.g. new credentials: the old tree is cancelled
    supervisor.start_grant("g1")  # and asked again before it has ended
    await trio.testing.wait_all_tasks_blocked()
    assert supervisor.trace == ["start 0"]

    supervisor.release.set()
    await trio.testing.wait_all_tasks_blocked()
    assert supervisor.trace == ["start 0", "end 0", "start 1"]

    supervisor.stop_grant("g1")
    await trio.testing.wait_all_tasks_blocked()
    assert supervisor.trace == ["start 0", "end 0", "start 1", "end 1"]


@pytest.mark.dovecot
async def test_a_connector_without_a_poll_interval_follows_the_daemon(
        dovecot: Dovecot, store: Store, supervisor: Supervisor) -> None:
    user, password = dovecot.add_user()
    own = await add_grant(store, dovecot, user, password, poll_interval=7.0)
    assert (await supervisor.link_for(own.id)).settings.poll_interval == 7.0

    follows = await add_grant(store, dovecot, user, password)
    connector = await store.get_connector(follows.connector_id)
    await store.write(lambda tx: tx.update_connector(replace(
        connector, settings=replace(connector.settings, poll_interval=None))))
    stored = await store.get_connector(follows.connector_id)
    assert stored.settings.poll_interval is None
    link = await supervisor.link_for(follows.id)
    assert link.settings.poll_interval == supervisor.settings.poll_interval != 7.0
