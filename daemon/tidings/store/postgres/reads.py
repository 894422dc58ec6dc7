"""Queries that read, given a connection: used by the reader pool and inside writes.

Lists of ids are bound as one array parameter (`= ANY(%s)`), so a statement's text does not
depend on how many there are."""

# ruff: noqa: S608 -- only column lists, table names and `%s` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

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
from tidings.store.postgres.connection import Conn
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


def get_connector(conn: Conn, connector_id: str) -> Connector | None:
    row = conn.execute(
        f"SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE id = %s", (connector_id,)
    ).fetchone()
    return connector_from_row(row) if row else None


def list_connectors(conn: Conn) -> list[Connector]:
    rows = conn.execute(f"SELECT {CONNECTOR_COLUMNS} FROM connectors ORDER BY created_at, id")
    return [connector_from_row(row) for row in rows]


def get_grant(conn: Conn, grant_id: str) -> Grant | None:
    row = conn.execute(f"SELECT {GRANT_COLUMNS} FROM grants WHERE id = %s", (grant_id,)).fetchone()
    return grant_from_row(row) if row else None


def list_grants(conn: Conn, connector_id: str | None) -> list[Grant]:
    if connector_id is None:
        rows = conn.execute(f"SELECT {GRANT_COLUMNS} FROM grants ORDER BY created_at, id")
    else:
        rows = conn.execute(
            f"SELECT {GRANT_COLUMNS} FROM grants WHERE connector_id = %s ORDER BY created_at, id",
            (connector_id,),
        )
    return [grant_from_row(row) for row in rows]


def get_sealed_credentials(conn: Conn, grant_id: str) -> bytes | None:
    row = conn.execute("SELECT sealed FROM credentials WHERE grant_id = %s", (grant_id,)).fetchone()
    return bytes(row[0]) if row else None


def get_folder(conn: Conn, folder_id: str) -> Folder | None:
    row = conn.execute(
        f"SELECT {FOLDER_COLUMNS} FROM folders WHERE id = %s", (folder_id,)
    ).fetchone()
    return folder_from_row(row) if row else None


def list_folders(conn: Conn, grant_id: str) -> list[Folder]:
    rows = conn.execute(
        f"SELECT {FOLDER_COLUMNS} FROM folders WHERE grant_id = %s ORDER BY name", (grant_id,)
    )
    return [folder_from_row(row) for row in rows]


def folder_uid_map(
    conn: Conn, folder_id: str
) -> dict[int, tuple[str, tuple[str, ...]]]:
    decode = FlagDecoder()
    rows = conn.execute(
        "SELECT uid, message_id, flags FROM locations WHERE folder_id = %s AND uid IS NOT NULL",
        (folder_id,),
    )
    return {uid: (message_id, decode(flags)) for uid, message_id, flags in rows}


def load_messages(conn: Conn, rows: Sequence[Sequence[Any]]) -> list[Message]:
    """Messages from rows of MESSAGE_COLUMNS, with their locations and attachments."""
    if not rows:
        return []
    ids = [row[0] for row in rows]
    locations: defaultdict[str, list[Location]] = defaultdict(list)
    for message_id, folder_id, uid in conn.execute(
        "SELECT message_id, folder_id, uid FROM locations WHERE message_id = ANY(%s)"
        " ORDER BY id",
        (ids,),
    ):
        locations[message_id].append(Location(folder_id, uid))
    attachments: defaultdict[str, list[Attachment]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id = ANY(%s)"
        " ORDER BY message_id, ordinal",
        (ids,),
    ):
        attachments[row[1]].append(attachment_from_row(row))
    decode = FlagDecoder()
    return [
        message_from_row(row, tuple(locations[row[0]]), tuple(attachments[row[0]]), decode)
        for row in rows
    ]


def get_message(conn: Conn, message_id: str) -> Message | None:
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_SOURCE} WHERE m.id = %s", (message_id,)
    ).fetchone()
    return load_messages(conn, [row])[0] if row else None


def get_thread(conn: Conn, thread_id: str) -> Thread | None:
    row = conn.execute(
        f"SELECT {THREAD_COLUMNS} FROM threads t WHERE t.id = %s", (thread_id,)
    ).fetchone()
    return thread_from_row(row) if row else None


# -- the event log ------------------------------------------------------------------------


def read_events(
    conn: Conn,
    after: int,
    limit: int,
    *,
    grant_ids: AbstractSet[str] | None,
    types: AbstractSet[EventType] | None,
    through: int | None,
) -> list[Event]:
    clauses = ["position > %s"]
    params: list[Any] = [after]
    if through is not None:
        clauses.append("position <= %s")
        params.append(through)
    if grant_ids is not None:
        clauses.append("grant_id = ANY(%s)")
        params.append(sorted(grant_ids))
    if types is not None:
        clauses.append("type = ANY(%s)")
        params.append(sorted(t.value for t in types))
    params.append(limit)
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)}"
        " ORDER BY position LIMIT %s",
        params,
    )
    return [event_from_row(row) for row in rows]


def purged_through(conn: Conn) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (PURGED_THROUGH,)).fetchone()
    return int(row[0]) if row else 0


def first_position(conn: Conn) -> int:
    # Events are purged oldest first, so the first retained one follows the last purged.
    return purged_through(conn) + 1


def last_position(conn: Conn) -> int:
    row = conn.execute("SELECT max(position) FROM events").fetchone()
    return max(row[0] if row and row[0] is not None else 0, purged_through(conn))


def position_at(conn: Conn, time: float) -> int:
    row = conn.execute(
        "SELECT position FROM events WHERE created_at >= %s ORDER BY created_at LIMIT 1", (time,)
    ).fetchone()
    if row is None:
        return last_position(conn)
    return int(row[0]) - 1
