"""List queries for messages and threads: keyset pagination on (date, id), newest first.

Pagination never uses OFFSET: the page token holds the last row's (date, id) and the next
page starts strictly below it, so rows inserted meanwhile cause neither gaps nor repeats.
"""

# ruff: noqa: S608 -- only column lists, table names and `?` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

import sqlite3
from typing import Any, Final

from tidings.domain import Message, Thread
from tidings.store.page_token import decode_page_token, encode_page_token
from tidings.store.queries import MessageQuery, Page, ThreadQuery
from tidings.store.sqlite.reads import load_messages
from tidings.store.sqlite.rows import (
    THREAD_COLUMNS,
    listed_message_columns,
    placeholders,
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
    # A literal 0/1, not a parameter, so SQLite can use the partial indexes on `= 1`.
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
    conn: sqlite3.Connection, grant_id: str, role: str | None, emails: tuple[str, ...]
) -> tuple[bool, str, list[Any]]:
    """A condition on `m.id`: the message has one of `emails` (in `role`, if given).

    Returns (selective, SQL, params): a selective condition is an IN over the address
    index that the query can be driven from; otherwise an EXISTS probe per message.
    """
    lowered = sorted({email.strip().lower() for email in emails})
    matching = f"a.email IN ({placeholders(len(lowered))})"
    params: list[Any] = list(lowered)
    if role is not None:
        matching += " AND a.role = ?"
        params.append(role)
    count = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM message_addresses a"
        f" WHERE a.grant_id = ? AND {matching} LIMIT ?)",
        [grant_id, *params, _SELECTIVE_ADDRESS_ROWS + 1],
    ).fetchone()[0]
    if count <= _SELECTIVE_ADDRESS_ROWS:
        sql = (
            "m.id IN (SELECT a.message_id FROM message_addresses a"
            f" WHERE a.grant_id = ? AND {matching})"
        )
        return True, sql, [grant_id, *params]
    sql = f"EXISTS (SELECT 1 FROM message_addresses a WHERE a.message_id = m.id AND {matching})"
    return False, sql, params


# The trigram index finds substrings of at least three characters (FTS5 trigram tokenizer).
_TRIGRAM: Final = 3
# Past this many rows holding the subject text or the flag, walking a folder newest first
# and testing each message fills a page sooner than collecting the matches and sorting them.
_SELECTIVE_ROWS: Final = 500
# The flags that have a partial index on `= 1` (schema migration 2).
_INDEXED_FLAGS: Final = ("unread", "starred", "has_attachments")


def _subject_phrase(conn: sqlite3.Connection, folded: str) -> str | None:
    """The FTS5 query for message_subjects that finds the subjects holding `folded`, when
    starting from it beats a walk in date order: the text is long enough to have trigrams
    and rare enough. None otherwise."""
    if len(folded) < _TRIGRAM:
        return None
    # An FTS5 string: the text between double quotes, inner quotes doubled. The trigram
    # tokenizer makes it a phrase of consecutive trigrams, that is, a substring.
    phrase = '"' + folded.replace('"', '""') + '"'
    count = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM message_subjects WHERE message_subjects MATCH ?"
        " LIMIT ?)",
        [phrase, _SELECTIVE_ROWS + 1],
    ).fetchone()[0]
    return phrase if count <= _SELECTIVE_ROWS else None


# The messages whose subjects the index finds; instr() then decides on every candidate.
_INDEXED = "SELECT rowid FROM message_subjects WHERE message_subjects MATCH ?"


def _message_subject(conn: sqlite3.Connection, text: str) -> tuple[bool, str, list[Any]]:
    """(selective, SQL, params): the message's case-folded subject contains `text`."""
    folded = text.casefold()
    exact = "instr(m.subject_search, ?) > 0"
    phrase = _subject_phrase(conn, folded)
    if phrase is None:
        return False, exact, [folded]
    return True, f"m.rowid IN ({_INDEXED}) AND {exact}", [phrase, folded]


def _thread_subject(conn: sqlite3.Connection, text: str) -> tuple[str, list[Any]]:
    """The thread's case-folded subject contains `text`. That subject is its earliest
    message's, so the threads of the messages the index finds include every match."""
    folded = text.casefold()
    exact = "instr(t.subject_search, ?) > 0"
    phrase = _subject_phrase(conn, folded)
    if phrase is None:
        return exact, [folded]
    return (
        f"t.id IN (SELECT s.thread_id FROM messages s WHERE s.rowid IN ({_INDEXED})) AND {exact}",
        [phrase, folded],
    )


def _few_flagged(conn: sqlite3.Connection, grant_id: str, column: str) -> bool:
    """Whether few of the grant's messages have the flag: its partial index is short."""
    count = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM messages WHERE grant_id = ? AND {column} = 1"
        " LIMIT ?)",
        [grant_id, _SELECTIVE_ROWS + 1],
    ).fetchone()[0]
    return bool(count <= _SELECTIVE_ROWS)


