"""State shared by the parts of the PostgreSQL write transaction."""

# ruff: noqa: S608 -- only column lists, table names and `%s` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from tidings.store.errors import Conflict, NotFound
from tidings.store.keys import CredentialCipher
from tidings.store.postgres.connection import Conn, lock_event_log
from tidings.store.postgres.thread_rollup import refresh_thread

__all__ = ["TxBase"]

Cursor = psycopg.Cursor[tuple[Any, ...]]


class TxBase:
    """Runs statements on the writer connection and tracks what one write function touched.

    The writer calls `begin_job` before each write function and `end_job` (or `abort_job`
    when it raised) after: thread summaries are recomputed once per function, inside its
    savepoint, so a rolled-back function leaves no trace.

    A statement that fails (a `Conflict`) leaves PostgreSQL's transaction unusable until
    the writer rolls back to the function's savepoint: the function should let the error
    propagate, as every write function does.
    """

    def __init__(self, conn: Conn, cipher: CredentialCipher) -> None:
        self._conn = conn
        self._cipher = cipher
        self._dirty_threads: set[str] = set()
        self._job_position: int | None = None
        self._log_locked = False
        self._log_locked_by_job = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def rebind(self, conn: Conn) -> None:
        """Use a new connection (the writer reconnected after losing the old one)."""
        self._conn = conn

    def begin_transaction(self) -> None:
        self._log_locked = False

    def begin_job(self) -> None:
        self._dirty_threads.clear()
        self._job_position = None
        self._log_locked_by_job = False

    def end_job(self) -> int | None:
        """Finish the function's work; returns the last event position it appended."""
        for thread_id in sorted(self._dirty_threads):
            refresh_thread(self._conn, thread_id)
        self._dirty_threads.clear()
        return self._job_position

    def abort_job(self) -> None:
        self._dirty_threads.clear()
        self._job_position = None
        if self._log_locked_by_job:
            # Rolling back to the savepoint released a lock taken after it.
            self._log_locked = False

    def _lock_log(self) -> None:
        """Take the event log lock once per transaction (see `lock_event_log`)."""
        if not self._log_locked:
            lock_event_log(self._conn)
            self._log_locked = True
            self._log_locked_by_job = True

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        try:
            return self._conn.execute(sql, params)
        except psycopg.errors.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    def _exec_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(sql, rows)
        except psycopg.errors.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    def _require(self, table: str, kind: str, object_id: str) -> None:
        if (
            self._conn.execute(f"SELECT 1 FROM {table} WHERE id = %s", (object_id,)).fetchone()
            is None
        ):
            raise NotFound(kind, object_id)

    def _touch_threads(self, thread_ids: Iterable[str]) -> None:
        self._dirty_threads.update(thread_ids)

    def _touch_threads_of(self, message_ids: Sequence[str]) -> None:
        if not message_ids:
            return
        rows = self._conn.execute(
            "SELECT DISTINCT thread_id FROM messages WHERE id = ANY(%s)", (list(message_ids),)
        )
        self._dirty_threads.update(thread_id for (thread_id,) in rows)
