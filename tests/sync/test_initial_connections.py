"""The initial sync's extra connections: a second folder is taken at once on a
connection of its own, and where the server refuses more connections than the first,
that one takes every folder and the sync still completes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.imapproxy import SessionLimitProxy
from tests.support.mailgen import make_message
from tests.sync.conftest import add_grant
from tidings.domain import EventType, Security
from tidings.store import MessageQuery, Store
from tidings.sync.grant import GrantRunner
from tidings.sync.supervisor import Supervisor

pytestmark = pytest.mark.dovecot

FOLDERS = {"INBOX": 30, "Sent": 12, "Archive": 8}


def _seed(dovecot: Dovecot, user: str) -> None:
    when = datetime.now(UTC) - timedelta(days=1)
    for folder, count in FOLDERS.items():
        dovecot.seed(user, [make_message(subject=f"{folder} {i}",
                                         message_id=f"<{folder}-{i}@x>", when=when)
                            for i in range(count)], folder=folder, when=when)


async def _initial_sync(store: Store, supervisor: Supervisor, dovecot: Dovecot,
                        proxy: SessionLimitProxy, nursery: trio.Nursery, **settings: int
                        ) -> str:
    """Run one grant's initial sync through `proxy`, with these sync settings changed;
    returns the grant id."""
    user, password = dovecot.add_user()
    _seed(dovecot, user)
    port = await nursery.start(proxy.serve)
    grant = await add_grant(store, dovecot, user, password, port=port,
                            security=Security.PLAIN, allow_plaintext=True)
    link = await supervisor.link_for(grant.id)
    link.settings = replace(link.settings, **settings)
    with trio.fail_after(60):
        await GrantRunner(link).initial_sync()
    return grant.id


async def _assert_every_folder_synced(store: Store, grant_id: str) -> None:
    folders = {f.id: f.name for f in await store.list_folders(grant_id)}
    held: dict[str, int] = {}
    for message in (await store.list_messages(grant_id, MessageQuery(limit=200))).items:
        for folder_id in message.folder_ids:
            held[folders[folder_id]] = held.get(folders[folder_id], 0) + 1
    assert held == FOLDERS
    completions = await store.read_events(0, 100, grant_ids={grant_id},
                                          types={EventType.GRANT_IMAP_SYNC_COMPLETED})
    assert len(completions) == 1
    assert completions[0].payload["messages"] == sum(FOLDERS.values())


@pytest.mark.parametrize(("allowed", "settings", "peak", "refused"), [
    # The first connection and the extra folder's (the folders are too small to have
    # their text parts fetched on a connection of their own).
    pytest.param(100, {}, 2, 0, id="a second folder on a connection of its own"),
    # Batches small enough that the inbox's text parts would have a connection too:
    # refused are that one and the extra folder's.
    pytest.param(1, {"fetch_batch": 10}, 1, 2, id="the server refusing more connections"),
    pytest.param(100, {"initial_folder_connections": 1}, 1, 0,
                 id="one connection when the settings ask for one"),
])
async def test_the_initial_sync_takes_every_folder_on_the_connections_it_gets(
        dovecot: Dovecot, store: Store, supervisor: Supervisor, nursery: trio.Nursery,
        allowed: int, settings: dict[str, int], peak: int, refused: int) -> None:
    proxy = SessionLimitProxy(dovecot.host, dovecot.port, allowed=allowed)
    grant_id = await _initial_sync(store, supervisor, dovecot, proxy, nursery, **settings)
    await _assert_every_folder_synced(store, grant_id)
    assert (proxy.peak, proxy.refused) == (peak, refused)
    with trio.fail_after(10):
        await proxy.wait_all_closed()  # the sync closed every connection it opened
    assert (await store.get_grant(grant_id)).progress.completed
