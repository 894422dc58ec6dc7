"""API keys in PostgreSQL: reads, and the `WriteTx` part that writes them."""

# ruff: noqa: S608 -- only the column list is put into the SQL text; every value is a
# bound parameter.

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from tidings.store.access import ApiKey
from tidings.store.postgres.connection import Conn
from tidings.store.postgres.tx_base import TxBase

__all__ = ["AccessReads", "AccessTx", "find_api_key", "get_api_key", "list_api_keys"]

R = TypeVar("R")

API_KEY_COLUMNS: Final = "id, name, digest, created_at, revoked_at"


def _api_key(row: Sequence[Any]) -> ApiKey:
    key_id, name, digest, created_at, revoked_at = row
    return ApiKey(id=key_id, name=name, digest=digest, created_at=float(created_at),
                  revoked_at=None if revoked_at is None else float(revoked_at))


def find_api_key(conn: Conn, digest: str) -> ApiKey | None:
    row = conn.execute(
        f"SELECT {API_KEY_COLUMNS} FROM api_keys WHERE digest = %s", (digest,)
    ).fetchone()
    return _api_key(row) if row else None


def get_api_key(conn: Conn, key_id: str) -> ApiKey | None:
    row = conn.execute(
        f"SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = %s", (key_id,)
    ).fetchone()
    return _api_key(row) if row else None


def list_api_keys(conn: Conn) -> list[ApiKey]:
    rows = conn.execute(f"SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id")
    return [_api_key(row) for row in rows]


class AccessTx(TxBase):
    """The `WriteTx` methods for API keys."""

    def api_key(self, key_id: str) -> ApiKey | None:
        return get_api_key(self._conn, key_id)

    def create_api_key(self, key: ApiKey) -> None:
        self._exec(
            f"INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",
            (key.id, key.name, key.digest, key.created_at, key.revoked_at),
        )

    def revoke_api_key(self, key_id: str, at: float) -> None:
        self._require("api_keys", "API key", key_id)
        # A second revocation keeps the first time.
        self._exec(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, %s) WHERE id = %s", (at, key_id)
        )


class AccessReads:
    """The `Store` read methods for API keys; mixed into the PostgreSQL store."""

    async def _read(self, fn: Callable[[Conn], R]) -> R:
        raise NotImplementedError  # the store's own reader pool

    async def find_api_key(self, digest: str) -> ApiKey | None:
        return await self._read(lambda c: find_api_key(c, digest))

    async def list_api_keys(self) -> list[ApiKey]:
        return await self._read(list_api_keys)
