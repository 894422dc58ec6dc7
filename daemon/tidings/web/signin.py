"""The hosted sign-in page: `GET /auth/{session_id}` shows the form, `POST` checks it.

The form posts to its own URL. Its hidden `csrf_token` must be the session's, so a page on
another site cannot submit credentials into someone's session. Every field is bounded
before anything is parsed; a failed try shows the form again with the error and what the
user typed, except the password.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tidings.domain import Security
from tidings.log import get_logger
from tidings.service.errors import (
    Conflict,
    CredentialsRejected,
    InvalidField,
    NotFound,
    PreconditionFailed,
    ServiceError,
    TlsFailed,
    Unreachable,
)
from tidings.service.hosted import HostedAuth, LoginForm, SignInPage
from tidings.web.pages import FormValues, render_message, render_signin, signin_csp

__all__ = ["FIELD_LIMITS", "MAX_BODY", "SignInRoutes"]

log = get_logger("tidings.web")

# Longest accepted value per field, in characters (RFC 5321 §4.5.3.1.3 for the address,
# RFC 1035 §2.3.4 for host names).
FIELD_LIMITS: Final = {
    "csrf_token": 128,
    "email": 254,
    "password": 1024,
    "username": 320,
    "imap_host": 253,
    "imap_port": 5,
    "imap_security": 16,
    "smtp_host": 253,
    "smtp_port": 5,
    "smtp_security": 16,
}
# Every field at its limit, each character percent-encoded UTF-8 (up to 12 bytes), fits.
MAX_BODY: Final = 48 * 1024
MAX_FIELDS: Final = 2 * len(FIELD_LIMITS)
MAX_SESSION_ID: Final = 128
_FIELD_LABELS: Final = {
    "email": "Email address",
    "password": "Password",
    "imap_password": "Password",
    "smtp_password": "SMTP password",
    "username": "Username",
    "imap_username": "Username",
    "smtp_username": "SMTP username",
    "imap_host": "IMAP server",
    "imap_port": "IMAP port",
    "imap_security": "IMAP security",
    "smtp_host": "SMTP server",
    "smtp_port": "SMTP port",
    "smtp_security": "SMTP security",
}
_SECURITY_CHOICES: Final = {"tls": Security.TLS, "starttls": Security.STARTTLS}


class _BadForm(Exception):
    """The request is not a form this page sent (too large, undecodable, no token)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _message(status: int, title: str, text: str) -> HTMLResponse:
    return HTMLResponse(render_message(title, text), status_code=status)


def _not_found() -> HTMLResponse:
    return _message(404, "Sign-in link expired",
                    "This sign-in link is unknown or has expired. Go back to the application"
                    " and start connecting your account again.")


def _html(page: SignInPage, values: FormValues, *, error: str | None = None,
          status: int = 200) -> HTMLResponse:
    body = render_signin(preset=page.preset, values=values, csrf_token=page.csrf_token,
                         error=error)
    return HTMLResponse(body, status_code=status,
                        headers={"Content-Security-Policy": signin_csp(page.redirect_uri)})


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise _BadForm(413, "The form is too large.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _BadForm(413, "The form is too large.")
    return bytes(body)


async def _read_fields(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _BadForm(415, "The form must be sent as application/x-www-form-urlencoded.")
    body = await _read_body(request)
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True,
                          max_num_fields=MAX_FIELDS, encoding="utf-8", errors="strict")
    except ValueError:  # UnicodeDecodeError included
        raise _BadForm(400, "The form could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)  # the first of repeated fields counts
    return fields


def _entered(fields: Mapping[str, str]) -> FormValues:
    """What the user typed, to show again (never the password)."""
    def get(name: str) -> str:
        return fields.get(name, "")[: FIELD_LIMITS[name]]

    return FormValues(
        email=get("email"), username=get("username"),
        imap_host=get("imap_host"), imap_port=get("imap_port"),
        imap_security=get("imap_security") or "tls",
        smtp_host=get("smtp_host"), smtp_port=get("smtp_port"),
        smtp_security=get("smtp_security") or "tls",
    )


def _port(fields: Mapping[str, str], name: str) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    if not text.isdecimal() or not text.isascii():
        raise InvalidField(name, "must be a number")
    return int(text)


def _security(fields: Mapping[str, str], name: str) -> Security | None:
    text = fields.get(name, "").strip().lower()
    if not text:
        return None
    if text not in _SECURITY_CHOICES:
        raise InvalidField(name, "must be SSL/TLS or STARTTLS")
    return _SECURITY_CHOICES[text]


def _login_form(fields: Mapping[str, str]) -> LoginForm:
    for name, limit in FIELD_LIMITS.items():
        if len(fields.get(name, "")) > limit:
            raise InvalidField(name, f"at most {limit} characters")
    if not fields.get("email", "").strip():
        raise InvalidField("email", "required")
    if not fields.get("password"):
        raise InvalidField("password", "required")
    return LoginForm(
        email=fields["email"].strip(), password=fields["password"],
        username=fields.get("username", "").strip() or None,
        imap_host=fields.get("imap_host", "").strip() or None,
        imap_port=_port(fields, "imap_port"), imap_security=_security(fields, "imap_security"),
        smtp_host=fields.get("smtp_host", "").strip() or None,
        smtp_port=_port(fields, "smtp_port"), smtp_security=_security(fields, "smtp_security"),
    )


def describe_failure(exc: ServiceError) -> str:
    """The sentence the form shows for a failed try."""
    if isinstance(exc, CredentialsRejected):
        return f"{exc.side.upper()} login failed: {exc.reason}"
    if isinstance(exc, Unreachable):
        return f"Cannot reach the {exc.side.upper()} server: {exc.reason}"
    if isinstance(exc, TlsFailed):
        return f"{exc.side.upper()} secure connection failed: {exc.reason}"
    if isinstance(exc, InvalidField):
        field = exc.field.removeprefix("settings.")
        return f"{_FIELD_LABELS.get(field, field)}: {exc.problem}"
    return exc.message


class SignInRoutes:
    """The handlers, bound to one `HostedAuth`."""

    def __init__(self, hosted: HostedAuth) -> None:
        self._hosted = hosted

    async def _page(self, request: Request) -> tuple[str, SignInPage] | None:
        session_id = str(request.path_params["session_id"])
        if len(session_id) > MAX_SESSION_ID:
            return None
        try:
            return session_id, await self._hosted.page(session_id)
        except NotFound:
            return None

    async def show(self, request: Request) -> Response:
        found = await self._page(request)
        if found is None:
            return _not_found()
        _session_id, page = found
        return _html(page, FormValues.from_preset(page.preset, page.login_hint or ""))

    async def submit(self, request: Request) -> Response:
        found = await self._page(request)
        if found is None:
            return _not_found()
        session_id, page = found
        try:
            fields = await _read_fields(request)
            token = fields.get("csrf_token", "")
            if not token or not hmac.compare_digest(token.encode(), page.csrf_token.encode()):
                raise _BadForm(400, "The form was not sent from this sign-in page. Reload"
                                    " the page and try again.")
        except _BadForm as exc:
            return _message(exc.status, "Cannot accept this form", exc.text)
        entered = _entered(fields)
        try:
            target = await self._hosted.complete(session_id, _login_form(fields))
        except NotFound:
            return _not_found()
        except (InvalidField, CredentialsRejected, Unreachable, TlsFailed) as exc:
            return _html(page, entered, error=describe_failure(exc), status=422)
        except (Conflict, PreconditionFailed) as exc:
            return _html(page, entered, error=describe_failure(exc), status=409)
        return RedirectResponse(target, status_code=303)
