"""State shared by the parts of the SQLite write transaction."""

# ruff: noqa: S608 -- only column lists, table names and `?` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from tidings.store.errors import Conflict, NotFound
from tidings.store.keys import CredentialCipher
from tidings.store.sqlite.thread_rollup import refresh_thread

__all__ = ["TxBase"]


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
        for thread_id in sorted(self._dirty_threads):
            refresh_thread(self._conn, thread_id)
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
