"""SIGKILL during the initial sync: the restarted process finishes with nothing lost,
nothing duplicated, and no event emitted twice."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.store_backend import query_scalar
from tests.sync.conftest import add_grant
from tests.sync.test_sync_trouble import _seed
from tidings.domain import EventType
from tidings.store import MessageQuery, open_store

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

COUNT = 600


REPO = Path(__file__).resolve().parents[2]
COMPLETED = ("SELECT count(*) FROM events WHERE type = ?",
             (EventType.GRANT_IMAP_SYNC_COMPLETED.value,))
MESSAGES = ("SELECT count(*) FROM messages", ())


def _count(db: str, query: tuple[str, tuple[str, ...]]) -> int:
    return query_scalar(db, *query) or 0


async def _wait_until(check: Callable[[], bool], timeout: float) -> None:
    """Poll another process's database: there is no event to wait on across processes."""
    with trio.fail_after(timeout):
        while not check():  # noqa: ASYNC110 (the condition lives in another process)
            await trio.sleep(0.05)


async def test_sigkill_during_initial_sync(dovecot: Dovecot, store_url: str) -> None:
    user, password = dovecot.add_user()
    _seed(dovecot, user, COUNT)
    db, key = store_url, os.urandom(32)
    async with open_store(db, key) as store:
        grant = await add_grant(store, dovecot, user, password)
    command = [sys.executable, "-m", "tests.support.sync_process", db, key.hex(),
               str(dovecot.cert_path)]

    first = await trio.lowlevel.open_process(command, cwd=REPO)
    try:
        await _wait_until(lambda: _count(db, MESSAGES) >= 100, 60)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    stored_at_kill = _count(db, MESSAGES)
    assert 0 < stored_at_kill < COUNT, "the kill must land in the middle of the sync"

    second = await trio.lowlevel.open_process(command, cwd=REPO)
    try:
        await _wait_until(lambda: _count(db, COMPLETED) >= 1, 90)
    finally:
        second.send_signal(signal.SIGKILL)
        await second.wait()

    async with open_store(db, key) as store:
        headers: list[str] = []
        token = None
        while True:
            page = await store.list_messages(grant.id, MessageQuery(limit=200,
                                                                    page_token=token))
            headers.extend(m.message_id_header for m in page.items)
            if (token := page.next_page_token) is None:
                break
        assert len(headers) == len(set(headers)) == COUNT
        events = await store.read_events(0, 10_000)
        kinds = [e.type for e in events]
        assert kinds.count(EventType.GRANT_IMAP_SYNC_COMPLETED) == 1
        assert EventType.MESSAGE_CREATED not in kinds  # initial mail makes no events
