"""Write operations on connectors, grants, credentials, folders and the event log."""

# ruff: noqa: S608 -- only column lists, table names and `?` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

import time
from typing import Any

from tidings.domain import (
    Connector,
    Credentials,
    Folder,
    Grant,
    GrantState,
    NewEvent,
    SyncProgress,
    new_id,
)
from tidings.store.errors import Conflict, NotFound
from tidings.store.queries import KEEP, Keep
from tidings.store.sqlite import reads
from tidings.store.sqlite.rows import (
    CONNECTOR_COLUMNS,
    FOLDER_COLUMNS,
    GRANT_COLUMNS,
    connector_params,
    dumps,
    folder_params,
    grant_params,
    placeholders,
)
from tidings.store.sqlite.tx_base import TxBase

__all__ = ["AccountsTx"]


def _assignments(columns: str, skip: int) -> str:
    names = [name.strip() for name in columns.split(",")][skip:]
    return ", ".join(f"{name} = ?" for name in names)


class AccountsTx(TxBase):
    # -- connectors -------------------------------------------------------------------------
    def connector(self, connector_id: str) -> Connector | None:
        return reads.get_connector(self._conn, connector_id)

    def create_connector(self, connector: Connector) -> None:
        self._exec(
            f"INSERT INTO connectors ({CONNECTOR_COLUMNS}) VALUES ({placeholders(6)})",
            connector_params(connector),
        )

    def update_connector(self, connector: Connector) -> None:
        _id, name, provider, settings, _created, updated = connector_params(connector)
        cursor = self._exec(
            "UPDATE connectors SET name = ?, provider = ?, settings = ?, updated_at = ?"
            " WHERE id = ?",
            (name, provider, settings, updated, connector.id),
        )
        if cursor.rowcount == 0:
            raise NotFound("connector", connector.id)

    def delete_connector(self, connector_id: str) -> None:
        self._require("connectors", "connector", connector_id)
        if self._conn.execute(
            "SELECT 1 FROM grants WHERE connector_id = ? LIMIT 1", (connector_id,)
        ).fetchone():
            raise Conflict(f"connector {connector_id!r} still has grants; delete them first")
        self._exec("DELETE FROM connectors WHERE id = ?", (connector_id,))

    # -- grants -----------------------------------------------------------------------------
    def grant(self, grant_id: str) -> Grant | None:
        return reads.get_grant(self._conn, grant_id)

    def create_grant(self, grant: Grant) -> None:
        self._require("connectors", "connector", grant.connector_id)
        params = grant_params(grant)
        self._exec(
            f"INSERT INTO grants ({GRANT_COLUMNS}) VALUES ({placeholders(len(params))})",
            params,
        )

    def update_grant(self, grant: Grant) -> None:
        params = grant_params(grant)
        # Every column but id (first) and created_at (second to last) is replaced.
        assignments = _assignments(GRANT_COLUMNS.replace(" created_at,", ""), skip=1)
        values = [*params[1:-2], params[-1], grant.id]
        cursor = self._exec(f"UPDATE grants SET {assignments} WHERE id = ?", values)
        if cursor.rowcount == 0:
            raise NotFound("grant", grant.id)

    def delete_grant(self, grant_id: str) -> None:
        # Foreign keys cascade to credentials, folders, messages (and their rows) and
        # threads; events have no foreign key and stay.
        if self._exec("DELETE FROM grants WHERE id = ?", (grant_id,)).rowcount == 0:
            raise NotFound("grant", grant_id)

    def set_credentials(self, grant_id: str, credentials: Credentials) -> None:
        self._require("grants", "grant", grant_id)
        self._exec(
            "INSERT INTO credentials (grant_id, sealed) VALUES (?, ?)"
            " ON CONFLICT (grant_id) DO UPDATE SET sealed = excluded.sealed",
            (grant_id, self._cipher.seal(grant_id, credentials)),
        )

    def set_grant_state(self, grant_id: str, state: GrantState, reason: str | None) -> None:
        cursor = self._exec(
            "UPDATE grants SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?",
            (state.value, reason, time.time(), grant_id),
        )
        if cursor.rowcount == 0:
            raise NotFound("grant", grant_id)

    def set_grant_progress(self, grant_id: str, progress: SyncProgress) -> None:
        cursor = self._exec(
            "UPDATE grants SET folders_done = ?, folders_total = ?, messages_done = ?,"
            " messages_total = ? WHERE id = ?",
            (
                progress.folders_done,
                progress.folders_total,
                progress.messages_done,
                progress.messages_total,
                grant_id,
            ),
        )
        if cursor.rowcount == 0:
            raise NotFound("grant", grant_id)

    # -- folders ----------------------------------------------------------------------------
    def folder(self, folder_id: str) -> Folder | None:
        return reads.get_folder(self._conn, folder_id)

    def folders(self, grant_id: str) -> list[Folder]:
        return reads.list_folders(self._conn, grant_id)

    def upsert_folder(self, folder: Folder) -> None:
        self._require("grants", "grant", folder.grant_id)
        existing = self._conn.execute(
            "SELECT grant_id FROM folders WHERE id = ?", (folder.id,)
        ).fetchone()
        if existing is not None and existing[0] != folder.grant_id:
            raise Conflict(f"folder {folder.id!r} belongs to another grant")
        updates = ", ".join(
            f"{name} = excluded.{name}"
            for name in (n.strip() for n in FOLDER_COLUMNS.split(","))
            if name not in ("id", "grant_id")
        )
        self._exec(
            f"INSERT INTO folders ({FOLDER_COLUMNS}) VALUES ({placeholders(15)})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}",
            folder_params(folder),
        )

    def delete_folder(self, folder_id: str) -> list[str]:
        self._require("folders", "folder", folder_id)
        message_ids = [
            message_id
            for (message_id,) in self._conn.execute(
                "SELECT DISTINCT message_id FROM locations WHERE folder_id = ?", (folder_id,)
            )
        ]
        self._touch_threads_of(message_ids)
        self._exec("DELETE FROM folders WHERE id = ?", (folder_id,))
        return message_ids

    def set_folder_sync(
        self,
        folder_id: str,
        *,
        uidvalidity: int | Keep | None = KEEP,
        uidnext: int | Keep | None = KEEP,
        highestmodseq: int | Keep | None = KEEP,
        sync_state: str | Keep = KEEP,
        total_count: int | Keep = KEEP,
        unread_count: int | Keep = KEEP,
        uidvalidity_changes: int | Keep = KEEP,
        last_uidvalidity_check: float | Keep | None = KEEP,
    ) -> None:
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("uidvalidity", uidvalidity),
                ("uidnext", uidnext),
                ("highestmodseq", highestmodseq),
                ("sync_state", sync_state),
                ("total_count", total_count),
                ("unread_count", unread_count),
                ("uidvalidity_changes", uidvalidity_changes),
                ("last_uidvalidity_check", last_uidvalidity_check),
            )
            if value is not KEEP
        }
        if not changes:
            self._require("folders", "folder", folder_id)
            return
        assignments = ", ".join(f"{name} = ?" for name in changes)
        cursor = self._exec(
            f"UPDATE folders SET {assignments} WHERE id = ?", [*changes.values(), folder_id]
        )
        if cursor.rowcount == 0:
            raise NotFound("folder", folder_id)

    def folder_uid_map(self, folder_id: str) -> dict[int, tuple[str, tuple[str, ...]]]:
        return reads.folder_uid_map(self._conn, folder_id)

    # -- events -----------------------------------------------------------------------------
    def append_event(self, event: NewEvent) -> int:
        cursor = self._exec(
            "INSERT INTO events (id, grant_id, type, object_id, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                new_id(),
                event.grant_id,
                event.type.value,
                event.object_id,
                dumps(dict(event.payload)),
                time.time(),
            ),
        )
        position = cursor.lastrowid
        assert position is not None
        self._job_position = position
        return position

    def purge_events_before(self, time: float) -> int:
        row = self._conn.execute(
            "SELECT max(position) FROM events WHERE created_at < ?", (time,)
        ).fetchone()
        if row[0] is None:
            return 0
        # Delete a prefix of the log (even if the clock went backwards at some point), so
        # "everything up to the purge mark is gone" stays exact for cursor checks.
        through = max(int(row[0]), reads.purged_through(self._conn))
        deleted = self._exec("DELETE FROM events WHERE position <= ?", (through,)).rowcount
        self._exec(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (reads.PURGED_THROUGH, str(through)),
        )
        return deleted
