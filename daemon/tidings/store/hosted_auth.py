"""What the store keeps of a hosted sign-in: the pending session and the one-time code.

Both are kept in the database, not in memory, so a sign-in started on one node can be
finished on another, and survives a restart. Neither record holds its bearer secret:
the session id and the code are stored only as hashes (`id_hash`, `code_hash`), so a
copy of the database cannot be used to finish someone's sign-in or to take their grant.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HostedCode", "HostedSession"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HostedSession:
    """A sign-in page handed out by `StartHostedAuth`, waiting for the user's credentials."""

    id_hash: str
    connector_id: str
    redirect_uri: str
    provider_type: str | None = None
    login_hint: str | None = None
    state: str | None = None  # the caller's opaque string, returned with the code
    code_challenge: str | None = None  # RFC 7636 §4.3
    code_challenge_method: str | None = None
    csrf_token: str
    created_at: float
    expires_at: float
    # While the credentials are being checked: no second submission may start one.
    busy_until: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HostedCode:
    """The authorization code that a finished sign-in redirects with (RFC 6749 §4.1.2)."""

    code_hash: str
    grant_id: str
    redirect_uri: str
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    created_at: float
    expires_at: float
    used_at: float | None = None
