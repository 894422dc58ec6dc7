"""Connection slots in PostgreSQL: the `WriteTx` part. Two nodes taking a slot of one
grant at once both aim at the same primary key: the upsert lets exactly one of them have
it (the other's conditional update finds the row held and changes nothing), so a cap is
never exceeded."""

from __future__ import annotations

from tidings.store.postgres.tx_base import TxBase

__all__ = ["ConnectionSlotsTx"]


class ConnectionSlotsTx(TxBase):
    def take_connection_slot(self, grant_id: str, cap: int, *, node_id: str, holder: str,
                             now: float, until: float) -> int | None:
        for slot in range(cap):
            taken = self._exec(
                "INSERT INTO connection_slots (grant_id, slot, node_id, holder, expires_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (grant_id, slot) DO UPDATE SET"
                " node_id = excluded.node_id, holder = excluded.holder,"
                " expires_at = excluded.expires_at WHERE connection_slots.expires_at < %s",
                (grant_id, slot, node_id, holder, until, now)).rowcount
            if taken:
                return slot
        return None

    def release_connection_slot(self, grant_id: str, slot: int, holder: str) -> None:
        self._exec("DELETE FROM connection_slots WHERE grant_id = %s AND slot = %s AND holder = %s",
                   (grant_id, slot, holder))

    def renew_connection_slots(self, node_id: str, until: float) -> int:
        return self._exec("UPDATE connection_slots SET expires_at = %s WHERE node_id = %s",
                          (until, node_id)).rowcount

    def drop_node_slots(self, node_id: str) -> int:
        return self._exec("DELETE FROM connection_slots WHERE node_id = %s",
                          (node_id,)).rowcount
