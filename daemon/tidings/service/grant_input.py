"""What a caller gives to create or change a grant, and how missing settings are filled
in from the provider presets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from tidings.domain import Endpoint, GrantState, Security
from tidings.service.errors import InvalidField, Side
from tidings.service.validation import check_host, check_port
from tidings.sync.presets import ProviderPreset, UnknownProvider, preset_for, preset_for_email

__all__ = [
    "DEFAULT_PORTS",
    "ConnectorPatch",
    "CustomAuth",
    "GrantFilter",
    "GrantUpdate",
    "choose_preset",
    "resolve_endpoint",
]

# IMAP: RFC 8314 §3.3 (993 implicit TLS), RFC 9051 §2.1 (143); submission: RFC 8314 §3.3
# (465 implicit TLS), RFC 6409 §3.1 (587).
DEFAULT_PORTS: Final = {
    ("imap", Security.TLS): 993,
    ("imap", Security.STARTTLS): 143,
    ("imap", Security.PLAIN): 143,
    ("smtp", Security.TLS): 465,
    ("smtp", Security.STARTTLS): 587,
    ("smtp", Security.PLAIN): 587,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorPatch:
    """Connector fields to change; None leaves a field as it is."""

    name: str | None = None
    sync_window_days: int | None = None
    strict_message_id: bool | None = None
    poll_interval: float | None = None
    allowed_redirect_uris: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomAuth:
    """A grant by custom auth: the mailbox, its credentials, and optional server settings.

    Left out: the connector (the only one), hosts, ports and security (the provider
    preset, chosen by `provider_type` or the address), usernames (the address for IMAP,
    the IMAP login for SMTP), the SMTP password (the IMAP one), the sync window (the
    connector's).
    """

    connector_id: str | None = None
    email: str
    name: str | None = None  # display name; None or empty: none
    imap_password: str = field(repr=False)
    imap_username: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: Security | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Security | None = None
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    provider_type: str | None = None
    allow_plaintext: bool = False
    sync_window_days: int | None = None
    caller_state: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantUpdate:
    """Grant fields to change; None leaves a field as it is."""

    name: str | None = None  # "" removes the display name
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: Security | None = None
    imap_username: str | None = None
    imap_password: str | None = field(default=None, repr=False)
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Security | None = None
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    allow_plaintext: bool | None = None
    sync_window_days: int | None = None
    caller_state: str | None = None

    @property
    def touches_connection(self) -> bool:
        """Whether the change needs the credentials checked again."""
        return any(value is not None for value in (
            self.imap_host, self.imap_port, self.imap_security, self.imap_username,
            self.imap_password, self.smtp_host, self.smtp_port, self.smtp_security,
            self.smtp_username, self.smtp_password, self.allow_plaintext))


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantFilter:
    """Which grants to list, and which page of them."""

    connector_id: str | None = None
    email: str | None = None  # compared case-insensitively
    states: frozenset[GrantState] | None = None
    provider_type: str | None = None
    offset: int = 0
    limit: int = 50


def choose_preset(provider_type: str | None, email: str) -> ProviderPreset:
    if provider_type:
        try:
            return preset_for(provider_type)
        except UnknownProvider as exc:
            raise InvalidField("provider_type", str(exc)) from None
    return preset_for_email(email)


def resolve_endpoint(side: Side, *, host: str | None, port: int | None,
                     security: Security | None, preset: Endpoint | None,
                     allow_plaintext: bool) -> Endpoint:
    """The endpoint asked for, completed from the preset (when it is the preset's host)
    or from the defaults of the security mode."""
    if host:
        host = check_host(f"{side}_host", host)
    elif preset is not None:
        host = preset.host
    else:
        raise InvalidField(f"{side}_host",
                           "required: no provider preset knows the servers of this address")
    same_host = preset is not None and host.lower() == preset.host.lower()
    if security is None:
        security = preset.security if same_host and preset is not None else Security.TLS
    if security is Security.PLAIN and not allow_plaintext:
        raise InvalidField(f"{side}_security",
                           "plain connections send the password in clear text;"
                           " set allow_plaintext to use them")
    if port:
        port = check_port(f"{side}_port", port)
    elif same_host and preset is not None and preset.security is security:
        port = preset.port
    else:
        port = DEFAULT_PORTS[(side, security)]
    return Endpoint(host=host, port=port, security=security)
