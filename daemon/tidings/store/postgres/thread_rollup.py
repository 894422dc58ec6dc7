"""Recomputing a thread's summary row from its messages."""

from __future__ import annotations

from tidings.domain import EmailAddress
from tidings.store.postgres.connection import Conn
from tidings.store.sqlite.rows import addresses_from_json, dumps

__all__ = ["refresh_thread"]

_PARTICIPANT_ROLES = ("from", "to", "cc", "bcc")


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
    participants: dict[str, EmailAddress] = {}
    for row in rows:
        roles = addresses_from_json(row[3])
        for role in _PARTICIPANT_ROLES:
            for address in roles.get(role, ()):
                participants.setdefault(address.email.lower(), address)
    folder_ids = [
        folder_id
        for (folder_id,) in conn.execute(
            "SELECT DISTINCT l.folder_id FROM locations l JOIN messages m ON m.id = l.message_id"
            " WHERE m.thread_id = %s ORDER BY l.folder_id",
            (thread_id,),
        )
    ]
    first, last = rows[0], rows[-1]
    conn.execute(
        "INSERT INTO threads (id, grant_id, subject, subject_search, participants, message_ids,"
        " folder_ids, unread, starred, has_attachments, earliest_message_date,"
        " latest_message_date, snippet) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET grant_id = excluded.grant_id,"
        " subject = excluded.subject, subject_search = excluded.subject_search,"
        " participants = excluded.participants, message_ids = excluded.message_ids,"
        " folder_ids = excluded.folder_ids, unread = excluded.unread,"
        " starred = excluded.starred, has_attachments = excluded.has_attachments,"
        " earliest_message_date = excluded.earliest_message_date,"
        " latest_message_date = excluded.latest_message_date, snippet = excluded.snippet",
        (
            thread_id,
            first[1],
            first[2],
            first[2].casefold(),
            dumps([[a.name, a.email] for a in participants.values()]),
            dumps([row[0] for row in rows]),
            dumps(folder_ids),
            int(any(row[5] for row in rows)),
            int(any(row[6] for row in rows)),
            int(any(row[7] for row in rows)),
            first[4],
            last[4],
            last[8],
        ),
    )
