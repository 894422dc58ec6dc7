"""Recomputing threads' summary rows from their messages.

A write marks the threads it touched and they are rewritten once, together, when the
write function ends: a sync batch of hundreds of messages rewrites its threads in a few
statements instead of three per thread.
"""

# ruff: noqa: S608 -- only `?` placeholders are put into the SQL text; every value is a
# bound parameter.

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from tidings.store.sqlite.rows import dumps

__all__ = ["UPSERT_COLUMNS", "UPSERT_TAIL", "refresh_threads", "thread_summary"]

_PARTICIPANT_ROLES = ("from", "to", "cc", "bcc")
# Threads per statement: well under SQLite's variable limit, and short IN lists.
_CHUNK: Final = 500
_COLUMNS: Final = 13
# The threads row `thread_summary` gives, and how an upsert replaces an existing one.
UPSERT_COLUMNS: Final = (
    "INSERT INTO threads (id, grant_id, subject, subject_search, participants, message_ids,"
    " folder_ids, unread, starred, has_attachments, earliest_message_date,"
    " latest_message_date, snippet)"
)
UPSERT_TAIL: Final = (
    " ON CONFLICT (id) DO UPDATE SET grant_id = excluded.grant_id,"
    " subject = excluded.subject, subject_search = excluded.subject_search,"
    " participants = excluded.participants, message_ids = excluded.message_ids,"
    " folder_ids = excluded.folder_ids, unread = excluded.unread,"
    " starred = excluded.starred, has_attachments = excluded.has_attachments,"
    " earliest_message_date = excluded.earliest_message_date,"
    " latest_message_date = excluded.latest_message_date, snippet = excluded.snippet"
)


def refresh_threads(conn: sqlite3.Connection, thread_ids: Sequence[str]) -> None:
    """Rewrite each thread's row from its messages; delete those with none left."""
    for start in range(0, len(thread_ids), _CHUNK):
        _refresh_chunk(conn, thread_ids[start : start + _CHUNK])


def _refresh_chunk(conn: sqlite3.Connection, thread_ids: Sequence[str]) -> None:
    marks = ",".join("?" * len(thread_ids))
    messages: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in conn.execute(
        "SELECT thread_id, id, grant_id, subject, addresses, date, unread, starred,"
        f" has_attachments, snippet FROM messages WHERE thread_id IN ({marks})"
        " ORDER BY thread_id, date, id",
        thread_ids,
    ):
        messages[row[0]].append(row)
    folders: defaultdict[str, list[str]] = defaultdict(list)
    for thread_id, folder_id in conn.execute(
        "SELECT DISTINCT m.thread_id, l.folder_id FROM locations l"
        f" JOIN messages m ON m.id = l.message_id WHERE m.thread_id IN ({marks})"
        " ORDER BY m.thread_id, l.folder_id",
        thread_ids,
    ):
        folders[thread_id].append(folder_id)
    gone = [thread_id for thread_id in thread_ids if thread_id not in messages]
    if gone:
        conn.execute(
            f"DELETE FROM threads WHERE id IN ({','.join('?' * len(gone))})", gone
        )
    rows = [thread_summary(thread_id, [row[1:] for row in rows], folders[thread_id])
            for thread_id, rows in messages.items()]
    if rows:
        one = "(" + ",".join("?" * _COLUMNS) + ")"
        conn.execute(
            f"{UPSERT_COLUMNS} VALUES {','.join([one] * len(rows))}{UPSERT_TAIL}",
            [value for row in rows for value in row],
        )


def thread_summary(thread_id: str, rows: Sequence[Sequence[Any]], folder_ids: Sequence[str]
                   ) -> tuple[Any, ...]:
    """The threads row (UPSERT_COLUMNS) for its messages `rows`, oldest first, each
    (id, grant_id, subject, addresses, date, unread, starred, has_attachments, snippet)."""
    participants: dict[str, list[str | None]] = {}  # lower-cased email → [name, email]
    for row in rows:
        roles = json.loads(row[3])
        for role in _PARTICIPANT_ROLES:
            for pair in roles.get(role, ()):
                participants.setdefault(pair[1].lower(), pair)
    first, last = rows[0], rows[-1]
    return (
        thread_id,
        first[1],
        first[2],
        first[2].casefold(),
        dumps(list(participants.values())),
        dumps([row[0] for row in rows]),
        dumps(list(folder_ids)),
        int(any(row[5] for row in rows)),
        int(any(row[6] for row in rows)),
        int(any(row[7] for row in rows)),
        first[4],
        last[4],
        last[8],
    )
