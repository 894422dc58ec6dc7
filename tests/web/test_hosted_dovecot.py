"""The hosted flow against real servers: the private Dovecot and the test SMTP server."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tests.web.browser import form_fields
from tests.web.conftest import REDIRECT, Site, pkce_pair, run_site
from tidings.domain import Connector, GrantState, Security
from tidings.service.accounts import AccountService
from tidings.service.errors import PreconditionFailed
from tidings.store import Store

pytestmark = pytest.mark.dovecot


class RecordingSync:
    """Stands in for the supervisor: remembers which grants it was told to start."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start_grant(self, grant_id: str) -> None:
        self.started.append(grant_id)

    def stop_grant(self, grant_id: str) -> None:
        self.started.remove(grant_id)


@pytest.fixture
async def real_site(nursery: trio.Nursery, store: Store, connector: Connector,
                    dovecot: Dovecot, smtp_server: SmtpServer) -> AsyncIterator[Site]:
    accounts = AccountService(store, RecordingSync(), ssl_context_factory=dovecot.ssl_context,
                              smtp_ssl_context_factory=smtp_server.ssl_context,
                              verify_timeout=20)
    async for running in run_site(nursery, store, connector, accounts):
        yield running


def fill(fields: dict[str, str], user: str, password: str, dovecot: Dovecot,
         smtp_server: SmtpServer) -> dict[str, str]:
    """What the user types into the Advanced section for a self-hosted server."""
    return {**fields, "password": password, "username": user,
            "imap_host": dovecot.host, "imap_port": str(dovecot.tls_port),
            "imap_security": "tls", "smtp_host": smtp_server.host,
            "smtp_port": str(smtp_server.tls_port), "smtp_security": "tls"}


async def test_a_dovecot_user_signs_in_and_the_code_gives_the_grant(
        real_site: Site, dovecot: Dovecot, smtp_server: SmtpServer,
        imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    email = f"{user}@example.org"
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    url = await real_site.hosted.start(real_site.connector.id, REDIRECT, None, email, state,
                                       challenge, "S256")
    path = urlsplit(url).path
    page = await real_site.client.get(path)
    assert page.status_code == 200
    fields = form_fields(page.text)
    assert fields["email"] == email
    assert fields["imap_host"] == ""  # no preset knows example.org: the user fills it in

    answer = await real_site.client.post(
        path, data=fill(fields, user, password, dovecot, smtp_server))
    assert answer.status_code == 303, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [state]
    grant = await real_site.hosted.exchange(query["code"][0], redirect_uri=REDIRECT,
                                            code_verifier=verifier)
    assert (grant.email, grant.imap_username, grant.caller_state) == (email, user, state)
    assert (grant.imap.host, grant.imap.port, grant.imap.security) == (
        dovecot.host, dovecot.tls_port, Security.TLS)
    assert grant.smtp.port == smtp_server.tls_port
    assert grant.state is GrantState.SYNCING
    assert (await real_site.store.get_credentials(grant.id)).imap_password == password
    assert real_site.accounts.sync.started == [grant.id]
    with pytest.raises(PreconditionFailed):
        await real_site.hosted.exchange(query["code"][0], redirect_uri=REDIRECT,
                                        code_verifier=verifier)


async def test_a_wrong_dovecot_password_shows_the_imap_error(
        real_site: Site, dovecot: Dovecot, smtp_server: SmtpServer,
        imap_user: tuple[str, str]) -> None:
    user, _password = imap_user
    url = await real_site.hosted.start(real_site.connector.id, REDIRECT, None,
                                       f"{user}@example.org", None, None, None)
    path = urlsplit(url).path
    fields = form_fields((await real_site.client.get(path)).text)
    wrong = "definitely-wrong-8812"
    answer = await real_site.client.post(
        path, data=fill(fields, user, wrong, dovecot, smtp_server))
    assert answer.status_code == 422
    assert "IMAP login failed:" in answer.text
    assert wrong not in answer.text
    shown = form_fields(answer.text)
    assert (shown["username"], shown["imap_port"]) == (user, str(dovecot.tls_port))
    assert await real_site.store.list_grants() == []


async def test_signing_in_again_renews_the_grant_on_the_real_servers(
        real_site: Site, dovecot: Dovecot, smtp_server: SmtpServer,
        imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    email = f"{user}@example.org"
    grants = []
    for state in ("first", "second"):
        url = await real_site.hosted.start(real_site.connector.id, REDIRECT, None, email,
                                           state, None, None)
        path = urlsplit(url).path
        fields = form_fields((await real_site.client.get(path)).text)
        answer = await real_site.client.post(
            path, data=fill(fields, user, password, dovecot, smtp_server))
        assert answer.status_code == 303, answer.text
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        grants.append(await real_site.hosted.exchange(code, redirect_uri=REDIRECT))
    first, second = grants
    assert second.id == first.id
    assert second.caller_state == "second"
    assert [g.id for g in await real_site.store.list_grants()] == [first.id]
