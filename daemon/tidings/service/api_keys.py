"""API keys: made here, shown once, stored as digests, checked on every call.

Keys are random 32-byte tokens, so a single SHA-256 is the right way to store them: there
is nothing to guess that a slow password hash would protect, and a fast hash keeps the
check off the hot path. The lookup by digest goes through an index; its timing can tell
at most something about a digest, from which no key can be recovered.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from tidings.domain import new_id
from tidings.service.errors import InvalidField, NotFound
from tidings.store import NotFound as StoreNotFound
from tidings.store import Store, WriteTx
from tidings.store.access import ApiKey

__all__ = ["MAX_KEY_NAME", "ApiKeys", "CreatedKey", "generate_api_key", "hash_api_key"]

MAX_KEY_NAME = 200
# Longer than any key we hand out by far; bounds the work an unauthenticated caller causes.
_MAX_PRESENTED = 512


def generate_api_key() -> str:
    """A new API key: 32 random bytes, URL-safe base64 (43 characters), never starting
    with "-" (a command line would take `--api-key -x...` for an option)."""
    while True:
        key = secrets.token_urlsafe(32)
        if not key.startswith("-"):
            return key


def hash_api_key(key: str) -> str:
    """The digest to store for `key` (hex SHA-256)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: `key` is the secret, shown to its owner once and never stored."""

    record: ApiKey
    key: str

    def __repr__(self) -> str:
        return f"CreatedKey(record={self.record!r}, key='***')"


class ApiKeys:
    """API key operations on a store; usable without a running daemon (the CLI)."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    async def create(self, name: str = "") -> CreatedKey:
        name = name.strip() or "default"
        if len(name) > MAX_KEY_NAME:
            raise InvalidField("name", f"at most {MAX_KEY_NAME} characters")
        key = generate_api_key()
        record = ApiKey(id=new_id(), name=name, digest=hash_api_key(key),
                        created_at=self._clock())
        await self._store.write(lambda tx: tx.create_api_key(record))
        return CreatedKey(record, key)

    async def list(self) -> list[ApiKey]:
        return await self._store.list_api_keys()

    async def revoke(self, key_id: str) -> ApiKey:
        at = self._clock()

        def write(tx: WriteTx) -> ApiKey | None:
            tx.revoke_api_key(key_id, at)
            return tx.api_key(key_id)

        try:
            revoked = await self._store.write(write)
        except StoreNotFound:
            raise NotFound("API key", key_id) from None
        assert revoked is not None
        return revoked

    async def verify(self, key: str) -> bool:
        """Whether `key` is a stored key that has not been revoked."""
        if not key or len(key) > _MAX_PRESENTED:
            return False
        found = await self._store.find_api_key(hash_api_key(key))
        return found is not None and not found.revoked
