"""The database going away between the last folder of an initial sync and its completion
(a PostgreSQL restart under a cluster): the supervisor restarts the grant, which tells
`grant.imap_sync_completed` exactly once, and a later restart of the grant tells it no
more. The refusal is made in the write itself, as a lost connection fails a commit:
nothing of the refused write is kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.events import EventLog
from tests.support.mailgen import make_message
from tests.sync.conftest import FAST, add_grant
from tidings.domain import EventType, NewEvent
from tidings.store import Store, StoreError, WriteTx
from tidings.sync.supervisor import Supervisor

pytestmark = pytest.mark.dovecot

T = TypeVar("T")


class _RefuseFirstCompletion:
    """A write transaction that fails the first write telling a completion."""

    def __init__(self, tx: WriteTx, refused: list[NewEvent]) -> None:
        self._tx = tx
        self._refused = refused

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def append_event(self, event: NewEvent) -> Any:
        if event.type is EventType.GRANT_IMAP_SYNC_COMPLETED and not self._refused:
            self._refused.append(event)
            raise StoreError("commit failed: the connection is closed")
        return self._tx.append_event(event)


async def test_a_completion_lost_with_the_database_is_told_once_after_the_restart(
        dovecot: Dovecot, store: Store, nursery: trio.Nursery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject=f"old {n}") for n in range(3)])
    grant = await add_grant(store, dovecot, user, password)
    events = await EventLog.attach(store)
    refused: list[NewEvent] = []
    write = store.write

    async def refusing_write(fn: Callable[[WriteTx], T]) -> T:
        return await write(lambda tx: fn(cast(WriteTx, _RefuseFirstCompletion(tx, refused))))

    monkeypatch.setattr(store, "write", refusing_write)
    supervisor = Supervisor(store, FAST, ssl_context_factory=dovecot.ssl_context)
    await nursery.start(supervisor.run)

    supervisor.start_grant(grant.id)
    done = await events.wait_type(EventType.GRANT_IMAP_SYNC_COMPLETED, grant.id)
    assert len(refused) == 1  # the first attempt's completion was lost with its write
    assert done.payload["messages"] == 3
    progress = (await store.get_grant(grant.id)).progress
    assert progress.folders_done == progress.folders_total > 0

    # Restarted later (new credentials, a lease taken over), the grant catches up
    # without telling its completion again: new mail shows it is past its initial sync.
    supervisor.start_grant(grant.id)
    dovecot.seed(user, [make_message(subject="after the restart")])
    await events.wait_for(lambda e: e.type is EventType.MESSAGE_CREATED
                          and e.payload.get("subject") == "after the restart")
    await events.drain()
    assert [e.grant_id for e in events.of_type(EventType.GRANT_IMAP_SYNC_COMPLETED)] == [
        grant.id]
