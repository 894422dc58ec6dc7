"""API keys as the store keeps them: a digest, never the key itself, so a copy of the
database lets nobody call the API."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ApiKey"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    id: str
    name: str
    digest: str
    created_at: float
    revoked_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
