"""`AsyncTidings` on an asyncio loop (in a worker thread: the daemon runs on trio in
this one): the same calls, the same values and errors, and its event stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import trio

from tests.clients.conftest import ClientDaemon, call, imap_session
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tidings.events import decode_cursor
from tidings_client import (
    AsyncEventStream,
    AsyncTidings,
    Event,
    NotFound,
    SyncState,
    Unauthenticated,
)

pytestmark = pytest.mark.dovecot

T = TypeVar("T")


async def _in_asyncio(scenario: Callable[[], Awaitable[T]], seconds: float = 60) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), seconds)

    return await trio.to_thread.run_sync(lambda: asyncio.run(bounded()))


async def test_calls_values_and_errors(client_daemon: ClientDaemon) -> None:
    async def scenario() -> tuple[str, list[str], str, str]:
        async with AsyncTidings(client_daemon.address, client_daemon.api_key) as client:
            connector = await client.create_connector("async", poll_interval_seconds=30)
            listed = [c.id for c in await client.list_connectors()]
            await client.delete_connector(connector.id)
            try:
                await client.get_connector(connector.id)
            except NotFound as exc:
                missing = exc.message
        async with AsyncTidings(client_daemon.address, "wrong") as stranger:
            try:
                await stranger.list_connectors()
            except Unauthenticated as exc:
                refused = exc.code
        return connector.id, listed, missing, refused

    connector_id, listed, missing, refused = await _in_asyncio(scenario)
    assert listed == [connector_id]
    assert connector_id in missing
    assert refused == "UNAUTHENTICATED"


async def test_event_stream_follows_the_initial_sync(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()

    async def scenario() -> tuple[list[Event], SyncState, str]:
        async with AsyncTidings(client_daemon.address, client_daemon.api_key) as client:
            await client.create_connector("async")
            start = await client.get_cursor()
            grant = await client.create_grant(**client_daemon.grant_args(user, password))
            seen: list[Event] = []
            async with client.watch_events(cursor=start, grant_ids=[grant.id]) as stream:
                async for event in stream:
                    seen.append(event)
                    if event.type == "grant.imap_sync_completed":
                        break
                cursor = stream.cursor
            synced = await client.get_grant(grant.id)
            assert cursor is not None
            return seen, synced.sync_state, cursor

    seen, state, cursor = await _in_asyncio(scenario)
    assert seen[0].type == "grant.created"
    assert seen[-1].type == "grant.imap_sync_completed"
    assert cursor == seen[-1].cursor
    assert state is SyncState.RUNNING


async def test_event_stream_resumes_across_a_daemon_restart(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    token = trio.lowlevel.current_trio_token()
    with client_daemon.client() as client:
        await call(client.create_connector, "mail")
        grant = await client_daemon.synced_grant(client, user, password)
        start = await call(client.get_cursor)

    async def append(subject: str) -> None:
        async with imap_session(dovecot, user, password) as imap:
            await imap.append("INBOX", make_message(subject=subject))

    async def on_trio(fn: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run a trio function (the daemon's, or the IMAP client's) from asyncio."""
        await asyncio.to_thread(trio.from_thread.run, fn, *args, trio_token=token)

    async def until_created(stream: AsyncEventStream, subject: str, seen: list[Event]) -> None:
        async for event in stream:
            seen.append(event)
            if event.type == "message.created" and event.subject == subject:
                return

    async def scenario() -> tuple[list[Event], int]:
        seen: list[Event] = []
        async with AsyncTidings(client_daemon.address, client_daemon.api_key,
                                max_backoff=0.5) as tidings, \
                tidings.watch_events(cursor=start, grant_ids=[grant.id]) as stream:
            await on_trio(append, "async before")
            await until_created(stream, "async before", seen)
            await on_trio(client_daemon.stop)
            await on_trio(append, "async while down")
            await on_trio(client_daemon.start)
            await until_created(stream, "async while down", seen)
            return seen, stream.reconnects

    seen, reconnects = await _in_asyncio(scenario, seconds=120)
    assert reconnects >= 1
    after = decode_cursor(start)
    log = [e.id for e in await client_daemon.log()
           if e.position > after and e.grant_id == grant.id]
    received = [e.id for e in seen]
    assert received == log[: len(received)]
    assert len(set(received)) == len(received)
