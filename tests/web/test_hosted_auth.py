"""`HostedAuth` without a browser: starting, codes, PKCE, expiry, single use."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import trio

from tests.web.conftest import (
    PUBLIC_URL,
    REDIRECT,
    RIGHT_PASSWORD,
    FakeAccounts,
    FakeClock,
    pkce_pair,
)
from tidings.domain import Connector, ConnectorSettings, Grant, new_id
from tidings.service.errors import (
    CredentialsRejected,
    InvalidField,
    NotFound,
    PreconditionFailed,
)
from tidings.service.grant_input import CustomAuth
from tidings.service.hosted import HostedAuth, LoginForm, secret_hash
from tidings.store import NotFound as StoreNotFound
from tidings.store import Store

FORM = LoginForm(email="ada@yahoo.com", password=RIGHT_PASSWORD)


def hosted_auth(store: Store, clock: FakeClock) -> tuple[HostedAuth, FakeAccounts]:
    accounts = FakeAccounts(store)
    return HostedAuth(store, accounts, public_url=PUBLIC_URL + "/", code_ttl=60,
                      session_ttl=600, clock=clock), accounts


def session_id(url: str) -> str:
    assert url.startswith(f"{PUBLIC_URL}/auth/")
    return url.rpartition("/")[2]


def code_and_state(redirect: str) -> tuple[str, list[str]]:
    query = parse_qs(urlsplit(redirect).query)
    return query["code"][0], query.get("state", [])


async def finished(hosted: HostedAuth, connector: Connector, *, state: str | None = "s1",
                   challenge: str | None = None, method: str | None = None) -> str:
    url = await hosted.start(connector.id, REDIRECT, "yahoo", "ada@yahoo.com", state,
                             challenge, method)
    return await hosted.complete(session_id(url), FORM)


async def test_a_code_is_exchanged_once_for_the_grant(store: Store, connector: Connector
                                                      ) -> None:
    hosted, accounts = hosted_auth(store, FakeClock())
    verifier, challenge = pkce_pair()
    redirect = await finished(hosted, connector, challenge=challenge, method="S256")
    assert redirect.startswith(REDIRECT + "?")
    code, state = code_and_state(redirect)
    assert state == ["s1"]
    (auth,) = accounts.calls
    assert (auth.connector_id, auth.provider_type, auth.caller_state) == (
        connector.id, "yahoo", "s1")
    grant = await hosted.exchange(code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert grant == await store.get_grant(grant.id)
    assert grant.caller_state == "s1"
    with pytest.raises(PreconditionFailed, match="already been exchanged"):
        await hosted.exchange(code, redirect_uri=REDIRECT, code_verifier=verifier)


async def test_the_code_works_only_with_the_redirect_uri_it_was_issued_for(
        store: Store, connector: Connector) -> None:
    # RFC 6749 §4.1.3: the exchange repeats the redirect_uri, and it must be identical.
    hosted, _accounts = hosted_auth(store, FakeClock())
    code, _state = code_and_state(await finished(hosted, connector))
    with pytest.raises(InvalidField, match="does not match") as caught:
        await hosted.exchange(code, redirect_uri=REDIRECT + "/")
    assert caught.value.field == "redirect_uri"
    # The failed try spent the code, as a wrong PKCE verifier does.
    with pytest.raises(PreconditionFailed):
        await hosted.exchange(code, redirect_uri=REDIRECT)

    code, _state = code_and_state(await finished(hosted, connector))
    with pytest.raises(InvalidField, match="required") as caught:
        await hosted.exchange(code, redirect_uri="")
    assert caught.value.field == "redirect_uri"
    # Refused before the code was looked at: it still works with the right URI.
    assert (await hosted.exchange(code, redirect_uri=REDIRECT)).email == FORM.email


async def test_a_hosted_grant_is_named_after_its_address(store: Store, connector: Connector
                                                         ) -> None:
    hosted, accounts = hosted_auth(store, FakeClock())
    code, _state = code_and_state(await finished(hosted, connector))
    (auth,) = accounts.calls
    assert auth.name == FORM.email
    assert (await hosted.exchange(code, redirect_uri=REDIRECT)).name == FORM.email


async def test_the_store_keeps_hashes_not_secrets(store: Store, connector: Connector) -> None:
    hosted, _accounts = hosted_auth(store, FakeClock())
    url = await hosted.start(connector.id, REDIRECT, None, None, None, None, None)
    sid = session_id(url)
    stored = await store.get_hosted_session(secret_hash(sid))
    assert stored.connector_id == connector.id
    with pytest.raises(StoreNotFound):
        await store.get_hosted_session(sid)
    code, _state = code_and_state(await hosted.complete(sid, FORM))
    consumed = await store.write(lambda tx: tx.consume_hosted_code(code, time.time()))
    assert consumed is None  # not findable by the code itself
    assert (await hosted.exchange(code, redirect_uri=REDIRECT)).email == FORM.email


async def test_an_expired_code_is_refused(store: Store, connector: Connector) -> None:
    clock = FakeClock()
    hosted, _accounts = hosted_auth(store, clock)
    code, _state = code_and_state(await finished(hosted, connector))
    clock.now += 61
    with pytest.raises(InvalidField, match="expired"):
        await hosted.exchange(code, redirect_uri=REDIRECT)


async def test_unknown_codes_are_refused(store: Store, connector: Connector) -> None:
    hosted, _accounts = hosted_auth(store, FakeClock())
    with pytest.raises(InvalidField, match="unknown"):
        await hosted.exchange("no-such-code", redirect_uri=REDIRECT)
    with pytest.raises(InvalidField, match="required"):
        await hosted.exchange("", redirect_uri=REDIRECT)


async def test_pkce_is_enforced(store: Store, connector: Connector) -> None:
    hosted, _accounts = hosted_auth(store, FakeClock())
    verifier, challenge = pkce_pair()
    code, _state = code_and_state(
        await finished(hosted, connector, challenge=challenge, method="S256"))
    with pytest.raises(InvalidField, match="does not match"):
        await hosted.exchange(code, redirect_uri=REDIRECT, code_verifier=pkce_pair()[0])
    # A failed try uses the code up: a stolen code cannot be tried until it fits.
    with pytest.raises(PreconditionFailed):
        await hosted.exchange(code, redirect_uri=REDIRECT, code_verifier=verifier)

    code, _state = code_and_state(
        await finished(hosted, connector, challenge=challenge, method="S256"))
    with pytest.raises(InvalidField, match="code_verifier: required"):
        await hosted.exchange(code, redirect_uri=REDIRECT)

    plain = secrets.token_urlsafe(40)
    code, _state = code_and_state(await finished(hosted, connector, challenge=plain))
    grant = await hosted.exchange(code, redirect_uri=REDIRECT, code_verifier=plain)
    assert grant.email == FORM.email

    code, _state = code_and_state(await finished(hosted, connector))
    with pytest.raises(InvalidField, match="without PKCE"):
        await hosted.exchange(code, redirect_uri=REDIRECT, code_verifier=verifier)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"redirect_uri": "https://app.example/other"}, "redirect_uri"),
        ({"redirect_uri": REDIRECT + "/"}, "redirect_uri"),
        ({"state": "x" * 257}, "state"),
        ({"provider_type": "hotmail2000"}, "provider_type"),
        ({"login_hint": "a" * 250 + "@example.org"}, "login_hint"),
        ({"code_challenge": "too-short", "code_challenge_method": "S256"}, "code_challenge"),
        ({"code_challenge": "c" * 43, "code_challenge_method": "S512"},
         "code_challenge_method"),
        ({"code_challenge_method": "S256"}, "code_challenge"),
    ],
)
async def test_start_refuses_bad_requests(store: Store, connector: Connector,
                                          changes: dict[str, str], field: str) -> None:
    hosted, _accounts = hosted_auth(store, FakeClock())
    request: dict[str, str | None] = {
        "connector_id": connector.id, "redirect_uri": REDIRECT, "provider_type": None,
        "login_hint": None, "state": None, "code_challenge": None,
        "code_challenge_method": None,
    }
    request.update(changes)
    with pytest.raises(InvalidField) as caught:
        await hosted.start(**request)  # type: ignore[arg-type]
    assert caught.value.field == field


async def test_start_needs_a_known_connector(store: Store) -> None:
    hosted, _accounts = hosted_auth(store, FakeClock())
    with pytest.raises(NotFound):
        await hosted.start(new_id(), REDIRECT, None, None, None, None, None)


async def test_the_redirect_keeps_the_uris_own_query(store: Store) -> None:
    now = time.time()
    uri = "https://app.example/cb?tenant=7&x=a+b"
    connector = Connector(id=new_id(), name="imap", created_at=now, updated_at=now,
                          settings=ConnectorSettings(allowed_redirect_uris=(uri,)))
    await store.write(lambda tx: tx.create_connector(connector))
    hosted, _accounts = hosted_auth(store, FakeClock())
    url = await hosted.start(connector.id, uri, None, None, "a b&c", None, None)
    redirect = await hosted.complete(session_id(url), FORM)
    query = parse_qs(urlsplit(redirect).query)
    assert query["tenant"] == ["7"]
    assert query["x"] == ["a b"]
    assert query["state"] == ["a b&c"]
    assert len(query["code"][0]) >= 43


async def test_sessions_expire_and_end_when_finished(store: Store, connector: Connector
                                                     ) -> None:
    clock = FakeClock()
    hosted, _accounts = hosted_auth(store, clock)
    url = await hosted.start(connector.id, REDIRECT, "yahoo", "ada@yahoo.com", None, None,
                             None)
    page = await hosted.page(session_id(url))
    assert (page.preset.name, page.login_hint, page.redirect_uri) == (
        "yahoo", "ada@yahoo.com", REDIRECT)
    await hosted.complete(session_id(url), FORM)
    with pytest.raises(NotFound):
        await hosted.page(session_id(url))
    with pytest.raises(NotFound):
        await hosted.complete(session_id(url), FORM)

    url = await hosted.start(connector.id, REDIRECT, None, None, None, None, None)
    clock.now += 601
    with pytest.raises(NotFound):
        await hosted.page(session_id(url))
    with pytest.raises(NotFound):
        await hosted.complete(session_id(url), FORM)


async def test_a_failed_try_leaves_the_session_open(store: Store, connector: Connector
                                                    ) -> None:
    hosted, accounts = hosted_auth(store, FakeClock())
    url = await hosted.start(connector.id, REDIRECT, None, None, None, None, None)
    with pytest.raises(CredentialsRejected):
        await hosted.complete(session_id(url), LoginForm(email="ada@yahoo.com",
                                                         password="wrong"))
    redirect = await hosted.complete(session_id(url), FORM)
    assert "code=" in redirect
    assert len(accounts.calls) == 2


class SlowAccounts(FakeAccounts):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.entered = trio.Event()
        self.release = trio.Event()

    async def create_grant(self, auth: CustomAuth) -> Grant:
        self.entered.set()
        await self.release.wait()
        return await super().create_grant(auth)


async def test_a_session_is_checked_once_at_a_time(store: Store, connector: Connector) -> None:
    accounts = SlowAccounts(store)
    hosted = HostedAuth(store, accounts, public_url=PUBLIC_URL, clock=FakeClock())
    sid = session_id(await hosted.start(connector.id, REDIRECT, None, None, None, None, None))
    results: list[str] = []

    async def first() -> None:
        results.append(await hosted.complete(sid, FORM))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        with trio.fail_after(10):
            await accounts.entered.wait()
        with pytest.raises(PreconditionFailed, match="already being checked"):
            await hosted.complete(sid, FORM)
        accounts.release.set()
    assert len(results) == 1
    assert len(accounts.calls) == 1


async def test_a_cancelled_check_releases_the_session(store: Store, connector: Connector
                                                      ) -> None:
    accounts = SlowAccounts(store)
    hosted = HostedAuth(store, accounts, public_url=PUBLIC_URL, clock=FakeClock())
    sid = session_id(await hosted.start(connector.id, REDIRECT, None, None, None, None, None))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(hosted.complete, sid, FORM)
        with trio.fail_after(10):
            await accounts.entered.wait()
        nursery.cancel_scope.cancel()
    assert (await store.get_hosted_session(secret_hash(sid))).busy_until is None
    accounts.release.set()
    assert "code=" in await hosted.complete(sid, FORM)


async def test_signing_in_again_renews_the_existing_grant(store: Store, connector: Connector
                                                         ) -> None:
    hosted, accounts = hosted_auth(store, FakeClock())
    code, _state = code_and_state(await finished(hosted, connector, state="first"))
    grant = await hosted.exchange(code, redirect_uri=REDIRECT)
    url = await hosted.start(connector.id, REDIRECT, "yahoo", None, "second", None, None)
    with pytest.raises(CredentialsRejected):
        await hosted.complete(session_id(url), LoginForm(email="ada@yahoo.com",
                                                         password="wrong"))
    code, state = code_and_state(await hosted.complete(session_id(url), FORM))
    assert state == ["second"]
    again = await hosted.exchange(code, redirect_uri=REDIRECT)
    assert again.id == grant.id
    assert again.caller_state == "second"
    assert [g.id for g in await store.list_grants()] == [grant.id]
    assert [update.imap_password for update in accounts.updates] == ["wrong", RIGHT_PASSWORD]
