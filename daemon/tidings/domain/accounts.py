"""Connectors, grants and the credentials that belong to a grant."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Connector",
    "ConnectorSettings",
    "Credentials",
    "Endpoint",
    "Grant",
    "GrantState",
    "Security",
    "SyncProgress",
]


class Security(StrEnum):
    """How a connection to a mail server is protected."""

    TLS = "tls"  # implicit TLS from the first byte (RFC 8314 §3)
    STARTTLS = "starttls"
    PLAIN = "plain"


class GrantState(StrEnum):
    VALID = "valid"
    SYNCING = "syncing"
    INVALID = "invalid"  # the server refused the credentials
    DEGRADED = "degraded"  # the server misbehaves; we keep serving what is stored


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorSettings:
    sync_window_days: int = 90
    # Skip messages without a usable Message-ID instead of synthesizing one.
    strict_message_id: bool = False
    # Seconds between polls; None follows the daemon's `[sync] poll_interval`.
    poll_interval: float | None = None
    allowed_redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Connector:
    id: str
    name: str
    provider: str = "imap"
    settings: ConnectorSettings = field(default_factory=ConnectorSettings)
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    security: Security


@dataclass(frozen=True, slots=True)
class SyncProgress:
    folders_done: int = 0
    folders_total: int = 0
    messages_done: int = 0
    messages_total: int = 0

    @property
    def completed(self) -> bool:
        """The initial sync ended: its completion wrote folders_done = folders_total."""
        return 0 < self.folders_total <= self.folders_done


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """One mail account. Its passwords live apart, in `Credentials`."""

    id: str
    connector_id: str
    email: str
    name: str = ""  # display name, the From name when sending; empty when none was given
    provider_type: str = "generic"  # the provider preset: generic, gmail, yahoo, ...
    imap: Endpoint
    smtp: Endpoint
    imap_username: str
    smtp_username: str
    allow_plaintext: bool = False
    sync_window_days: int = 90
    state: GrantState = GrantState.VALID
    state_reason: str | None = None
    progress: SyncProgress = SyncProgress()
    caller_state: str | None = None  # the API caller's opaque string, returned as given
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class Credentials:
    """A grant's passwords. Never part of a `Grant`, so they cannot reach a log or a reply."""

    imap_password: str
    smtp_password: str

    def __repr__(self) -> str:
        return "Credentials(imap_password='***', smtp_password='***')"

    __str__ = __repr__
