"""Hosted auth: a sign-in page of ours, then an authorization code for the caller.

The flow follows the OAuth 2.0 authorization-code grant (RFC 6749 §4.1) with PKCE
(RFC 7636), as Nylas's hosted auth does: the caller starts a session and sends the user
to our page; the user enters an email address and app password, which are checked on
the mail servers like custom auth; the browser is redirected to the caller's
`redirect_uri` with a one-time `code` and the caller's `state`; the caller exchanges the
code (with its PKCE verifier) for the grant.

Sessions and codes live in the store, so any node can serve any step, also after a
restart. Session ids and codes are bearer secrets: only their SHA-256 is stored.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import trio

from tidings.domain import Grant, Security
from tidings.log import get_logger
from tidings.service.errors import Conflict, InvalidField, NotFound, PreconditionFailed
from tidings.service.grant_input import CustomAuth, GrantUpdate, choose_preset
from tidings.service.validation import MAX_EMAIL, check_state
from tidings.store import Conflict as StoreConflict
from tidings.store import NotFound as StoreNotFound
from tidings.store import Store, WriteTx
from tidings.store.hosted_auth import HostedCode, HostedSession
from tidings.sync.presets import ProviderPreset

__all__ = ["GrantCreator", "HostedAuth", "LoginForm", "SignInPage", "secret_hash"]

log = get_logger("tidings.service")

# RFC 7636 §4.1: a verifier is 43 to 128 unreserved characters; a challenge has the same
# form (§4.2: BASE64URL(SHA256(verifier)) is 43 characters).
_PKCE_VALUE: Final = re.compile(r"[A-Za-z0-9._~-]{43,128}")
PKCE_METHODS: Final = ("S256", "plain")
SECRET_BYTES: Final = 32
# How long one submission may hold the session while the mail servers are asked: longer
# than the login check's own deadline, so a crashed node's claim runs out on its own.
CLAIM_SECONDS: Final = 120.0


def secret_hash(secret: str) -> str:
    """How a session id or code is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


class GrantCreator(Protocol):
    """What hosted auth needs of the account operations: create a grant like custom auth
    does, or give an existing one new credentials, after checking them on both servers."""

    async def create_grant(self, auth: CustomAuth) -> Grant: ...

    async def update_grant(self, grant_id: str, update: GrantUpdate) -> Grant: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginForm:
    """What the user entered on the sign-in page. Empty fields take the preset's values."""

    email: str
    password: str = field(repr=False)
    username: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: Security | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Security | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInPage:
    """What the sign-in page shows for a session."""

    csrf_token: str
    redirect_uri: str
    preset: ProviderPreset  # the provider asked for, else the one of the login hint
    login_hint: str | None
    expires_at: float


