"""Storage behind one interface: SQLite (the embedded default), PostgreSQL later.

Callers use `Store` (async reads, `write(fn)` for atomic writes through `WriteTx`) and never
see SQL or a backend's types.
"""

from __future__ import annotations

from tidings.store.errors import (
    Conflict,
    CredentialsError,
    InvalidQuery,
    KeyFileError,
    MigrationError,
    NotFound,
    StoreClosed,
    StoreError,
)
from tidings.store.factory import open_store
from tidings.store.interface import CommitListener, Store
from tidings.store.keys import CredentialCipher, decode_key, load_or_create_key
from tidings.store.queries import KEEP, MAX_LIMIT, Keep, MessageQuery, Page, ThreadQuery
from tidings.store.sqlite import SqliteStore
from tidings.store.write_tx import SubjectLatest, ThreadLink, WriteTx

__all__ = [
    "KEEP",
    "MAX_LIMIT",
    "CommitListener",
    "Conflict",
    "CredentialCipher",
    "CredentialsError",
    "InvalidQuery",
    "Keep",
    "KeyFileError",
    "MessageQuery",
    "MigrationError",
    "NotFound",
    "Page",
    "SqliteStore",
    "Store",
    "StoreClosed",
    "StoreError",
    "SubjectLatest",
    "ThreadLink",
    "ThreadQuery",
    "WriteTx",
    "decode_key",
    "load_or_create_key",
    "open_store",
]
