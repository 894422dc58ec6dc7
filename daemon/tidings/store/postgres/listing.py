"""List queries for messages and threads: keyset pagination on (date, id), newest first.

Pagination never uses OFFSET: the page token holds the last row's (date, id) and the next
page starts strictly below it, so rows inserted meanwhile cause neither gaps nor repeats.
"""

# ruff: noqa: S608 -- only column lists, table names and `%s` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

from typing import Any, Final

from tidings.domain import Message, Thread
from tidings.store.page_token import decode_page_token, encode_page_token
from tidings.store.postgres.connection import Conn
from tidings.store.postgres.reads import load_messages
from tidings.store.queries import MessageQuery, Page, ThreadQuery
from tidings.store.sqlite.rows import (
    THREAD_COLUMNS,
    listed_message_columns,
    thread_from_row,
)

__all__ = ["list_messages", "list_threads"]


class _Where:
    """Collects SQL conditions with their parameters, in order."""

    __slots__ = ("clauses", "params")

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self) -> str:
        return " AND ".join(self.clauses)


def _flag(where: _Where, column: str, wanted: bool | None) -> None:
    # A literal 0/1, not a parameter, so PostgreSQL can use the partial indexes on `= 1`.
    if wanted is not None:
        where.add(f"{column} = {int(wanted)}")


def _address_filters(query: MessageQuery | ThreadQuery) -> list[tuple[str | None, tuple[str, ...]]]:
    return [
        (None, query.any_email),
        ("from", query.from_),
        ("to", query.to),
        ("cc", query.cc),
        ("bcc", query.bcc),
    ]


# Past this many matching address rows, walking messages newest first and checking each
# fills a page sooner than collecting every match from the address index and sorting it
# (the account's own address is on nearly every message).
_SELECTIVE_ADDRESS_ROWS: Final = 500


def _address_clause(
    conn: Conn, grant_id: str, role: str | None, emails: tuple[str, ...]
) -> tuple[bool, str, list[Any]]:
    """A condition on `m.id`: the message has one of `emails` (in `role`, if given).

    Returns (selective, SQL, params): a selective condition is an IN over the address
    index that the query can be driven from; otherwise an EXISTS probe per message.
    """
    lowered = sorted({email.strip().lower() for email in emails})
    matching = "a.email = ANY(%s)"
    params: list[Any] = [lowered]
    if role is not None:
        matching += " AND a.role = %s"
        params.append(role)
    row = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM message_addresses a"
        f" WHERE a.grant_id = %s AND {matching} LIMIT %s) AS matches",
        [grant_id, *params, _SELECTIVE_ADDRESS_ROWS + 1],
    ).fetchone()
    count = row[0] if row else 0
    if count <= _SELECTIVE_ADDRESS_ROWS:
        sql = (
            "m.id IN (SELECT a.message_id FROM message_addresses a"
            f" WHERE a.grant_id = %s AND {matching})"
        )
        return True, sql, [grant_id, *params]
    sql = f"EXISTS (SELECT 1 FROM message_addresses a WHERE a.message_id = m.id AND {matching})"
    return False, sql, params


# The trigram index (pg_trgm) serves LIKE patterns with at least three characters.
_TRIGRAM: Final = 3
# Past this many messages with the flag, walking a folder newest first and testing each
# message fills a page sooner than collecting the flagged ones and sorting them.
_SELECTIVE_ROWS: Final = 500
# The flags that have a partial index on `= 1` (schema migration 2).
_INDEXED_FLAGS: Final = ("unread", "starred", "has_attachments")


def _subject_clause(alias: str, text: str) -> tuple[str, str]:
    """A condition on `alias` and its parameter: the case-folded subject contains `text`,
    case-folded.

    LIKE with the text's wildcards escaped is the same test as strpos(), and the trigram
    index serves it; shorter texts have no trigram, and strpos() keeps the planner from a
    scan of the whole index.
    """
    folded = text.casefold()
    if len(folded) < _TRIGRAM:
        return f"strpos({alias}.subject_search, %s) > 0", folded
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{alias}.subject_search LIKE %s ESCAPE '\\'", f"%{escaped}%"


def _few_flagged(conn: Conn, grant_id: str, column: str) -> bool:
    """Whether few of the grant's messages have the flag: its partial index is short."""
    row = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM messages WHERE grant_id = %s AND {column} = 1"
        " LIMIT %s) AS flagged",
        [grant_id, _SELECTIVE_ROWS + 1],
    ).fetchone()
    return row is not None and row[0] <= _SELECTIVE_ROWS


