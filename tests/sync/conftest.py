"""Fixtures for sync tests: a real store, grants on the real Dovecot, a running supervisor."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.events import EventLog
from tidings.domain import (
    Connector,
    ConnectorSettings,
    Credentials,
    Endpoint,
    Grant,
    GrantState,
    Security,
    new_id,
)
from tidings.imap import ConnectParams, ImapClient, open_imap
from tidings.store import Store, WriteTx
from tidings.sync.link import SyncSettings
from tidings.sync.supervisor import Supervisor

FAST = SyncSettings(poll_interval=0.5, uidvalidity_check_interval=300.0,
                    retention_sweep_interval=3600.0, min_backoff=0.2, max_backoff=1.0,
                    imap_timeout=15.0)


@pytest.fixture
async def events(store: Store) -> EventLog:
    return await EventLog.attach(store)


async def add_grant(store: Store, dovecot: Dovecot, user: str, password: str, *,
                    window_days: int = 90, strict: bool = False, port: int | None = None,
                    security: Security = Security.TLS, allow_plaintext: bool = False,
                    poll_interval: float = FAST.poll_interval) -> Grant:
    now = time.time()
    connector = Connector(id=new_id(), name="test", created_at=now, updated_at=now,
                          settings=ConnectorSettings(strict_message_id=strict,
                                                     poll_interval=poll_interval))
    endpoint = Endpoint(host=dovecot.host, port=port or dovecot.tls_port, security=security)
    grant = Grant(id=new_id(), connector_id=connector.id, email=f"{user}@example.org",
                  imap=endpoint, smtp=endpoint, imap_username=user, smtp_username=user,
                  allow_plaintext=allow_plaintext, sync_window_days=window_days,
                  state=GrantState.SYNCING, created_at=now, updated_at=now)

    def write(tx: WriteTx) -> None:
        tx.create_connector(connector)
        tx.create_grant(grant)
        tx.set_credentials(grant.id, Credentials(imap_password=password,
                                                 smtp_password=password))

    await store.write(write)
    return grant


@pytest.fixture
async def supervisor(store: Store, dovecot: Dovecot, nursery: trio.Nursery) -> Supervisor:
    sup = Supervisor(store, FAST, ssl_context_factory=dovecot.ssl_context)
    await nursery.start(sup.run)
    return sup


@pytest.fixture
def mail_client(dovecot: Dovecot) -> Callable[[str, str], AsyncIterator[ImapClient]]:
    """Another IMAP client (as a user's mail app would be), logged in."""

    @asynccontextmanager
    async def connect(user: str, password: str) -> AsyncIterator[ImapClient]:
        params = ConnectParams(host=dovecot.host, port=dovecot.tls_port, security="tls",
                               ssl_context=dovecot.ssl_context())
        async with open_imap(params) as client:
            await client.login(user, password)
            yield client

    return connect  # type: ignore[return-value]
