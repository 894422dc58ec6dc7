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
    MESSAGE_COLUMNS,
    MESSAGE_SOURCE,
    THREAD_COLUMNS,
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


def list_messages(conn: Conn, grant_id: str, query: MessageQuery) -> Page[Message]:
    where = _Where()
    where.add("m.grant_id = %s", grant_id)
    if query.subject:
        where.add("strpos(m.subject_search, %s) > 0", query.subject.casefold())
    by_address = False
    for role, emails in _address_filters(query):
        if emails:
            selective, clause, params = _address_clause(conn, grant_id, role, emails)
            by_address = by_address or selective
            where.add(clause, *params)
    _flag(where, "m.unread", query.unread)
    _flag(where, "m.starred", query.starred)
    _flag(where, "m.has_attachments", query.has_attachment)
    if query.received_before is not None:
        where.add("m.date < %s", query.received_before)
    if query.received_after is not None:
        where.add("m.date > %s", query.received_after)
    if query.thread_id is not None:
        where.add("m.thread_id = %s", query.thread_id)
    after = decode_page_token(query.page_token) if query.page_token is not None else None
    # First the page's ids, reading only index entries and the leading columns of each
    # row; then the whole rows (bodies included) for just those ids.
    if by_address and query.folder_id is not None:
        # The few messages with that address are fewer than the folder's: start from them.
        where.add(
            "EXISTS (SELECT 1 FROM locations l WHERE l.message_id = m.id AND l.folder_id = %s)",
            query.folder_id,
        )
    if query.folder_id is None or by_address:
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
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_SOURCE} WHERE m.id = ANY(%s)",
        (ids,),
    ).fetchall()
    by_id = {row[0]: row for row in rows}
    messages = load_messages(conn, [by_id[message_id] for message_id in ids])
    token = encode_page_token(messages[-1].date, messages[-1].id) if more else None
    return Page(tuple(messages), token)


def list_threads(conn: Conn, grant_id: str, query: ThreadQuery) -> Page[Thread]:
    where = _Where()
    where.add("t.grant_id = %s", grant_id)
    if query.subject:
        where.add("strpos(t.subject_search, %s) > 0", query.subject.casefold())
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
