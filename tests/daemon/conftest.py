"""A real daemon in the test's trio run: `run_daemon` on free ports with a temporary data
directory, trusting the private Dovecot's certificate for IMAP and SMTP, plus blocking
gRPC stubs called from worker threads."""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer, smtp_server
from tidings.app import RunningDaemon, run_daemon
from tidings.config import (
    Config,
    GrpcConfig,
    ImapConfig,
    LogConfig,
    SmtpConfig,
    SyncConfig,
    WebConfig,
)
from tidings.domain import Event
from tidings.v1 import (
    common_pb2,
    connectors_pb2,
    connectors_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    grants_pb2,
    grants_pb2_grpc,
)

__all__ = ["Daemon", "Subscription", "daemon", "smtp_server"]

T = TypeVar("T")
TIMEOUT = 30.0


def daemon_config(data_dir: Path, dovecot: Dovecot, store: str | None = None) -> Config:
    """Settings for a test daemon; `store` is the `daemon_store` fixture's value (None: the
    default SQLite file in `data_dir`)."""
    return Config(
        data_dir=str(data_dir),
        store=store,
        grpc=GrpcConfig(host="127.0.0.1", port=0),
        web=WebConfig(host="127.0.0.1", port=0),
        log=LogConfig(level=os.environ.get("TIDINGS_TEST_LOG_LEVEL", "warning")),
        sync=SyncConfig(poll_interval=5.0, max_backoff=2.0),
        imap=ImapConfig(ca_file=str(dovecot.cert_path), timeout=15.0),
        smtp=SmtpConfig(ca_file=str(dovecot.cert_path), timeout=15.0),
    )


class Subscription:
    """An EventService.Subscribe stream, read by a worker thread into a channel, so a test
    waits for batches with a deadline and none is lost when a wait gives up."""

    def __init__(self, stream: Any, nursery: trio.Nursery) -> None:
        self.stream = stream
        self.events: list[events_pb2.Event] = []
        self.cursor: str | None = None
        send, self._batches = trio.open_memory_channel[Any](math.inf)
        nursery.start_soon(self._pump, send)

    async def _pump(self, send: trio.MemorySendChannel[Any]) -> None:
        def read() -> None:
            try:
                for batch in self.stream:
                    trio.from_thread.run_sync(send.send_nowait, batch)
                trio.from_thread.run_sync(send.send_nowait, StopAsyncIteration())
            except grpc.RpcError as exc:
                with contextlib.suppress(trio.RunFinishedError, trio.Cancelled):
                    trio.from_thread.run_sync(send.send_nowait, exc)
            except (trio.RunFinishedError, trio.Cancelled):
                pass  # the test is over; the stream is cancelled at teardown

        await trio.to_thread.run_sync(read, abandon_on_cancel=True)

    async def next_batch(self, seconds: float = TIMEOUT) -> events_pb2.EventBatch:
        with trio.fail_after(seconds):
            item = await self._batches.receive()
        if isinstance(item, BaseException):
            raise item
        batch: events_pb2.EventBatch = item
        self.events.extend(batch.events)
        self.cursor = batch.cursor
        return batch

    async def wait_for(self, predicate: Callable[[events_pb2.Event], bool],
                       seconds: float = TIMEOUT) -> events_pb2.Event:
        """Read batches until an event matches; every event read is kept in `events`."""
        with trio.fail_after(seconds):
            for event in self.events:
                if predicate(event):
                    return event
            while True:
                batch = await self.next_batch(seconds)
                for event in batch.events:
                    if predicate(event):
                        return event

    async def wait_type(self, kind: str, grant_id: str | None = None,
                        seconds: float = TIMEOUT) -> events_pb2.Event:
        return await self.wait_for(
            lambda e: e.type == kind and (grant_id is None or e.grant_id == grant_id), seconds)

    def close(self) -> None:
        self.stream.cancel()


