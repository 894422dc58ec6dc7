"""A real daemon that tests can stop and start again on the same data directory and
port, the Python client pointed at it, and its blocking calls run in worker threads."""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from tests.daemon.conftest import daemon_config
from tests.support.dovecot import Dovecot, free_port
from tests.support.smtpserver import SmtpServer
from tidings.app import RunningDaemon, run_daemon
from tidings.config import Config, GrpcConfig
from tidings.domain import Event as LogEvent
from tidings.imap import ConnectParams, ImapClient, open_imap
from tidings_client import Event, EventStream, Grant, Security, Tidings

__all__ = ["ClientDaemon", "EventReader", "call", "client_daemon", "imap_session"]

T = TypeVar("T")
TIMEOUT = 60.0


class EventReader:
    """Reads an `EventStream` in a worker thread into a channel, so a test waits for
    events with a deadline while the stream reconnects on its own."""

    def __init__(self, stream: EventStream, nursery: trio.Nursery) -> None:
        self.stream = stream
        self.events: list[Event] = []
        send, self._receive = trio.open_memory_channel[Event | BaseException](math.inf)
        nursery.start_soon(self._pump, send)

    async def _pump(self, send: trio.MemorySendChannel[Event | BaseException]) -> None:
        def read() -> None:
            try:
                for event in self.stream:
                    trio.from_thread.run_sync(send.send_nowait, event)
            except (trio.RunFinishedError, trio.Cancelled):
                pass  # the test is over
            except Exception as exc:
                trio.from_thread.run_sync(send.send_nowait, exc)

        await trio.to_thread.run_sync(read, abandon_on_cancel=True)

    async def next(self, seconds: float = TIMEOUT) -> Event:
        with trio.fail_after(seconds):
            item = await self._receive.receive()
        if isinstance(item, BaseException):
            raise item
        self.events.append(item)
        return item

    async def wait_for(self, predicate: Callable[[Event], bool],
                       seconds: float = TIMEOUT) -> Event:
        with trio.fail_after(seconds):
            while True:
                event = await self.next(seconds)
                if predicate(event):
                    return event


@dataclass
class ClientDaemon:
    """`run_daemon` in its own cancel scope: `stop()` and `start()` keep the data
    directory and the gRPC port, as a restarted daemon would."""

    config: Config
    dovecot: Dovecot
    smtp: SmtpServer
    nursery: trio.Nursery
    api_key: str = ""
    running: RunningDaemon | None = None
    _scope: trio.CancelScope | None = None
    _stopped: trio.Event | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.config.grpc.port}"

    async def start(self) -> RunningDaemon:
        self._stopped = trio.Event()
        self.running = await self.nursery.start(self._run)
        return self.running

    async def _run(self, task_status: trio.TaskStatus[RunningDaemon]) -> None:
        assert self._stopped is not None
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                await run_daemon(self.config, task_status=task_status, handle_signals=False)
        finally:
            self._stopped.set()

    async def stop(self) -> None:
        assert self._scope is not None and self._stopped is not None
        self._scope.cancel()
        with trio.fail_after(TIMEOUT):
            await self._stopped.wait()
        self.running = None

    def client(self, api_key: str | None = None, **options: Any) -> Tidings:
        return Tidings(self.address, self.api_key if api_key is None else api_key,
                       **options)

    async def log(self) -> list[LogEvent]:
        assert self.running is not None
        return await self.running.store.read_events(0, 100_000)

    def grant_args(self, user: str, password: str) -> dict[str, Any]:
        """Custom auth for a Dovecot user: IMAP and SMTP over implicit TLS."""
        return {
            "email": f"{user}@example.org", "imap_password": password,
            "imap_host": self.dovecot.host, "imap_port": self.dovecot.tls_port,
            "imap_security": Security.TLS, "imap_username": user,
            "smtp_host": self.smtp.host, "smtp_port": self.smtp.tls_port,
            "smtp_security": Security.TLS,
        }

    async def synced_grant(self, client: Tidings, user: str, password: str) -> Grant:
        """A grant for the user, once its initial sync has completed."""
        start = await call(client.get_cursor)
        grant = await call(functools.partial(client.create_grant,
                                             **self.grant_args(user, password)))
        with client.watch_events(cursor=start, grant_ids=[grant.id],
                                 types=["grant.imap_sync_completed"]) as stream:
            reader = EventReader(stream, self.nursery)
            await reader.next()
        return grant


async def call(fn: Callable[..., T], *args: Any) -> T:
    """A blocking client call, from a worker thread (the daemon runs in this thread)."""
    return await trio.to_thread.run_sync(functools.partial(fn, *args))


@pytest.fixture
async def client_daemon(tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpServer,
                        nursery: trio.Nursery, daemon_store: str | None
                        ) -> AsyncIterator[ClientDaemon]:
    base = daemon_config(tmp_path / "data", dovecot, daemon_store)
    config = replace(base, grpc=GrpcConfig(host="127.0.0.1", port=free_port()))
    handle = ClientDaemon(config, dovecot, smtp_server, nursery)
    running = await handle.start()
    _key_id, handle.api_key = await running.accounts.create_api_key("client tests")
    try:
        yield handle
    finally:
        if handle.running is not None:
            await handle.stop()


@asynccontextmanager
async def imap_session(dovecot: Dovecot, user: str, password: str
                       ) -> AsyncIterator[ImapClient]:
    """Another mail client, logged in as the user, making changes the daemon syncs."""
    params = ConnectParams(host=dovecot.host, port=dovecot.tls_port, security="tls",
                           ssl_context=dovecot.ssl_context())
    async with open_imap(params) as client:
        await client.login(user, password)
        yield client
