"""State shared by the parts of the SQLite write transaction."""

# ruff: noqa: S608 -- only column lists, table names and `?` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from tidings.store.errors import Conflict, NotFound
from tidings.store.keys import CredentialCipher
from tidings.store.sqlite.thread_rollup import refresh_threads

__all__ = ["TxBase"]

# Well under SQLite's default SQLITE_MAX_VARIABLE_NUMBER (32,766 since 3.32).
_MAX_VARIABLES = 30_000


class TxBase:
    """Runs statements on the writer connection and tracks what one write function touched.

    The writer calls `begin_job` before each write function and `end_job` (or `abort_job`
    when it raised) after: thread summaries are recomputed once per function, inside its
    savepoint, so a rolled-back function leaves no trace.
    """

    def __init__(self, conn: sqlite3.Connection, cipher: CredentialCipher) -> None:
        self._conn = conn
        self._cipher = cipher
        self._dirty_threads: set[str] = set()
        self._job_position: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def begin_job(self) -> None:
        self._dirty_threads.clear()
        self._job_position = None

    def end_job(self) -> int | None:
        """Finish the function's work; returns the last event position it appended."""
        if self._dirty_threads:
            refresh_threads(self._conn, sorted(self._dirty_threads))
        self._dirty_threads.clear()
        return self._job_position

    def abort_job(self) -> None:
        self._dirty_threads.clear()
        self._job_position = None

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    def _exec_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    def _insert_rows(self, head: str, rows: Sequence[Sequence[Any]]) -> None:
        """`head` (an INSERT up to VALUES) for every row, as few statements as the
        variable limit allows: each statement is one step on the writer thread, and every
        step gives the GIL away and waits to take it back."""
        if not rows:
            return
        width = len(rows[0])
        per_statement = max(1, _MAX_VARIABLES // width)
        one = "(" + ",".join("?" * width) + ")"
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            self._exec(
                f"{head} {','.join([one] * len(chunk))}",
                [value for row in chunk for value in row],
            )

    def _require(self, table: str, kind: str, object_id: str) -> None:
        if (
            self._conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (object_id,)).fetchone()
            is None
        ):
            raise NotFound(kind, object_id)

    def _touch_threads(self, thread_ids: Iterable[str]) -> None:
        self._dirty_threads.update(thread_ids)

    def _touch_threads_of(self, message_ids: Sequence[str]) -> None:
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            rows = self._conn.execute(
                "SELECT DISTINCT thread_id FROM messages"
                f" WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            self._dirty_threads.update(thread_id for (thread_id,) in rows)
