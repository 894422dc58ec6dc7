"""Idempotency keys of sends as the store keeps them.

A send claims its key before any SMTP traffic, so that a retried call with the same key
(the client timed out, the connection dropped) finds the claim and never sends twice.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SendKey"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SendKey:
    grant_id: str
    key: str
    created_at: float
    # The stored message the first send made; None while that send is still running.
    message_id: str | None = None

    @property
    def pending(self) -> bool:
        return self.message_id is None
