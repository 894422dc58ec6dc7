"""Field checks shared by the account operations; each failure names its field."""

from __future__ import annotations

from urllib.parse import urlsplit

from tidings.domain import ConnectorSettings
from tidings.service.errors import InvalidField

__all__ = [
    "MAX_CALLER_STATE",
    "MAX_NAME",
    "MAX_REDIRECT_URIS",
    "MAX_WINDOW_DAYS",
    "MIN_POLL_INTERVAL",
    "check_connector_settings",
    "check_email",
    "check_host",
    "check_name",
    "check_poll_interval",
    "check_port",
    "check_redirect_uri",
    "check_secret",
    "check_state",
    "check_username",
    "check_window",
]

MAX_NAME = 200
MAX_WINDOW_DAYS = 3650
MIN_POLL_INTERVAL = 5.0  # below this a poller would hammer the server (DESIGN.md, Sync)
MAX_POLL_INTERVAL = 86400.0
MAX_REDIRECT_URIS = 100
MAX_URI = 2048
MAX_CALLER_STATE = 256  # as Nylas allows for `state`
MAX_SECRET = 1024
MAX_USERNAME = 320
# RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254.
MAX_EMAIL = 254
# RFC 1035 §2.3.4: a name is at most 255 octets, 253 characters written out.
MAX_HOST = 253


def _control(value: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def check_name(field: str, value: str, *, required: bool = True) -> str:
    name = value.strip()
    if required and not name:
        raise InvalidField(field, "required")
    if len(name) > MAX_NAME:
        raise InvalidField(field, f"at most {MAX_NAME} characters")
    if _control(name):
        raise InvalidField(field, "must not contain control characters")
    return name


def check_window(field: str, days: int) -> int:
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise InvalidField(field, f"must be between 1 and {MAX_WINDOW_DAYS} days, not {days}")
    return days


def check_poll_interval(field: str, seconds: float) -> float:
    if not MIN_POLL_INTERVAL <= seconds <= MAX_POLL_INTERVAL:
        raise InvalidField(
            field,
            f"must be between {MIN_POLL_INTERVAL:g} and {MAX_POLL_INTERVAL:g} seconds,"
            f" not {seconds:g}",
        )
    return seconds


def check_redirect_uri(field: str, uri: str) -> str:
    if len(uri) > MAX_URI:
        raise InvalidField(field, f"at most {MAX_URI} characters")
    if _control(uri) or " " in uri:
        raise InvalidField(field, f"{uri!r} is not a URL")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidField(field, f"{uri!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidField(field, f"{uri!r} must be an absolute http(s) URL")
    # RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
    if parts.fragment or uri.endswith("#"):
        raise InvalidField(field, f"{uri!r} must not have a fragment")
    return uri


def check_connector_settings(settings: ConnectorSettings, prefix: str = "settings"
                             ) -> ConnectorSettings:
    def named(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    check_window(named("sync_window_days"), settings.sync_window_days)
    if settings.poll_interval is not None:
        check_poll_interval(named("poll_interval_seconds"), settings.poll_interval)
    uris = settings.allowed_redirect_uris
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidField(named("allowed_redirect_uris"), f"at most {MAX_REDIRECT_URIS}")
    for index, uri in enumerate(uris):
        check_redirect_uri(named(f"allowed_redirect_uris[{index}]"), uri)
    return settings


def check_email(field: str, value: str) -> str:
    email = value.strip()
    if not email:
        raise InvalidField(field, "required")
    local, at, domain = email.rpartition("@")
    if (not at or not local or not domain or len(email) > MAX_EMAIL or _control(email)
            or any(ch.isspace() for ch in email)):
        raise InvalidField(field, f"{value!r} is not a mailbox address")
    return email


def check_host(field: str, value: str) -> str:
    host = value.strip()
    if not host:
        raise InvalidField(field, "required")
    if (len(host) > MAX_HOST or _control(host) or any(ch.isspace() for ch in host)
            or any(ch in host for ch in "/?#@")):
        raise InvalidField(field, f"{value!r} is not a host name")
    return host


def check_port(field: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise InvalidField(field, f"{value} is not a TCP port")
    return value


def check_username(field: str, value: str) -> str:
    if not value:
        raise InvalidField(field, "required")
    if len(value) > MAX_USERNAME or _control(value):
        raise InvalidField(field, "is not a login name")
    return value


def check_secret(field: str, value: str) -> str:
    if not value:
        raise InvalidField(field, "required")
    # NUL cannot travel in IMAP LOGIN or SASL PLAIN (RFC 4616 §2); CR/LF would end a line.
    if len(value) > MAX_SECRET or any(ch in value for ch in "\0\r\n"):
        raise InvalidField(field, f"must be 1 to {MAX_SECRET} characters without NUL, CR or LF")
    return value


def check_state(field: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > MAX_CALLER_STATE:
        raise InvalidField(field, f"at most {MAX_CALLER_STATE} characters")
    return value
