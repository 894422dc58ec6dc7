"""The writer thread: it owns the write connection and commits write functions in batches.

Callers queue functions; the thread takes every function waiting (up to a cap), runs each
in its own SAVEPOINT inside one transaction, commits once, then resolves the callers in
the trio thread. A function that raises rolls back to its savepoint: only its own work is
lost, and its caller gets the exception. One fsync then covers the whole batch.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
import trio

from tidings.store.errors import Conflict, StoreError
from tidings.store.sqlite.write_tx import SqliteWriteTx
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
    """sqlite3 errors become store errors; a caller's own exceptions pass unchanged."""
    if isinstance(exc, sqlite3.IntegrityError):
        translated: BaseException = Conflict(str(exc))
    elif isinstance(exc, sqlite3.Error):
        translated = StoreError(f"database error: {exc}")
    else:
        return exc
    translated.__cause__ = exc
    return translated


class Writer:
    """Runs on its own thread; `on_done(batch, last_position)` is called in the trio thread."""

    def __init__(
        self,
        tx: SqliteWriteTx,
        conn: sqlite3.Connection,
        token: trio.lowlevel.TrioToken,
        on_done: Callable[[list[WriteJob], int | None], None],
    ) -> None:
        self._tx = tx
        self._conn = conn
        self._token = token
        self._on_done = on_done
        self._queue: queue.SimpleQueue[WriteJob | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tidings-store-writer", daemon=True)

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
        try:
            self._conn.execute("PRAGMA optimize")
        finally:
            self._conn.close()

    def _run_batch(self, batch: list[WriteJob]) -> int | None:
        conn, tx = self._conn, self._tx
        last_position: int | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                conn.execute("SAVEPOINT job")
                tx.begin_job()
                try:
                    job.result = job.fn(tx)
                    position = tx.end_job()
                except BaseException as exc:  # the caller gets it, whatever it is
                    tx.abort_job()
                    job.error = _translate(exc)
                    conn.execute("ROLLBACK TO job")
                else:
                    if position is not None:
                        last_position = position
                conn.execute("RELEASE job")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # The transaction itself failed (disk full, I/O error): nothing of the batch
            # was kept, so every caller that had succeeded learns it now.
            log.error("store.commit_failed", error=str(exc), jobs=len(batch))
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("store.rollback_failed")
            failure = StoreError(f"commit failed: {exc}")
            failure.__cause__ = exc
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, failure
            return None
        return last_position