@dataclass
class Daemon:
    running: RunningDaemon
    config: Config
    api_key: str
    channel: grpc.Channel
    nursery: trio.Nursery
    subscriptions: list[Subscription] = field(default_factory=list)

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),)

    @property
    def connectors(self) -> connectors_pb2_grpc.ConnectorServiceStub:
        return connectors_pb2_grpc.ConnectorServiceStub(self.channel)

    @property
    def grants(self) -> grants_pb2_grpc.GrantServiceStub:
        return grants_pb2_grpc.GrantServiceStub(self.channel)

    @property
    def events(self) -> events_pb2_grpc.EventServiceStub:
        return events_pb2_grpc.EventServiceStub(self.channel)

    async def call(self, method: Callable[..., T], request: Any, *,
                   metadata: Any = None, deadline: float = TIMEOUT) -> T:
        """A unary call from a worker thread, with the API key unless told otherwise."""
        call = functools.partial(method, request, timeout=deadline,
                                 metadata=self.auth if metadata is None else metadata)
        return await trio.to_thread.run_sync(call)

    async def failure(self, method: Callable[..., Any], request: Any, *,
                      metadata: Any = None) -> grpc.RpcError:
        """The error a call fails with (the test fails if it succeeds)."""
        with pytest.raises(grpc.RpcError) as caught:
            await self.call(method, request, metadata=metadata)
        return caught.value

    def subscribe(self, request: events_pb2.SubscribeRequest | None = None,
                  timeout: float = 120.0) -> Subscription:
        stream = self.events.Subscribe(request or events_pb2.SubscribeRequest(),
                                       metadata=self.auth, timeout=timeout)
        subscription = Subscription(stream, self.nursery)
        self.subscriptions.append(subscription)
        return subscription

    async def cursor_at(self, time: int = 0) -> str:
        reply = await self.call(self.events.GetCursor, events_pb2.GetCursorRequest(time=time))
        return str(reply.cursor)

    async def create_connector(self, name: str = "test", **settings: Any
                               ) -> connectors_pb2.Connector:
        request = connectors_pb2.CreateConnectorRequest(
            provider=common_pb2.PROVIDER_IMAP, name=name,
            settings=connectors_pb2.ConnectorSettings(**settings))
        reply: connectors_pb2.Connector = await self.call(
            self.connectors.CreateConnector, request)
        return reply

    async def log(self) -> list[Event]:
        """Everything in the daemon's event log, read straight from its store."""
        return await self.running.store.read_events(0, 100_000)


def grant_request(dovecot: Dovecot, smtp: SmtpServer, user: str, password: str,
                  **overrides: Any) -> grants_pb2.CreateGrantRequest:
    """Custom auth for a Dovecot user: IMAP and SMTP over implicit TLS."""
    fields: dict[str, Any] = {
        "email": f"{user}@example.org",
        "imap_username": user,
        "imap_password": password,
        "imap_host": dovecot.host,
        "imap_port": dovecot.tls_port,
        "imap_security": common_pb2.SECURITY_MODE_TLS,
        "smtp_host": smtp.host,
        "smtp_port": smtp.tls_port,
        "smtp_security": common_pb2.SECURITY_MODE_TLS,
    }
    fields.update(overrides)
    return grants_pb2.CreateGrantRequest(**fields)


@pytest.fixture
async def daemon(tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpServer,
                 nursery: trio.Nursery, daemon_store: str | None) -> AsyncIterator[Daemon]:
    config = daemon_config(tmp_path / "data", dovecot, daemon_store)
    running: RunningDaemon = await nursery.start(
        functools.partial(run_daemon, config, handle_signals=False))
    _key_id, key = await running.accounts.create_api_key("tests")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}")
    handle = Daemon(running, config, key, channel, nursery)
    try:
        yield handle
    finally:
        for subscription in handle.subscriptions:
            subscription.close()
        channel.close()

