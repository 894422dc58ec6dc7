"""AccountService against the real Dovecot and SMTP server, with a sync control that
records what it is told (the supervisor's own behaviour is tested in tests/sync)."""

from __future__ import annotations

import pytest

from tests.support.dovecot import Dovecot, free_port
from tests.support.smtpserver import SmtpServer, smtp_server
from tidings.domain import Credentials, EventType, GrantState, Security
from tidings.service import (
    AccountService,
    Conflict,
    CredentialsRejected,
    CustomAuth,
    GrantFilter,
    GrantUpdate,
    InvalidField,
    NotFound,
    PreconditionFailed,
    TlsFailed,
    Unreachable,
)
from tidings.service.grant_input import ConnectorPatch
from tidings.store import Store

__all__ = ["smtp_server"]


class RecordingSync:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start_grant(self, grant_id: str) -> None:
        self.calls.append(("start", grant_id))

    def stop_grant(self, grant_id: str) -> None:
        self.calls.append(("stop", grant_id))


@pytest.fixture
def sync() -> RecordingSync:
    return RecordingSync()


@pytest.fixture
def accounts(store: Store, sync: RecordingSync, dovecot: Dovecot) -> AccountService:
    return AccountService(store, sync, ssl_context_factory=dovecot.ssl_context,
                          smtp_ssl_context_factory=dovecot.ssl_context, verify_timeout=15)


def custom_auth(dovecot: Dovecot, smtp: SmtpServer, user: str, password: str,
                **changes: object) -> CustomAuth:
    fields: dict[str, object] = {
        "email": f"{user}@example.org", "imap_username": user, "imap_password": password,
        "imap_host": dovecot.host, "imap_port": dovecot.tls_port,
        "imap_security": Security.TLS, "smtp_host": smtp.host, "smtp_port": smtp.tls_port,
        "smtp_security": Security.TLS,
    }
    fields.update(changes)
    return CustomAuth(**fields)  # type: ignore[arg-type]


async def test_connector_rules(accounts: AccountService) -> None:
    with pytest.raises(InvalidField) as caught:
        await accounts.create_connector("x", provider="exchange")
    assert caught.value.field == "provider"
    connector = await accounts.create_connector("  main  ")
    assert connector.name == "main"
    updated = await accounts.update_connector(connector.id, ConnectorPatch(poll_interval=10))
    assert updated.settings.poll_interval == 10
    assert updated.name == "main"
    with pytest.raises(NotFound):
        await accounts.update_connector("nope", ConnectorPatch(name="x"))
    await accounts.delete_connector(connector.id)
    with pytest.raises(NotFound):
        await accounts.get_connector(connector.id)


async def test_create_grant_stores_grant_credentials_and_event_together(
        accounts: AccountService, store: Store, sync: RecordingSync, dovecot: Dovecot,
        smtp_server: SmtpServer) -> None:
    connector = await accounts.create_connector("main")
    user, password = dovecot.add_user()
    grant = await accounts.create_grant(custom_auth(dovecot, smtp_server, user, password,
                                                    sync_window_days=30))
    assert grant.connector_id == connector.id  # the only connector
    assert grant.state is GrantState.SYNCING
    assert grant.sync_window_days == 30
    assert grant.smtp_username == user
    assert await store.get_grant(grant.id) == grant
    assert await store.get_credentials(grant.id) == Credentials(password, password)
    [event] = await store.read_events(0, 10)
    assert event.type is EventType.GRANT_CREATED
    assert event.payload["email"] == grant.email
    assert sync.calls == [("start", grant.id)]
    with pytest.raises(Conflict):
        await accounts.create_grant(custom_auth(dovecot, smtp_server, user, password))


async def test_refusals_store_nothing_and_say_which_side(
        accounts: AccountService, store: Store, sync: RecordingSync, dovecot: Dovecot,
        smtp_server: SmtpServer) -> None:
    await accounts.create_connector("main")
    user, password = dovecot.add_user()
    attempts = [
        (custom_auth(dovecot, smtp_server, user, "bad", smtp_password=password),
         CredentialsRejected, "imap"),
        (custom_auth(dovecot, smtp_server, user, password, smtp_password="bad"),
         CredentialsRejected, "smtp"),
        (custom_auth(dovecot, smtp_server, user, password, imap_port=free_port()),
         Unreachable, "imap"),
        (custom_auth(dovecot, smtp_server, user, password, imap_port=dovecot.port),
         TlsFailed, "imap"),
        # Both fail: IMAP is reported.
        (custom_auth(dovecot, smtp_server, user, "bad", smtp_port=free_port()),
         CredentialsRejected, "imap"),
    ]
    for auth, error, side in attempts:
        with pytest.raises(error) as caught:
            await accounts.create_grant(auth)
        assert caught.value.side == side  # type: ignore[attr-defined]
    assert await store.list_grants() == []
    assert await store.read_events(0, 10) == []
    assert sync.calls == []


async def test_update_revives_an_invalid_grant_and_delete_stops_it(
        accounts: AccountService, store: Store, sync: RecordingSync, dovecot: Dovecot,
        smtp_server: SmtpServer) -> None:
    await accounts.create_connector("main")
    user, password = dovecot.add_user()
    grant = await accounts.create_grant(custom_auth(dovecot, smtp_server, user, password))
    await store.write(lambda tx: tx.set_grant_state(grant.id, GrantState.INVALID, "refused"))
    with pytest.raises(CredentialsRejected):
        await accounts.update_grant(grant.id, GrantUpdate(imap_password="wrong"))
    assert (await store.get_grant(grant.id)).state is GrantState.INVALID
    revived = await accounts.update_grant(grant.id, GrantUpdate(imap_password=password))
    assert revived.state is GrantState.SYNCING  # no folder has been synced yet
    assert revived.state_reason is None
    assert await store.get_credentials(grant.id) == Credentials(password, password)
    assert sync.calls[-1] == ("start", grant.id)
    # A change that needs no login check and no restart.
    calls = len(sync.calls)
    labelled = await accounts.update_grant(grant.id, GrantUpdate(caller_state="tag"))
    assert labelled.caller_state == "tag"
    assert len(sync.calls) == calls
    with pytest.raises(InvalidField) as caught:
        await accounts.update_grant(grant.id, GrantUpdate(imap_security=Security.PLAIN))
    assert caught.value.field == "imap_security"
    page, total = await accounts.list_grants(GrantFilter(states=frozenset({GrantState.VALID})))
    assert (page, total) == ([], 0)
    await accounts.delete_grant(grant.id)
    assert sync.calls[-1] == ("stop", grant.id)
    kinds = [e.type for e in await store.read_events(0, 10)]
    assert kinds == [EventType.GRANT_CREATED, EventType.GRANT_UPDATED, EventType.GRANT_UPDATED,
                     EventType.GRANT_DELETED]
    with pytest.raises(NotFound):
        await accounts.delete_grant(grant.id)
    with pytest.raises(NotFound):
        await accounts.get_grant(grant.id)


async def test_a_connector_in_use_cannot_be_deleted(
        accounts: AccountService, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    connector = await accounts.create_connector("main")
    user, password = dovecot.add_user()
    await accounts.create_grant(custom_auth(dovecot, smtp_server, user, password))
    with pytest.raises(PreconditionFailed):
        await accounts.delete_connector(connector.id)
    await accounts.create_connector("second")
    with pytest.raises(InvalidField) as caught:
        await accounts.create_grant(custom_auth(dovecot, smtp_server, "x", "y"))
    assert caught.value.field == "connector_id"
