"""The Python client against a real daemon: connectors and grants, each call's reply
turned into the client's values."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest

from tests.clients.conftest import ClientDaemon, EventReader, call
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tidings_client import (
    Connector,
    FailedPrecondition,
    FolderRole,
    GrantStatus,
    NotFound,
    Security,
    SyncState,
)

pytestmark = pytest.mark.dovecot


async def test_connector_create_get_list_update_delete(client_daemon: ClientDaemon) -> None:
    with client_daemon.client() as client:
        created = await call(functools.partial(
            client.create_connector, "mail", sync_window_days=30, strict_message_id=True,
            poll_interval_seconds=20, allowed_redirect_uris=["https://app.example/cb"]))
        assert isinstance(created, Connector)
        assert (created.name, created.provider) == ("mail", "imap")
        assert created.settings.sync_window_days == 30
        assert created.settings.strict_message_id is True
        assert created.settings.poll_interval_seconds == 20
        assert created.settings.allowed_redirect_uris == ("https://app.example/cb",)
        assert created.created_at.tzinfo is UTC
        assert abs((datetime.now(UTC) - created.created_at).total_seconds()) < 60

        assert await call(client.get_connector, created.id) == created
        assert [c.id for c in await call(client.list_connectors)] == [created.id]

        updated = await call(functools.partial(
            client.update_connector, created.id, name="renamed", allowed_redirect_uris=[]))
        assert updated.name == "renamed"
        assert updated.settings.allowed_redirect_uris == ()
        # Arguments left as None leave the settings alone.
        assert updated.settings.sync_window_days == 30
        assert updated.settings.poll_interval_seconds == 20

        await call(client.delete_connector, created.id)
        with pytest.raises(NotFound) as missing:
            await call(client.get_connector, created.id)
        assert created.id in missing.value.message
        assert await call(client.list_connectors) == []


async def test_grant_custom_auth_sync_list_update_delete(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    with client_daemon.client() as client:
        connector = await call(client.create_connector, "mail")
        args = client_daemon.grant_args(user, password)
        grant = await call(functools.partial(
            client.create_grant, **args, connector_id=connector.id, provider_type="generic",
            smtp_username=user, smtp_password=password, sync_window_days=45,
            state="opaque-42"))
        assert grant.email == f"{user}@example.org"
        assert grant.connector_id == connector.id
        assert grant.grant_status is GrantStatus.VALID
        assert grant.state == "opaque-42"
        assert grant.sync_window_days == 45
        assert (grant.imap.host, grant.imap.port) == (dovecot.host, dovecot.tls_port)
        assert grant.imap.security is Security.TLS and grant.imap.username == user
        assert grant.smtp.security is Security.TLS and grant.smtp.username == user
        assert grant.allow_plaintext is False

        # The initial sync of an empty mailbox ends; GetGrant says so.
        start = await call(functools.partial(client.get_cursor, 0))
        with client.watch_events(cursor=start, grant_ids=[grant.id],
                                 types=["grant.imap_sync_completed"]) as stream:
            completed = await EventReader(stream, client_daemon.nursery).next()
        assert completed.grant_id == grant.id
        synced = await call(client.get_grant, grant.id)
        assert synced.sync_state is SyncState.RUNNING
        assert synced.sync_progress.folders_done == synced.sync_progress.folders_total

        page = await call(functools.partial(client.list_grants, email=grant.email,
                                            connector_id=connector.id,
                                            grant_status=GrantStatus.VALID))
        assert page.total == 1 and [g.id for g in page.grants] == [grant.id]
        none = await call(functools.partial(client.list_grants,
                                            grant_status=GrantStatus.INVALID))
        assert none.total == 0 and none.grants == ()

        updated = await call(functools.partial(client.update_grant, grant.id,
                                               state="changed", sync_window_days=10))
        assert (updated.state, updated.sync_window_days) == ("changed", 10)
        assert updated.imap == grant.imap  # untouched

        with pytest.raises(FailedPrecondition):
            await call(client.delete_connector, connector.id)  # a grant still uses it
        await call(client.delete_grant, grant.id)
        with pytest.raises(NotFound):
            await call(client.get_grant, grant.id)
        await call(client.delete_connector, connector.id)


async def test_folders_and_messages_of_a_synced_grant(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject=f"stored {n}", message_id=f"<stored{n}@x>")
                        for n in range(3)])
    with client_daemon.client() as client:
        await call(client.create_connector, "mail")
        grant = await client_daemon.synced_grant(client, user, password)
        folders = await call(client.list_folders, grant.id)
        by_path = {f.path: f for f in folders}
        assert {"INBOX", "Archive", "Sent"} <= set(by_path)
        assert by_path["INBOX"].role is FolderRole.INBOX
        assert by_path["INBOX"].total_count == 3
        page = await call(functools.partial(client.list_messages, grant.id, limit=2))
        assert len(page.messages) == 2 and page.next_cursor
        rest = await call(functools.partial(client.list_messages, grant.id,
                                            page_token=page.next_cursor))
        subjects = {m.subject for m in page.messages + rest.messages}
        assert subjects == {"stored 0", "stored 1", "stored 2"}
        first = page.messages[0]
        fetched = await call(functools.partial(client.get_message, grant.id, first.id,
                                               include_headers=True))
        assert fetched.id == first.id and fetched.folders == (by_path["INBOX"].id,)
        assert ("Subject", fetched.subject) in fetched.headers
