"""The store's exception family: every storage failure a caller sees is a `StoreError`."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "CredentialsError",
    "InvalidQuery",
    "KeyFileError",
    "MigrationError",
    "NotFound",
    "StoreClosed",
    "StoreError",
]


class StoreError(Exception):
    """Base of everything the store raises."""


class NotFound(StoreError):
    """The object does not exist (or no longer exists)."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id!r} not found")
        self.kind = kind
        self.object_id = object_id


class Conflict(StoreError):
    """The write breaks a uniqueness or reference rule (duplicate id, name in use, ...)."""


class InvalidQuery(StoreError):
    """A list query or page token that cannot be served as given."""


class CredentialsError(StoreError):
    """Stored credentials cannot be decrypted: the key is not the one they were sealed with."""


class KeyFileError(StoreError):
    """The encryption key cannot be loaded safely."""


class MigrationError(StoreError):
    """The database schema cannot be brought to the version this code needs."""


class StoreClosed(StoreError):
    """The store is not open."""
