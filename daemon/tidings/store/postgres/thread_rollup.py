"""Recomputing a thread's summary row from its messages."""

from __future__ import annotations

from tidings.store.postgres.connection import Conn
from tidings.store.sqlite.thread_rollup import UPSERT_COLUMNS, UPSERT_TAIL, thread_summary

__all__ = ["refresh_thread"]


def refresh_thread(conn: Conn, thread_id: str) -> None:
    """Rewrite the thread's row from its messages, or delete it when none is left."""
    rows = conn.execute(
        "SELECT id, grant_id, subject, addresses, date, unread, starred, has_attachments,"
        " snippet FROM messages WHERE thread_id = %s ORDER BY date, id",
        (thread_id,),
    ).fetchall()
    if not rows:
        conn.execute("DELETE FROM threads WHERE id = %s", (thread_id,))
        return
    folder_ids = [
        folder_id
        for (folder_id,) in conn.execute(
            "SELECT DISTINCT l.folder_id FROM locations l JOIN messages m ON m.id = l.message_id"
            " WHERE m.thread_id = %s ORDER BY l.folder_id",
            (thread_id,),
        )
    ]
    conn.execute(
        f"{UPSERT_COLUMNS} VALUES ({', '.join(['%s'] * 13)}){UPSERT_TAIL}",
        thread_summary(thread_id, rows, folder_ids),
    )
