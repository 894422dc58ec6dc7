"""Queries that read, given a connection: used by the reader pool and inside writes."""

# ruff: noqa: S608 -- only column lists, table names and `?` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Final

from tidings.domain import (
    Attachment,
    Connector,
    Event,
    EventType,
    Folder,
    Grant,
    Location,
    Message,
    Thread,
)
from tidings.store.sqlite.rows import (
    ATTACHMENT_COLUMNS,
    CONNECTOR_COLUMNS,
    EVENT_COLUMNS,
    FOLDER_COLUMNS,
    GRANT_COLUMNS,
    MESSAGE_COLUMNS,
    MESSAGE_SOURCE,
    THREAD_COLUMNS,
    FlagDecoder,
    attachment_from_row,
    connector_from_row,
    event_from_row,
    folder_from_row,
    grant_from_row,
    message_from_row,
    placeholders,
    thread_from_row,
)

__all__ = [
    "PURGED_THROUGH",
    "first_position",
    "folder_uid_map",
    "get_connector",
    "get_folder",
    "get_grant",
    "get_message",
    "get_sealed_credentials",
    "get_thread",
    "last_position",
    "list_connectors",
    "list_folders",
    "list_grants",
    "load_messages",
    "position_at",
    "purged_through",
    "read_events",
]

PURGED_THROUGH: Final = "events_purged_through"  # meta key: the last position purged


def get_connector(conn: sqlite3.Connection, connector_id: str) -> Connector | None:
    row = conn.execute(
        f"SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE id = ?", (connector_id,)
    ).fetchone()
    return connector_from_row(row) if row else None


def list_connectors(conn: sqlite3.Connection) -> list[Connector]:
    rows = conn.execute(f"SELECT {CONNECTOR_COLUMNS} FROM connectors ORDER BY created_at, id")
    return [connector_from_row(row) for row in rows]


def get_grant(conn: sqlite3.Connection, grant_id: str) -> Grant | None:
    row = conn.execute(f"SELECT {GRANT_COLUMNS} FROM grants WHERE id = ?", (grant_id,)).fetchone()
    return grant_from_row(row) if row else None


def list_grants(conn: sqlite3.Connection, connector_id: str | None) -> list[Grant]:
    if connector_id is None:
        rows = conn.execute(f"SELECT {GRANT_COLUMNS} FROM grants ORDER BY created_at, id")
    else:
        rows = conn.execute(
            f"SELECT {GRANT_COLUMNS} FROM grants WHERE connector_id = ? ORDER BY created_at, id",
            (connector_id,),
        )
    return [grant_from_row(row) for row in rows]


def get_sealed_credentials(conn: sqlite3.Connection, grant_id: str) -> bytes | None:
    row = conn.execute("SELECT sealed FROM credentials WHERE grant_id = ?", (grant_id,)).fetchone()
    return bytes(row[0]) if row else None


def get_folder(conn: sqlite3.Connection, folder_id: str) -> Folder | None:
    row = conn.execute(
        f"SELECT {FOLDER_COLUMNS} FROM folders WHERE id = ?", (folder_id,)
    ).fetchone()
    return folder_from_row(row) if row else None


def list_folders(conn: sqlite3.Connection, grant_id: str) -> list[Folder]:
    rows = conn.execute(
        f"SELECT {FOLDER_COLUMNS} FROM folders WHERE grant_id = ? ORDER BY name", (grant_id,)
    )
    return [folder_from_row(row) for row in rows]


def folder_uid_map(
    conn: sqlite3.Connection, folder_id: str
) -> dict[int, tuple[str, tuple[str, ...]]]:
    decode = FlagDecoder()
    rows = conn.execute(
        "SELECT uid, message_id, flags FROM locations WHERE folder_id = ? AND uid IS NOT NULL",
        (folder_id,),
    )
    return {uid: (message_id, decode(flags)) for uid, message_id, flags in rows}


def load_messages(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> list[Message]:
    """Messages from rows of MESSAGE_COLUMNS, with their locations and attachments."""
    if not rows:
        return []
    ids = [row[0] for row in rows]
    marks = placeholders(len(ids))
    locations: defaultdict[str, list[Location]] = defaultdict(list)
    for message_id, folder_id, uid in conn.execute(
        f"SELECT message_id, folder_id, uid FROM locations WHERE message_id IN ({marks})"
        " ORDER BY id",
        ids,
    ):
        locations[message_id].append(Location(folder_id, uid))
    attachments: defaultdict[str, list[Attachment]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id IN ({marks})"
        " ORDER BY message_id, ordinal",
        ids,
    ):
        attachments[row[1]].append(attachment_from_row(row))
    decode = FlagDecoder()
    return [
        message_from_row(row, tuple(locations[row[0]]), tuple(attachments[row[0]]), decode)
        for row in rows
    ]


def get_message(conn: sqlite3.Connection, message_id: str) -> Message | None:
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_SOURCE} WHERE m.id = ?", (message_id,)
    ).fetchone()
    return load_messages(conn, [row])[0] if row else None


def get_thread(conn: sqlite3.Connection, thread_id: str) -> Thread | None:
    row = conn.execute(
        f"SELECT {THREAD_COLUMNS} FROM threads t WHERE t.id = ?", (thread_id,)
    ).fetchone()
    return thread_from_row(row) if row else None


# -- the event log ------------------------------------------------------------------------


def read_events(
    conn: sqlite3.Connection,
    after: int,
    limit: int,
    *,
    grant_ids: AbstractSet[str] | None,
    types: AbstractSet[EventType] | None,
    through: int | None,
) -> list[Event]:
    clauses = ["position > ?"]
    params: list[Any] = [after]
    if through is not None:
        clauses.append("position <= ?")
        params.append(through)
    if grant_ids is not None:
        clauses.append(f"grant_id IN ({placeholders(len(grant_ids))})")
        params.extend(sorted(grant_ids))
    if types is not None:
        clauses.append(f"type IN ({placeholders(len(types))})")
        params.extend(sorted(t.value for t in types))
    params.append(limit)
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)}"
        " ORDER BY position LIMIT ?",
        params,
    )
    return [event_from_row(row) for row in rows]


def purged_through(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (PURGED_THROUGH,)).fetchone()
    return int(row[0]) if row else 0


def first_position(conn: sqlite3.Connection) -> int:
    # Events are purged oldest first, so the first retained one follows the last purged.
    return purged_through(conn) + 1


def last_position(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(position) FROM events").fetchone()
    return max(row[0] or 0, purged_through(conn))


def position_at(conn: sqlite3.Connection, time: float) -> int:
    row = conn.execute(
        "SELECT position FROM events WHERE created_at >= ? ORDER BY created_at LIMIT 1", (time,)
    ).fetchone()
    if row is None:
        return last_position(conn)
    return int(row[0]) - 1
