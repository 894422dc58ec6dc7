"""Fixtures for the web tests: a real store, hosted auth, and the web server on a real
socket, driven with httpx as a browser would drive it."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
import trio

from tests.support.smtpserver import smtp_server  # noqa: F401 -- a fixture, used by name
from tidings.config import WebConfig
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
from tidings.service.errors import Conflict, CredentialsRejected
from tidings.service.grant_input import CustomAuth, GrantUpdate
from tidings.service.hosted import GrantCreator, HostedAuth
from tidings.store import Store, WriteTx
from tidings.sync.link import ConnectionStats
from tidings.web import MetricsSource, serve_web

REDIRECT = "https://app.example/oauth/callback"
PUBLIC_URL = "https://mail-auth.example.org"
RIGHT_PASSWORD = "right-app-password"


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


class FakeAccounts:
    """Stands in for `AccountService.create_grant` and `update_grant`: accepts one
    password, stores the grant like the real one does (without asking a mail server)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[CustomAuth] = []
        self.updates: list[GrantUpdate] = []

    async def create_grant(self, auth: CustomAuth) -> Grant:
        self.calls.append(auth)
        # As the real service: a second grant for a mailbox is refused before any check.
        for existing in await self.store.list_grants(auth.connector_id):
            if existing.email == auth.email:
                raise Conflict(f"grant {existing.id!r} already connects {existing.email}")
        if auth.imap_password != RIGHT_PASSWORD:
            raise CredentialsRejected("imap", "[AUTHENTICATIONFAILED] Authentication failed.")
        now = time.time()
        assert auth.connector_id is not None
        grant = Grant(id=new_id(), connector_id=auth.connector_id, email=auth.email,
                      name=auth.name or "", provider_type=auth.provider_type or "generic",
                      imap=Endpoint(auth.imap_host or "imap.example.org",
                                    auth.imap_port or 993, auth.imap_security or Security.TLS),
                      smtp=Endpoint(auth.smtp_host or "smtp.example.org",
                                    auth.smtp_port or 465, auth.smtp_security or Security.TLS),
                      imap_username=auth.imap_username or auth.email,
                      smtp_username=auth.imap_username or auth.email,
                      state=GrantState.SYNCING, caller_state=auth.caller_state,
                      created_at=now, updated_at=now)

        def write(tx: WriteTx) -> None:
            tx.create_grant(grant)
            tx.set_credentials(grant.id, Credentials(auth.imap_password, auth.imap_password))

        await self.store.write(write)
        return grant

    async def update_grant(self, grant_id: str, update: GrantUpdate) -> Grant:
        self.updates.append(update)
        if update.imap_password != RIGHT_PASSWORD:
            raise CredentialsRejected("imap", "[AUTHENTICATIONFAILED] Authentication failed.")
        grant = replace(await self.store.get_grant(grant_id), caller_state=update.caller_state)
        await self.store.write(lambda tx: tx.update_grant(grant))
        return grant


@dataclass
class Site:
    """A running web server and what it serves."""

    store: Store
    hosted: HostedAuth
    metrics: MetricsSource
    clock: FakeClock
    connector: Connector
    base_url: str
    client: httpx.AsyncClient
    accounts: Any


@pytest.fixture
async def connector(store: Store) -> Connector:
    now = time.time()
    created = Connector(id=new_id(), name="imap", created_at=now, updated_at=now,
                        settings=ConnectorSettings(allowed_redirect_uris=(REDIRECT,)))
    await store.write(lambda tx: tx.create_connector(created))
    return created


async def run_site(nursery: trio.Nursery, store: Store, connector: Connector,
                   accounts: GrantCreator) -> AsyncIterator[Site]:
    clock = FakeClock()
    hosted = HostedAuth(store, accounts, public_url=PUBLIC_URL, code_ttl=60,
                        session_ttl=600, clock=clock)
    metrics = MetricsSource(store, ConnectionStats(open=2, opened_total=7))
    port: int = await nursery.start(lambda task_status: serve_web(
        WebConfig(host="127.0.0.1", port=0, public_url=PUBLIC_URL), hosted=hosted,
        health=metrics.health, metrics=metrics, task_status=task_status))
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, follow_redirects=False,
                                 timeout=60) as client:
        yield Site(store=store, hosted=hosted, metrics=metrics, clock=clock,
                   connector=connector, base_url=base_url, client=client, accounts=accounts)


@pytest.fixture
async def site(nursery: trio.Nursery, store: Store, connector: Connector
               ) -> AsyncIterator[Site]:
    """The web server with a stand-in for the account service."""
    async for running in run_site(nursery, store, connector, FakeAccounts(store)):
        yield running


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
