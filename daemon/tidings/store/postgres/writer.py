"""The writer thread: it owns the store's write connection and commits write functions in
batches, as the SQLite writer does.

Callers queue functions; the thread takes every function waiting (up to a cap), runs each
in its own SAVEPOINT inside one transaction, commits once, then resolves the callers in
the trio thread. A function that raises rolls back to its savepoint: only its own work is
lost, and its caller gets the exception. One commit round trip (and one WAL flush on the
server) then covers the whole batch.

A connection found dead when a batch begins (the server restarted while the store was
idle) is replaced and the batch runs on the new one; one lost while a batch runs fails
that batch, and the next batch connects again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
import structlog
import trio

from tidings.store.errors import Conflict, StoreError
from tidings.store.postgres.connection import Conn, connect
from tidings.store.postgres.write_tx import PostgresWriteTx
from tidings.store.write_tx import WriteTx

__all__ = ["MAX_BATCH", "WriteJob", "Writer"]

MAX_BATCH: Final = 256

log = structlog.get_logger(__name__)


@dataclass(slots=True, eq=False)
class WriteJob:
    fn: Callable[[WriteTx], Any]
    done: trio.Event = field(default_factory=trio.Event)
    result: Any = None
    error: BaseException | None = None


def _translate(exc: BaseException) -> BaseException:
    """psycopg errors become store errors; a caller's own exceptions pass unchanged."""
    if isinstance(exc, psycopg.errors.IntegrityError):
        translated: BaseException = Conflict(str(exc))
    elif isinstance(exc, psycopg.Error):
        translated = StoreError(f"database error: {exc}")
    else:
        return exc
    translated.__cause__ = exc
    return translated


DEADLOCK_RETRIES: Final = 3


def _deadlocked(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.errors.DeadlockDetected):
            return True
        seen = seen.__cause__
    return False


class Writer:
    """Runs on its own thread; `on_done(batch, last_position)` is called in the trio thread."""

    def __init__(
        self,
        dsn: str,
        tx: PostgresWriteTx,
        conn: Conn,
        token: trio.lowlevel.TrioToken,
        on_done: Callable[[list[WriteJob], int | None], None],
        *,
        channel: str,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._tx = tx
        self._conn = conn
        self._token = token
        self._on_done = on_done
        self._queue: queue.SimpleQueue[WriteJob | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name="tidings-store-pg-writer", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: WriteJob) -> None:
        self._queue.put(job)

    def stop(self) -> None:
        """Finish the jobs already queued, then close the connection and end the thread."""
        self._queue.put(None)

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            last_position = self._run_batch(batch)
            try:
                self._token.run_sync_soon(self._on_done, batch, last_position)
            except trio.RunFinishedError:
                log.warning("store.writer.orphaned", jobs=len(batch))
        self._conn.close()

    def _reconnect(self) -> Conn:
        self._conn.close()
        self._conn = connect(self._dsn, application_name="tidings-writer")
        self._tx.rebind(self._conn)
        log.info("store.writer.reconnected")
        return self._conn

    def _begin(self) -> Conn:
        """BEGIN on a live connection. Nothing of the batch has run yet, so a connection
        that turns out to be dead is replaced and BEGIN tried once more."""
        conn = self._conn
        if conn.closed or conn.broken:
            conn = self._reconnect()
        try:
            conn.execute("BEGIN")
        except psycopg.OperationalError:
            if not conn.broken:
                raise
            conn = self._reconnect()
            conn.execute("BEGIN")
        return conn

    def _run_batch(self, batch: list[WriteJob]) -> int | None:
        last_position: int | None = None
        try:
            conn = self._begin()
            tx = self._tx
            tx.begin_transaction()
            for job in batch:
                position = self._run_job(conn, job)
                if position is not None:
                    last_position = position
            if last_position is not None:
                # Delivered to every listening node when, and only if, this commits.
                conn.execute("SELECT pg_notify(%s, %s)", (self._channel, str(last_position)))
            conn.execute("COMMIT")
        except (psycopg.Error, StoreError) as exc:
            # The transaction itself failed (connection lost, server shutting down): nothing
            # of the batch was kept, so every caller that had succeeded learns it now. A
            # connection lost during COMMIT leaves the outcome unknown: the callers are told
            # it failed, though the server may have kept it.
            log.error("store.commit_failed", error=str(exc), jobs=len(batch))
            self._rollback()
            failure = StoreError(f"commit failed: {exc}")
            failure.__cause__ = exc
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, failure
            return None
        return last_position

    def _run_job(self, conn: Conn, job: WriteJob) -> int | None:
        """Run one write function in its own savepoint; returns the last position it
        appended. A deadlock with another node's transaction (one holds rows and waits
        for the event log lock, the other the reverse) rolls the function back, which
        frees its locks so the other can finish, and runs it again."""
        tx = self._tx
        for attempt in range(DEADLOCK_RETRIES + 1):
            conn.execute("SAVEPOINT job")
            tx.begin_job()
            try:
                job.result = job.fn(tx)
                position = tx.end_job()
            except BaseException as exc:  # the caller gets it, whatever it is
                tx.abort_job()
                conn.execute("ROLLBACK TO SAVEPOINT job")
                conn.execute("RELEASE SAVEPOINT job")
                if _deadlocked(exc) and attempt < DEADLOCK_RETRIES:
                    log.info("store.deadlock_retried", attempt=attempt + 1)
                    continue
                job.error = _translate(exc)
                return None
            conn.execute("RELEASE SAVEPOINT job")
            return position
        return None

    def _rollback(self) -> None:
        conn = self._conn
        if conn.closed or conn.broken:
            return
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                log.exception("store.rollback_failed")