def list_messages(conn: Conn, grant_id: str, query: MessageQuery) -> Page[Message]:
    where = _Where()
    where.add("m.grant_id = %s", grant_id)
    if query.subject:
        where.add(*_subject_clause("m", query.subject))
    # Whether some condition holds for fewer messages than a folder has: then the query
    # starts from those messages (and probes their folders) instead of walking the folder.
    selective = query.thread_id is not None or bool(query.ids) or bool(query.thread_ids)
    for role, emails in _address_filters(query):
        if emails:
            narrow, clause, params = _address_clause(conn, grant_id, role, emails)
            selective = selective or narrow
            where.add(clause, *params)
    for column, wanted in zip(
        _INDEXED_FLAGS, (query.unread, query.starred, query.has_attachment), strict=True
    ):
        _flag(where, f"m.{column}", wanted)
        if wanted and query.folder_id is not None and not selective:
            selective = _few_flagged(conn, grant_id, column)
    if query.received_before is not None:
        where.add("m.date < %s", query.received_before)
    if query.received_after is not None:
        where.add("m.date > %s", query.received_after)
    if query.thread_id is not None:
        where.add("m.thread_id = %s", query.thread_id)
    if query.ids:
        where.add("m.id = ANY(%s)", list(query.ids))
    if query.thread_ids:
        where.add("m.thread_id = ANY(%s)", list(query.thread_ids))
    after = decode_page_token(query.page_token) if query.page_token is not None else None
    # First the page's ids, reading only index entries and the leading columns of each
    # row; then the whole rows (with the bodies, when wanted) for just those ids.
    if selective and query.folder_id is not None:
        # The few messages with that address are fewer than the folder's: start from them.
        where.add(
            "EXISTS (SELECT 1 FROM locations l WHERE l.message_id = m.id AND l.folder_id = %s)",
            query.folder_id,
        )
    if query.folder_id is None or selective:
        if after is not None:
            where.add("(m.date, m.id) < (%s, %s)", *after)
        sql = (
            f"SELECT m.id FROM messages m WHERE {where.sql()}"
            " ORDER BY m.date DESC, m.id DESC LIMIT %s"
        )
        params = [*where.params, query.limit + 1]
    else:
        # Walk the folder's (date, message) index in order. DISTINCT: two copies of one
        # message in a folder are one row.
        if after is not None:
            where.add("(l.date, l.message_id) < (%s, %s)", *after)
        sql = (
            "SELECT DISTINCT l.date, l.message_id FROM locations l"
            f" JOIN messages m ON m.id = l.message_id WHERE l.folder_id = %s AND {where.sql()}"
            " ORDER BY l.date DESC, l.message_id DESC LIMIT %s"
        )
        params = [query.folder_id, *where.params, query.limit + 1]
    ids = [row[-1] for row in conn.execute(sql, params)]
    more = len(ids) > query.limit
    ids = ids[: query.limit]
    columns, source = listed_message_columns(bodies=query.bodies, headers=query.headers)
    rows = conn.execute(f"SELECT {columns} FROM {source} WHERE m.id = ANY(%s)", (ids,)).fetchall()
    by_id = {row[0]: row for row in rows}
    messages = load_messages(conn, [by_id[message_id] for message_id in ids])
    token = encode_page_token(messages[-1].date, messages[-1].id) if more else None
    return Page(tuple(messages), token)


def list_threads(conn: Conn, grant_id: str, query: ThreadQuery) -> Page[Thread]:
    where = _Where()
    where.add("t.grant_id = %s", grant_id)
    if query.subject:
        where.add(*_subject_clause("t", query.subject))
    # A thread matches when one of its messages does.
    for role, emails in _address_filters(query):
        if emails:
            selective, clause, params = _address_clause(conn, grant_id, role, emails)
            if selective:
                where.add(f"t.id IN (SELECT m.thread_id FROM messages m WHERE {clause})", *params)
            else:
                where.add(
                    f"EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND {clause})",
                    *params,
                )
    if query.folder_id is not None:
        where.add(
            "t.id IN (SELECT m.thread_id FROM locations l JOIN messages m ON m.id = l.message_id"
            " WHERE l.folder_id = %s)",
            query.folder_id,
        )
    _flag(where, "t.unread", query.unread)
    _flag(where, "t.starred", query.starred)
    _flag(where, "t.has_attachments", query.has_attachment)
    if query.latest_message_before is not None:
        where.add("t.latest_message_date < %s", query.latest_message_before)
    if query.latest_message_after is not None:
        where.add("t.latest_message_date > %s", query.latest_message_after)
    if query.page_token is not None:
        date, last_id = decode_page_token(query.page_token)
        where.add("(t.latest_message_date, t.id) < (%s, %s)", date, last_id)
    rows = conn.execute(
        f"SELECT {THREAD_COLUMNS} FROM threads t WHERE {where.sql()}"
        " ORDER BY t.latest_message_date DESC, t.id DESC LIMIT %s",
        [*where.params, query.limit + 1],
    ).fetchall()
    threads = [thread_from_row(row) for row in rows[: query.limit]]
    more = len(rows) > query.limit
    token = encode_page_token(threads[-1].latest_message_date, threads[-1].id) if more else None
    return Page(tuple(threads), token)
