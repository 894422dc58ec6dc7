"""GrantService over a real socket: custom auth checked on the real Dovecot and SMTP
server before anything is stored, and the grant's life after that."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx
import pytest

from tests.daemon.conftest import TIMEOUT, Daemon, grant_request
from tests.support.dovecot import Dovecot, free_port
from tests.support.smtpserver import SmtpServer
from tests.web.browser import form_fields
from tidings.api.errors import status_for
from tidings.api.grants import GrantServicer, Unimplemented
from tidings.domain import EventType, GrantState
from tidings.v1 import common_pb2, events_pb2, grants_pb2

Code = grpc.StatusCode


async def _grant_count(daemon: Daemon) -> int:
    return len(await daemon.running.store.list_grants())


async def _subscribe_from_start(daemon: Daemon) -> events_pb2.SubscribeRequest:
    return events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0))


async def test_create_grant_checks_both_servers_then_syncs(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    await daemon.create_connector()
    user, password = dovecot.add_user()
    subscription = daemon.subscribe(await _subscribe_from_start(daemon))
    grant = await daemon.call(daemon.grants.CreateGrant,
                              grant_request(dovecot, smtp_server, user, password, state="s1"))
    assert grant.email == f"{user}@example.org"
    assert grant.grant_status == grants_pb2.GRANT_STATUS_VALID
    assert grant.sync_state == grants_pb2.SYNC_STATE_INITIAL_SYNC
    assert grant.state == "s1"
    assert grant.imap.port == dovecot.tls_port
    assert grant.smtp.username == user  # the IMAP login, by default
    created = await subscription.wait_type("grant.created", grant.id)
    assert created.grant.email == grant.email
    assert created.grant.imap.host == dovecot.host
    done = await subscription.wait_type("grant.imap_sync_completed", grant.id)
    assert done.grant.sync_state == grants_pb2.SYNC_STATE_RUNNING
    fetched = await daemon.call(daemon.grants.GetGrant, grants_pb2.GetGrantRequest(id=grant.id))
    assert fetched.sync_state == grants_pb2.SYNC_STATE_RUNNING
    log = await daemon.log()
    stored = [e for e in log if e.type is EventType.GRANT_CREATED and e.grant_id == grant.id]
    assert len(stored) == 1
    assert password not in str(stored[0].payload)


async def test_wrong_imap_password_is_refused_naming_imap(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    await daemon.create_connector()
    user, password = dovecot.add_user()
    request = grant_request(dovecot, smtp_server, user, "wrong-" + password,
                            smtp_password=password)
    error = await daemon.failure(daemon.grants.CreateGrant, request)
    assert error.code() == Code.FAILED_PRECONDITION
    assert error.details().startswith("IMAP login refused")
    assert "wrong-" not in error.details()
    assert await _grant_count(daemon) == 0


async def test_wrong_smtp_password_is_refused_naming_smtp(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    await daemon.create_connector()
    user, password = dovecot.add_user()
    request = grant_request(dovecot, smtp_server, user, password, smtp_password="nope")
    error = await daemon.failure(daemon.grants.CreateGrant, request)
    assert error.code() == Code.FAILED_PRECONDITION
    assert error.details().startswith("SMTP login refused: 535")
    assert await _grant_count(daemon) == 0


async def test_unreachable_and_tls_failures_are_told_apart(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    await daemon.create_connector()
    user, password = dovecot.add_user()
    closed = grant_request(dovecot, smtp_server, user, password, imap_port=free_port())
    error = await daemon.failure(daemon.grants.CreateGrant, closed)
    assert error.code() == Code.UNAVAILABLE
    assert error.details().startswith("IMAP server unreachable")
    # Implicit TLS to the clear-text port: the handshake fails.
    no_tls = grant_request(dovecot, smtp_server, user, password, smtp_port=smtp_server.port)
    error = await daemon.failure(daemon.grants.CreateGrant, no_tls)
    assert error.code() == Code.FAILED_PRECONDITION
    assert error.details().startswith("SMTP TLS failed")
    assert await _grant_count(daemon) == 0


async def test_malformed_requests_name_the_field(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    cases = {
        "connector_id": grants_pb2.CreateGrantRequest(email="a@b.c", imap_password="x"),
    }
    for field, request in cases.items():
        error = await daemon.failure(daemon.grants.CreateGrant, request)
        assert error.code() == Code.INVALID_ARGUMENT
        assert error.details().startswith(f"{field}:"), error.details()
    await daemon.create_connector()
    user, password = dovecot.add_user()
    base = grant_request(dovecot, smtp_server, user, password)
    bad: dict[str, dict[str, object]] = {
        "email": {"email": "not an address"},
        "imap_password": {"imap_password": ""},
        "imap_security": {"imap_security": common_pb2.SECURITY_MODE_PLAIN},
        "imap_port": {"imap_port": 70000},
        "state": {"state": "s" * 257},
        "sync_window_days": {"sync_window_days": 0},
        "provider_type": {"provider_type": "aol-classic"},
        "connector_id": {"connector_id": "x" * 200},
    }
    for field, change in bad.items():
        malformed = grants_pb2.CreateGrantRequest()
        malformed.CopyFrom(base)
        for name, value in change.items():
            setattr(malformed, name, value)
        error = await daemon.failure(daemon.grants.CreateGrant, malformed)
        assert error.code() == Code.INVALID_ARGUMENT, (field, error.details())
        assert error.details().startswith(f"{field}:"), error.details()
    unary: tuple[tuple[Any, Any], ...] = (
        (daemon.grants.GetGrant, grants_pb2.GetGrantRequest()),
        (daemon.grants.DeleteGrant, grants_pb2.DeleteGrantRequest(id="bad id\n")),
        (daemon.grants.ListGrants, grants_pb2.ListGrantsRequest(limit=500)),
    )
    for method, request in unary:
        error = await daemon.failure(method, request)
        assert error.code() == Code.INVALID_ARGUMENT
    error = await daemon.failure(daemon.grants.GetGrant, grants_pb2.GetGrantRequest(id="nope"))
    assert error.code() == Code.NOT_FOUND


async def test_list_update_revive_and_delete(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    await daemon.create_connector()
    user, password = dovecot.add_user()
    other, other_password = dovecot.add_user()
    subscription = daemon.subscribe(await _subscribe_from_start(daemon))
    grant = await daemon.call(daemon.grants.CreateGrant,
                              grant_request(dovecot, smtp_server, user, password))
    second = await daemon.call(daemon.grants.CreateGrant,
                               grant_request(dovecot, smtp_server, other, other_password))
    again = await daemon.failure(daemon.grants.CreateGrant,
                                 grant_request(dovecot, smtp_server, user, password))
    assert again.code() == Code.ALREADY_EXISTS
    listed = await daemon.call(daemon.grants.ListGrants, grants_pb2.ListGrantsRequest(limit=1))
    assert listed.total == 2
    assert [g.id for g in listed.grants] == [grant.id]
    by_email = await daemon.call(daemon.grants.ListGrants,
                                 grants_pb2.ListGrantsRequest(email=second.email.upper()))
    assert [g.id for g in by_email.grants] == [second.id]
    await subscription.wait_type("grant.imap_sync_completed", grant.id)

    # The server refused the password at some point: the grant is INVALID.
    await daemon.running.store.write(
        lambda tx: tx.set_grant_state(grant.id, GrantState.INVALID, "login refused"))
    invalid = await daemon.call(daemon.grants.ListGrants, grants_pb2.ListGrantsRequest(
        grant_status=grants_pb2.GRANT_STATUS_INVALID))
    assert [g.id for g in invalid.grants] == [grant.id]
    refused = await daemon.failure(daemon.grants.UpdateGrant, grants_pb2.UpdateGrantRequest(
        id=grant.id, imap_password="still-wrong"))
    assert refused.code() == Code.FAILED_PRECONDITION
    assert refused.details().startswith("IMAP login refused")
    revived = await daemon.call(daemon.grants.UpdateGrant, grants_pb2.UpdateGrantRequest(
        id=grant.id, imap_password=password, state="after"))
    assert revived.grant_status == grants_pb2.GRANT_STATUS_VALID
    assert revived.state == "after"
    updated = await subscription.wait_for(
        lambda e: e.type == "grant.updated" and e.grant_id == grant.id and e.grant.state == "after")
    assert updated.grant.grant_status == grants_pb2.GRANT_STATUS_VALID

    await daemon.call(daemon.grants.DeleteGrant, grants_pb2.DeleteGrantRequest(id=grant.id))
    deleted = await subscription.wait_type("grant.deleted", grant.id)
    assert deleted.object_id == grant.id
    assert not deleted.HasField("grant")
    gone = await daemon.failure(daemon.grants.GetGrant, grants_pb2.GetGrantRequest(id=grant.id))
    assert gone.code() == Code.NOT_FOUND
    assert grant.id not in daemon.running.supervisor.running
    assert await daemon.running.store.list_folders(grant.id) == []


async def test_hosted_auth_is_handed_to_the_web_pages(daemon: Daemon) -> None:
    await daemon.create_connector(allowed_redirect_uris=["https://app.example/cb"])
    started = await daemon.call(daemon.grants.StartHostedAuth, grants_pb2.StartHostedAuthRequest(
        redirect_uri="https://app.example/cb", state="xyz"))
    assert started.url.startswith(daemon.running.public_url + "/")
    for request, field in (
        (grants_pb2.StartHostedAuthRequest(redirect_uri="https://evil.example/cb"),
         "redirect_uri"),
        (grants_pb2.StartHostedAuthRequest(), "redirect_uri"),
    ):
        error = await daemon.failure(daemon.grants.StartHostedAuth, request)
        assert error.code() == Code.INVALID_ARGUMENT
        assert error.details().startswith(f"{field}:")
    for exchange, field in (
        (grants_pb2.ExchangeCodeRequest(redirect_uri="https://app.example/cb"), "code"),
        (grants_pb2.ExchangeCodeRequest(code="never-issued",
                                        redirect_uri="https://app.example/cb"), "code"),
        # RFC 6749 §4.1.3: the redirect_uri of the start is required again.
        (grants_pb2.ExchangeCodeRequest(code="never-issued"), "redirect_uri"),
    ):
        error = await daemon.failure(daemon.grants.ExchangeCode, exchange)
        assert error.code() == Code.INVALID_ARGUMENT
        assert error.details().startswith(f"{field}:")


async def _sign_in(daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer, user: str,
                   password: str, redirect_uri: str) -> str:
    """StartHostedAuth over gRPC, then the page as a browser uses it; the code of the
    redirect."""
    started = await daemon.call(daemon.grants.StartHostedAuth, grants_pb2.StartHostedAuthRequest(
        redirect_uri=redirect_uri, login_hint=f"{user}@example.org"))
    async with httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT) as browser:
        page = await browser.get(started.url)
        assert page.status_code == 200
        fields = {**form_fields(page.text), "password": password, "username": user,
                  "imap_host": dovecot.host, "imap_port": str(dovecot.tls_port),
                  "imap_security": "tls", "smtp_host": smtp_server.host,
                  "smtp_port": str(smtp_server.tls_port), "smtp_security": "tls"}
        answer = await browser.post(started.url, data=fields)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(redirect_uri + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


async def test_exchange_code_needs_the_redirect_uri_of_the_start(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    callback, other = "https://app.example/cb", "https://app.example/other"
    await daemon.create_connector(allowed_redirect_uris=[callback, other])
    user, password = dovecot.add_user()
    code = await _sign_in(daemon, dovecot, smtp_server, user, password, callback)
    # Both URIs are allowed for the connector, but the code was issued for `callback`.
    wrong = await daemon.failure(daemon.grants.ExchangeCode, grants_pb2.ExchangeCodeRequest(
        code=code, redirect_uri=other))
    assert wrong.code() == Code.INVALID_ARGUMENT
    assert wrong.details().startswith("redirect_uri: does not match")
    spent = await daemon.failure(daemon.grants.ExchangeCode, grants_pb2.ExchangeCodeRequest(
        code=code, redirect_uri=callback))
    assert spent.code() == Code.FAILED_PRECONDITION

    code = await _sign_in(daemon, dovecot, smtp_server, user, password, callback)
    grant = await daemon.call(daemon.grants.ExchangeCode, grants_pb2.ExchangeCodeRequest(
        code=code, redirect_uri=callback))
    assert grant.email == f"{user}@example.org"
    # The sign-in page asks for no display name: the address stands in for it.
    assert grant.name == grant.email


async def test_a_grant_keeps_its_display_name(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    await daemon.create_connector()
    user, password = dovecot.add_user()
    other, other_password = dovecot.add_user()
    grant = await daemon.call(daemon.grants.CreateGrant, grant_request(
        dovecot, smtp_server, user, password, name="Ada Lovelace"))
    assert grant.name == "Ada Lovelace"
    unnamed = await daemon.call(daemon.grants.CreateGrant,
                                grant_request(dovecot, smtp_server, other, other_password))
    assert unnamed.name == ""
    fetched = await daemon.call(daemon.grants.GetGrant, grants_pb2.GetGrantRequest(id=grant.id))
    assert fetched.name == "Ada Lovelace"
    listed = await daemon.call(daemon.grants.ListGrants, grants_pb2.ListGrantsRequest())
    assert {g.id: g.name for g in listed.grants} == {grant.id: "Ada Lovelace", unnamed.id: ""}

    # A new name is not a new connection: no credential check, the name just changes.
    renamed = await daemon.call(daemon.grants.UpdateGrant, grants_pb2.UpdateGrantRequest(
        id=grant.id, name="Augusta Ada King"))
    assert renamed.name == "Augusta Ada King"
    # A field left unset leaves the name alone; an empty one removes it.
    kept = await daemon.call(daemon.grants.UpdateGrant, grants_pb2.UpdateGrantRequest(
        id=grant.id, state="x"))
    assert kept.name == "Augusta Ada King"
    cleared = await daemon.call(daemon.grants.UpdateGrant, grants_pb2.UpdateGrantRequest(
        id=grant.id, name=""))
    assert cleared.name == ""
    assert (await daemon.running.store.get_grant(grant.id)).name == ""

    # The name goes into a From header: no line breaks (RFC 5322 §2.2).
    for request in (
        grant_request(dovecot, smtp_server, "someone", "pw", name="Ada\r\nBcc: x@evil.example"),
        grants_pb2.UpdateGrantRequest(id=grant.id, name="x" * 1000),
    ):
        method = (daemon.grants.CreateGrant
                  if isinstance(request, grants_pb2.CreateGrantRequest)
                  else daemon.grants.UpdateGrant)
        error = await daemon.failure(method, request)
        assert error.code() == Code.INVALID_ARGUMENT
        assert error.details().startswith("name:")


def test_without_hosted_auth_the_rpcs_are_unimplemented() -> None:
    servicer = GrantServicer(bridge=None, accounts=None, hosted=None)  # type: ignore[arg-type]
    with pytest.raises(Unimplemented) as caught:
        servicer._hosted_auth()
    assert status_for(caught.value) == (Code.UNIMPLEMENTED, caught.value.message)