class HostedAuth:
    def __init__(self, store: Store, accounts: GrantCreator, *, public_url: str,
                 code_ttl: float = 600, session_ttl: float = 1800,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._accounts = accounts
        self._public_url = public_url.rstrip("/")
        self._code_ttl = code_ttl
        self._session_ttl = session_ttl
        self._clock = clock

    def __repr__(self) -> str:
        return f"HostedAuth({self._public_url!r})"

    async def start(self, connector_id: str, redirect_uri: str, provider_type: str | None,
                    login_hint: str | None, state: str | None, code_challenge: str | None,
                    code_challenge_method: str | None) -> str:
        """Open a sign-in session; returns the URL of its page."""
        try:
            connector = await self._store.get_connector(connector_id)
        except StoreNotFound:
            raise NotFound("connector", connector_id) from None
        # RFC 6749 §3.1.2.2, and the OAuth 2.0 Security BCP (RFC 9700 §4.1.3): exact
        # match against the registered URIs, never a prefix or a pattern.
        if redirect_uri not in connector.settings.allowed_redirect_uris:
            raise InvalidField("redirect_uri",
                               "not one of the connector's settings.allowed_redirect_uris")
        preset_name = None
        if provider_type:
            preset_name = choose_preset(provider_type, "").name
        if login_hint and len(login_hint) > MAX_EMAIL:
            raise InvalidField("login_hint", f"at most {MAX_EMAIL} characters")
        state = check_state("state", state)
        challenge, method = _check_challenge(code_challenge, code_challenge_method)
        now = self._clock()
        session_id = secrets.token_urlsafe(SECRET_BYTES)
        session = HostedSession(
            id_hash=secret_hash(session_id), connector_id=connector.id,
            redirect_uri=redirect_uri, provider_type=preset_name,
            login_hint=login_hint or None, state=state, code_challenge=challenge,
            code_challenge_method=method, csrf_token=secrets.token_urlsafe(SECRET_BYTES),
            created_at=now, expires_at=now + self._session_ttl,
        )

        def create(tx: WriteTx) -> None:
            # Expired sessions and codes go here, a few at a time as flows start, so no
            # background sweeper is needed.
            tx.purge_hosted_auth(now)
            tx.create_hosted_session(session)

        try:
            await self._store.write(create)
        except StoreNotFound:
            raise NotFound("connector", connector_id) from None
        log.info("hosted.started", connector=connector.id, provider=preset_name)
        return f"{self._public_url}/auth/{session_id}"

    async def page(self, session_id: str) -> SignInPage:
        """What the session's page shows; `NotFound` when it is unknown or expired."""
        session = await self._session(session_id)
        email = session.login_hint or ""
        return SignInPage(
            csrf_token=session.csrf_token, redirect_uri=session.redirect_uri,
            preset=choose_preset(session.provider_type, email),
            login_hint=session.login_hint, expires_at=session.expires_at,
        )

    async def complete(self, session_id: str, form: LoginForm) -> str:
        """Create the grant from the form; returns where to send the browser
        (the redirect URI with `code` and `state`)."""
        id_hash = secret_hash(session_id)
        now = self._clock()
        try:
            session = await self._store.write(
                lambda tx: tx.claim_hosted_session(id_hash, now, now + CLAIM_SECONDS))
        except StoreConflict:
            raise PreconditionFailed("this sign-in is already being checked; wait for it"
                                     " to finish") from None
        if session is None:
            raise NotFound("sign-in session", id_hash[:12])
        try:
            grant = await self._grant_for(session, form)
        except BaseException:
            with trio.CancelScope(shield=True), contextlib.suppress(Exception):
                await self._store.write(lambda tx: tx.release_hosted_session(id_hash))
            raise
        code = secrets.token_urlsafe(SECRET_BYTES)
        issued = self._clock()
        record = HostedCode(
            code_hash=secret_hash(code), grant_id=grant.id, redirect_uri=session.redirect_uri,
            code_challenge=session.code_challenge,
            code_challenge_method=session.code_challenge_method,
            created_at=issued, expires_at=issued + self._code_ttl,
        )
        try:
            await self._store.write(lambda tx: tx.finish_hosted_session(id_hash, record))
        except StoreConflict:
            # Only a connector deleted meanwhile takes a claimed session away.
            log.warning("hosted.session_vanished", grant=grant.id)
            raise NotFound("sign-in session", id_hash[:12]) from None
        log.info("hosted.completed", connector=session.connector_id, grant=grant.id)
        return _with_query(session.redirect_uri, code=code, state=session.state)

    async def exchange(self, code: str, *, redirect_uri: str,
                       code_verifier: str | None = None) -> Grant:
        """The grant a code was issued for. Each code works once, before it expires, and
        only with the redirect URI the sign-in was started with."""
        if not code:
            raise InvalidField("code", "required")
        # RFC 6749 §4.1.3: the redirect_uri is required when the authorization request
        # had one, and StartHostedAuth always has one.
        if not redirect_uri:
            raise InvalidField("redirect_uri", "required: the one the sign-in was started with")
        now = self._clock()
        record = await self._store.write(lambda tx: tx.consume_hosted_code(secret_hash(code),
                                                                           now))
        if record is None:
            raise InvalidField("code", "unknown or expired code")
        if record.used_at is not None:
            # RFC 6749 §4.1.2 suggests revoking what the code gave. A grant is not a
            # bearer token here (calls need an API key), so the grant stays; the second
            # exchange is refused and logged.
            log.warning("hosted.code_reused", grant=record.grant_id)
            raise PreconditionFailed("code: this code has already been exchanged")
        if record.expires_at <= now:
            raise InvalidField("code", "the code has expired; start the sign-in again")
        # RFC 6749 §4.1.3: identical to the one the code was issued for, compared as
        # strings (RFC 3986 §6.2.1), like the check at the start (RFC 9700 §4.1.3). The
        # code is spent by now either way, as with a wrong PKCE verifier: a code that
        # leaked with its redirect cannot be tried against other URIs.
        if redirect_uri != record.redirect_uri:
            log.warning("hosted.redirect_uri_mismatch", grant=record.grant_id)
            raise InvalidField("redirect_uri",
                               "does not match the redirect_uri the sign-in was started with")
        _check_verifier(record, code_verifier)
        try:
            return await self._store.get_grant(record.grant_id)
        except StoreNotFound:
            raise NotFound("grant", record.grant_id) from None

    async def _session(self, session_id: str) -> HostedSession:
        id_hash = secret_hash(session_id)
        try:
            session = await self._store.get_hosted_session(id_hash)
        except StoreNotFound:
            session = None
        if session is None or session.expires_at <= self._clock():
            raise NotFound("sign-in session", id_hash[:12])
        return session

    async def _grant_for(self, session: HostedSession, form: LoginForm) -> Grant:
        """A new grant; or, when the mailbox is connected already, that grant with the
        new credentials: signing in again is how a user replaces a revoked app password."""
        try:
            return await self._accounts.create_grant(self._custom_auth(session, form))
        except Conflict:
            email = form.email.strip().lower()
            for existing in await self._store.list_grants(session.connector_id):
                if existing.email.lower() == email:
                    break
            else:
                raise
        update = GrantUpdate(
            imap_password=form.password,
            imap_username=form.username or None, imap_host=form.imap_host or None,
            imap_port=form.imap_port, imap_security=form.imap_security,
            smtp_host=form.smtp_host or None, smtp_port=form.smtp_port,
            smtp_security=form.smtp_security, caller_state=session.state,
        )
        grant = await self._accounts.update_grant(existing.id, update)
        log.info("hosted.reauthenticated", grant=grant.id)
        return grant

    @staticmethod
    def _custom_auth(session: HostedSession, form: LoginForm) -> CustomAuth:
        email = form.email.strip()
        return CustomAuth(
            # The sign-in page asks for no name: the address stands in for one.
            connector_id=session.connector_id, email=email, name=email,
            imap_password=form.password, imap_username=form.username or None,
            imap_host=form.imap_host or None, imap_port=form.imap_port,
            imap_security=form.imap_security, smtp_host=form.smtp_host or None,
            smtp_port=form.smtp_port, smtp_security=form.smtp_security,
            provider_type=session.provider_type, caller_state=session.state,
        )


def _check_challenge(challenge: str | None, method: str | None
                     ) -> tuple[str | None, str | None]:
    if not challenge:
        if method:
            raise InvalidField("code_challenge", "required with code_challenge_method")
        return None, None
    if not _PKCE_VALUE.fullmatch(challenge):
        raise InvalidField("code_challenge", "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
    # RFC 7636 §4.3: the method defaults to "plain".
    method = method or "plain"
    if method not in PKCE_METHODS:
        raise InvalidField("code_challenge_method", "must be S256 or plain")
    return challenge, method


def _check_verifier(record: HostedCode, verifier: str | None) -> None:
    if record.code_challenge is None:
        if verifier:
            # A verifier without a challenge is a downgrade attempt (RFC 9700 §2.1.1).
            raise InvalidField("code_verifier", "the sign-in was started without PKCE")
        return
    if not verifier:
        raise InvalidField("code_verifier", "required: the sign-in was started with PKCE")
    if not _PKCE_VALUE.fullmatch(verifier):
        raise InvalidField("code_verifier", "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
    if record.code_challenge_method == "S256":
        # RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), no padding.
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        expected = verifier
    if not hmac.compare_digest(expected.encode(), record.code_challenge.encode()):
        raise InvalidField("code_verifier", "does not match the code_challenge")


def _with_query(uri: str, *, code: str, state: str | None) -> str:
    """The redirect URI with `code` and `state` added to its query (RFC 6749 §4.1.2),
    keeping the query it already has."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("code", code))
    if state is not None:
        query.append(("state", state))
    return urlunsplit(parts._replace(query=urlencode(query)))
