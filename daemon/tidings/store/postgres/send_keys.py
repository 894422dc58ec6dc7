"""Idempotency keys of sends in PostgreSQL: the `WriteTx` part."""

from __future__ import annotations

from tidings.store.postgres.tx_base import TxBase
from tidings.store.send_keys import SendKey

__all__ = ["SendKeysTx"]


class SendKeysTx(TxBase):
    def claim_send_key(self, grant_id: str, key: str, now: float,
                       since: float) -> SendKey | None:
        self._exec("DELETE FROM send_keys WHERE created_at < %s", (since,))
        row = self._conn.execute(
            "SELECT created_at, message_id FROM send_keys WHERE grant_id = %s AND key = %s",
            (grant_id, key)).fetchone()
        if row is not None:
            return SendKey(grant_id=grant_id, key=key, created_at=float(row[0]),
                           message_id=row[1])
        self._exec("INSERT INTO send_keys (grant_id, key, created_at) VALUES (%s, %s, %s)",
                   (grant_id, key, now))
        return None

    def finish_send_key(self, grant_id: str, key: str, message_id: str) -> None:
        self._exec("UPDATE send_keys SET message_id = %s WHERE grant_id = %s AND key = %s",
                   (message_id, grant_id, key))

    def release_send_key(self, grant_id: str, key: str) -> None:
        self._exec("DELETE FROM send_keys WHERE grant_id = %s AND key = %s", (grant_id, key))
