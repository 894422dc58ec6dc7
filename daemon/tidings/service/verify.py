"""Checking a grant's credentials against its servers before they are stored.

One short-lived connection per side: IMAP LOGIN then LOGOUT, SMTP AUTH then QUIT, both at
once, each under an overall deadline on top of the protocol layers' per-wait timeouts.
A failure becomes a service error that names the side and tells a refused password
apart from a server that cannot be reached and from a TLS problem.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from tidings import imap, smtp
from tidings.domain import Credentials, Grant
from tidings.log import get_logger
from tidings.service.errors import (
    CredentialsRejected,
    ServiceError,
    Side,
    TlsFailed,
    Unreachable,
)
from tidings.sync.link import imap_params

__all__ = [
    "LoginChecker",
    "SslContextFactory",
    "classify_imap_error",
    "classify_smtp_error",
    "smtp_params",
]

log = get_logger("tidings.service")

SslContextFactory = Callable[[], ssl.SSLContext | None]


def _tls_cause(exc: BaseException) -> BaseException | None:
    """The TLS error somewhere in the chain of causes, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return current
        current = current.__cause__ or current.__context__
    return None


def classify_imap_error(exc: imap.ImapError, where: str) -> ServiceError:
    if isinstance(exc, imap.AuthError):
        return CredentialsRejected("imap", exc.text or str(exc))
    if isinstance(exc, imap.TlsRequired):
        return TlsFailed("imap", str(exc))
    if _tls_cause(exc) is not None:
        return TlsFailed("imap", str(exc))
    if isinstance(exc, imap.ServerResponseError):
        return CredentialsRejected("imap", str(exc))
    if isinstance(exc, imap.ProtocolError):
        return Unreachable("imap", f"{where} does not speak IMAP as expected: {exc}")
    return Unreachable("imap", str(exc))


def classify_smtp_error(exc: smtp.SmtpError, where: str) -> ServiceError:
    if isinstance(exc, smtp.SmtpAuthError):
        if exc.transient:  # 454 and the like: the server could not check right now
            return Unreachable("smtp", f"temporary failure at login: {exc.code} {exc.text}")
        return CredentialsRejected("smtp", f"{exc.code} {exc.text}")
    if isinstance(exc, smtp.SmtpTlsRequired):
        return TlsFailed("smtp", str(exc))
    if _tls_cause(exc) is not None:
        return TlsFailed("smtp", str(exc))
    if isinstance(exc, smtp.SmtpNotSupported):
        return CredentialsRejected("smtp", str(exc))
    if isinstance(exc, smtp.SmtpProtocolError):
        return Unreachable("smtp", f"{where} does not speak SMTP as expected: {exc}")
    return Unreachable("smtp", str(exc))


def smtp_params(grant: Grant, ssl_context: ssl.SSLContext | None, timeout: float
                ) -> smtp.SmtpParams:
    """How to reach the grant's SMTP server (plaintext only when the grant allows it)."""
    endpoint = grant.smtp
    return smtp.SmtpParams(host=endpoint.host, port=endpoint.port,
                           security=endpoint.security.value, ssl_context=ssl_context,
                           allow_plaintext=grant.allow_plaintext, timeout=timeout)


@dataclass(frozen=True, slots=True)
class LoginChecker:
    """Proves that a grant's credentials work on both servers."""

    imap_ssl_context: SslContextFactory
    smtp_ssl_context: SslContextFactory
    timeout: float = 30.0

    async def check(self, grant: Grant, credentials: Credentials) -> None:
        """Raise the service error of the first side that failed (IMAP before SMTP)."""
        failures: dict[Side, ServiceError] = {}

        async def run(side: Side, fn: Callable[[Grant, Credentials], Awaitable[None]]) -> None:
            try:
                await fn(grant, credentials)
            except ServiceError as exc:
                failures[side] = exc

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "imap", self.check_imap)
            nursery.start_soon(run, "smtp", self.check_smtp)
        for side in ("imap", "smtp"):
            if side in failures:
                failure = failures[side]
                log.info("grant.login_check_failed", email=grant.email, side=side,
                         error=failure.message)
                raise failure

    async def check_imap(self, grant: Grant, credentials: Credentials) -> None:
        endpoint = grant.imap
        params = imap_params(grant, self.imap_ssl_context(), self.timeout)

        async def attempt() -> None:
            async with imap.open_imap(params) as client:
                await client.login(grant.imap_username, credentials.imap_password)

        await self._check("imap", f"{endpoint.host}:{endpoint.port}", attempt)

    async def check_smtp(self, grant: Grant, credentials: Credentials) -> None:
        endpoint = grant.smtp
        params = smtp_params(grant, self.smtp_ssl_context(), self.timeout)

        async def attempt() -> None:
            await smtp.verify_login(params, grant.smtp_username, credentials.smtp_password)

        await self._check("smtp", f"{endpoint.host}:{endpoint.port}", attempt)

    async def _check(self, side: Side, where: str, attempt: Callable[[], Awaitable[None]]
                     ) -> None:
        """Run one login attempt under the deadline; turn what goes wrong into the
        service error that says which side failed and why."""
        try:
            with trio.fail_after(self.timeout):
                await attempt()
        except imap.ImapError as exc:
            raise classify_imap_error(exc, where) from exc
        except smtp.SmtpError as exc:
            raise classify_smtp_error(exc, where) from exc
        except trio.TooSlowError:
            raise Unreachable(side, f"{where} did not answer within {self.timeout} s") from None
        except OSError as exc:
            raise Unreachable(side, f"cannot connect to {where}: {exc}") from exc