def list_messages(conn: sqlite3.Connection, grant_id: str, query: MessageQuery) -> Page[Message]:
    where = _Where()
    where.add("m.grant_id = ?", grant_id)
    # Whether some condition holds for fewer messages than a folder has: then the query
    # starts from those messages (and probes their folders) instead of walking the folder.
    selective = query.thread_id is not None or bool(query.ids) or bool(query.thread_ids)
    if query.subject:
        narrow, clause, params = _message_subject(conn, query.subject)
        selective = selective or narrow
        where.add(clause, *params)
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
        where.add("m.date < ?", query.received_before)
    if query.received_after is not None:
        where.add("m.date > ?", query.received_after)
    if query.thread_id is not None:
        where.add("m.thread_id = ?", query.thread_id)
    if query.ids:
        where.add(f"m.id IN ({placeholders(len(query.ids))})", *query.ids)
    if query.thread_ids:
        where.add(f"m.thread_id IN ({placeholders(len(query.thread_ids))})", *query.thread_ids)
    after = decode_page_token(query.page_token) if query.page_token is not None else None
    # First the page's ids, reading only index entries and the leading columns of each
    # row; then the whole rows (with the bodies, when wanted) for just those ids.
    if selective and query.folder_id is not None:
        # The few messages that pass are fewer than the folder's: start from them.
        where.add(
            "EXISTS (SELECT 1 FROM locations l WHERE l.message_id = m.id AND l.folder_id = ?)",
            query.folder_id,
        )
    if query.folder_id is None or selective:
        if after is not None:
            where.add("(m.date, m.id) < (?, ?)", *after)
        # Messages of given threads come from the thread index and are sorted after:
        # without statistics SQLite walks the grant's date index instead, reading every
        # message of the grant to find a page's threads (5.4 ms against 0.3 ms for the
        # Sent dates of a thread page on a mailbox of 5,000).
        source = ("messages m INDEXED BY messages_by_thread"
                  if query.thread_id is not None or query.thread_ids else "messages m")
        sql = (
            f"SELECT m.id FROM {source} WHERE {where.sql()}"
            " ORDER BY m.date DESC, m.id DESC LIMIT ?"
        )
        params = [*where.params, query.limit + 1]
    else:
        # Walk the folder's (date, message) index in order; CROSS JOIN keeps SQLite from
        # reordering the loops. DISTINCT: two copies of one message in a folder are one row.
        if after is not None:
            where.add("(l.date, l.message_id) < (?, ?)", *after)
        sql = (
            "SELECT DISTINCT l.date, l.message_id FROM locations l"
            f" CROSS JOIN messages m ON m.id = l.message_id WHERE l.folder_id = ? AND {where.sql()}"
            " ORDER BY l.date DESC, l.message_id DESC LIMIT ?"
        )
        params = [query.folder_id, *where.params, query.limit + 1]
    ids = [row[-1] for row in conn.execute(sql, params)]
    more = len(ids) > query.limit
    ids = ids[: query.limit]
    columns, source = listed_message_columns(bodies=query.bodies, headers=query.headers)
    rows = conn.execute(
        f"SELECT {columns} FROM {source} WHERE m.id IN ({placeholders(len(ids))})", ids
    ).fetchall()
    by_id = {row[0]: row for row in rows}
    messages = load_messages(conn, [by_id[message_id] for message_id in ids])
    token = encode_page_token(messages[-1].date, messages[-1].id) if more else None
    return Page(tuple(messages), token)


def list_threads(conn: sqlite3.Connection, grant_id: str, query: ThreadQuery) -> Page[Thread]:
    where = _Where()
    where.add("t.grant_id = ?", grant_id)
    if query.subject:
        clause, params = _thread_subject(conn, query.subject)
        where.add(clause, *params)
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
            " WHERE l.folder_id = ?)",
            query.folder_id,
        )
    _flag(where, "t.unread", query.unread)
    _flag(where, "t.starred", query.starred)
    _flag(where, "t.has_attachments", query.has_attachment)
    if query.latest_message_before is not None:
        where.add("t.latest_message_date < ?", query.latest_message_before)
    if query.latest_message_after is not None:
        where.add("t.latest_message_date > ?", query.latest_message_after)
    if query.page_token is not None:
        date, last_id = decode_page_token(query.page_token)
        where.add("(t.latest_message_date, t.id) < (?, ?)", date, last_id)
    rows = conn.execute(
        f"SELECT {THREAD_COLUMNS} FROM threads t WHERE {where.sql()}"
        " ORDER BY t.latest_message_date DESC, t.id DESC LIMIT ?",
        [*where.params, query.limit + 1],
    ).fetchall()
    threads = [thread_from_row(row) for row in rows[: query.limit]]
    more = len(rows) > query.limit
    token = encode_page_token(threads[-1].latest_message_date, threads[-1].id) if more else None
    return Page(tuple(threads), token)
