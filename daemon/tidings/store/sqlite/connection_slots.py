"""Connection slots in SQLite: the `WriteTx` part (one writer at a time, so a take
never races another)."""

from __future__ import annotations

from tidings.store.sqlite.tx_base import TxBase

__all__ = ["ConnectionSlotsTx"]


class ConnectionSlotsTx(TxBase):
    def take_connection_slot(self, grant_id: str, cap: int, *, node_id: str, holder: str,
                             now: float, until: float) -> int | None:
        for slot in range(cap):
            taken = self._exec(
                "INSERT INTO connection_slots (grant_id, slot, node_id, holder, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (grant_id, slot) DO UPDATE SET"
                " node_id = excluded.node_id, holder = excluded.holder,"
                " expires_at = excluded.expires_at WHERE connection_slots.expires_at < ?",
                (grant_id, slot, node_id, holder, until, now)).rowcount
            if taken:
                return slot
        return None

    def release_connection_slot(self, grant_id: str, slot: int, holder: str) -> None:
        self._exec("DELETE FROM connection_slots WHERE grant_id = ? AND slot = ? AND holder = ?",
                   (grant_id, slot, holder))

    def renew_connection_slots(self, node_id: str, until: float) -> int:
        return self._exec("UPDATE connection_slots SET expires_at = ? WHERE node_id = ?",
                          (until, node_id)).rowcount

    def drop_node_slots(self, node_id: str) -> int:
        return self._exec("DELETE FROM connection_slots WHERE node_id = ?",
                          (node_id,)).rowcount
