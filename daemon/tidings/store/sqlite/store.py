"""`SqliteStore`: the embedded default backend.

Threads: one writer thread owns the only write connection (see writer.py); reads run on
trio worker threads, each with a read-only connection from a small pool, under a
CapacityLimiter. In WAL mode readers see the last committed snapshot and never wait for
the writer, and the trio loop itself never touches SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Final, TypeVar

import structlog
import trio

from tidings.domain import (
    Connector,
    Credentials,
    Event,
    EventType,
    Folder,
    Grant,
    Message,
    Thread,
)
from tidings.store.errors import NotFound, StoreClosed, StoreError
from tidings.store.hosted_auth import HostedSession
from tidings.store.interface import CommitListener, Store
from tidings.store.keys import CredentialCipher
from tidings.store.queries import MessageQuery, Page, ThreadQuery
from tidings.store.sqlite import reads
from tidings.store.sqlite.access import AccessReads
from tidings.store.sqlite.connection import connect_reader, connect_writer, migrate
from tidings.store.sqlite.counts import count_folders_by_sync_state, count_grants_by_state
from tidings.store.sqlite.hosted_auth import get_hosted_session
from tidings.store.sqlite.leases import LeaseReads
from tidings.store.sqlite.listing import list_messages, list_threads
from tidings.store.sqlite.write_tx import SqliteWriteTx
from tidings.store.sqlite.writer import WriteJob, Writer
from tidings.store.write_tx import WriteTx

__all__ = ["SqliteStore"]

T = TypeVar("T")
R = TypeVar("R")

READERS: Final = 4

log = structlog.get_logger(__name__)


def _found(kind: str, object_id: str, value: R | None) -> R:
    if value is None:
        raise NotFound(kind, object_id)
    return value


class SqliteStore(AccessReads, LeaseReads, Store):
    def __init__(self, path: str | Path, key: bytes, *, readers: int = READERS) -> None:
        self._path = Path(path)
        self._cipher = CredentialCipher(key)
        self._reader_count = readers
        self._readers: list[sqlite3.Connection] = []
        self._read_limiter = trio.CapacityLimiter(readers)
        self._writer: Writer | None = None
        self._listeners: list[CommitListener] = []

    def __repr__(self) -> str:
        return f"SqliteStore({str(self._path)!r})"

    # -- lifecycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        if self._writer is not None:
            raise StoreError("the store is already open")
        token = trio.lowlevel.current_trio_token()
        conn = await trio.to_thread.run_sync(self._open_writer)
        try:
            self._readers = await trio.to_thread.run_sync(self._open_readers)
        except BaseException:
            conn.close()
            raise
        self._writer = Writer(SqliteWriteTx(conn, self._cipher), conn, token, self._resolve)
        self._writer.start()

    def _open_writer(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect_writer(self._path)
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_readers(self) -> list[sqlite3.Connection]:
        return [connect_reader(self._path) for _ in range(self._reader_count)]

    async def aclose(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.stop()
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(writer.join)
            # Every reader connection is idle once all the limiter's tokens are ours.
            borrowers = [object() for _ in range(self._reader_count)]
            for borrower in borrowers:
                await self._read_limiter.acquire_on_behalf_of(borrower)
            readers, self._readers = self._readers, []
            for conn in readers:
                conn.close()
            for borrower in borrowers:
                self._read_limiter.release_on_behalf_of(borrower)

    # -- writes -------------------------------------------------------------------------------
    async def write(self, fn: Callable[[WriteTx], T]) -> T:
        if self._writer is None:
            raise StoreClosed("the store is closed")
        job = WriteJob(fn)
        self._writer.submit(job)
        with trio.CancelScope(shield=True):
            await job.done.wait()
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def _resolve(self, batch: list[WriteJob], last_position: int | None) -> None:
        for job in batch:
            job.done.set()
        if last_position is not None:
            for listener in self._listeners:
                try:
                    listener(last_position)
                except Exception:
                    # Raising here would crash the trio run (this is a run_sync_soon
                    # callback); one broken listener must not stop the others.
                    log.exception("store.commit_listener_failed", listener=repr(listener))

    # -- reads --------------------------------------------------------------------------------
    async def _read(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        if self._writer is None:
            raise StoreClosed("the store is closed")
        async with self._read_limiter:
            conn = self._readers.pop()
            try:
                return await trio.to_thread.run_sync(_snapshot, conn, fn)
            finally:
                self._readers.append(conn)

    async def get_connector(self, connector_id: str) -> Connector:
        found = await self._read(lambda c: reads.get_connector(c, connector_id))
        return _found("connector", connector_id, found)

    async def list_connectors(self) -> list[Connector]:
        return await self._read(reads.list_connectors)

    async def get_grant(self, grant_id: str) -> Grant:
        return _found("grant", grant_id, await self._read(lambda c: reads.get_grant(c, grant_id)))

    async def list_grants(self, connector_id: str | None = None) -> list[Grant]:
        return await self._read(lambda c: reads.list_grants(c, connector_id))

    async def get_credentials(self, grant_id: str) -> Credentials:
        # Opened on the reading thread: decrypting a few dozen octets takes microseconds,
        # far less than a second trip to a worker thread.
        return await self._read(lambda c: self._cipher.open(grant_id, _found(
            "credentials of grant", grant_id, reads.get_sealed_credentials(c, grant_id))))

    async def list_folders(self, grant_id: str) -> list[Folder]:
        return await self._read(lambda c: reads.list_folders(c, grant_id))

    async def get_folder(self, folder_id: str) -> Folder:
        found = await self._read(lambda c: reads.get_folder(c, folder_id))
        return _found("folder", folder_id, found)

    async def folder_uid_map(self, folder_id: str) -> dict[int, tuple[str, tuple[str, ...]]]:
        return await self._read(lambda c: reads.folder_uid_map(c, folder_id))

    async def get_message(self, message_id: str) -> Message:
        found = await self._read(lambda c: reads.get_message(c, message_id))
        return _found("message", message_id, found)

    async def list_messages(self, grant_id: str, query: MessageQuery) -> Page[Message]:
        return await self._read(lambda c: list_messages(c, grant_id, query))

    async def get_thread(self, thread_id: str) -> Thread:
        found = await self._read(lambda c: reads.get_thread(c, thread_id))
        return _found("thread", thread_id, found)

    async def list_threads(self, grant_id: str, query: ThreadQuery) -> Page[Thread]:
        return await self._read(lambda c: list_threads(c, grant_id, query))

    async def read_events(
        self,
        after: int,
        limit: int,
        grant_ids: AbstractSet[str] | None = None,
        types: AbstractSet[EventType] | None = None,
        *,
        through: int | None = None,
    ) -> list[Event]:
        return await self._read(
            lambda c: reads.read_events(
                c, after, limit, grant_ids=grant_ids, types=types, through=through
            )
        )

    async def first_position(self) -> int:
        return await self._read(reads.first_position)

    async def last_position(self) -> int:
        return await self._read(reads.last_position)

    async def position_at(self, time: float) -> int:
        return await self._read(lambda c: reads.position_at(c, time))

    async def get_hosted_session(self, id_hash: str) -> HostedSession:
        found = await self._read(lambda c: get_hosted_session(c, id_hash))
        return _found("sign-in session", id_hash, found)

    async def count_grants_by_state(self) -> dict[str, int]:
        return await self._read(count_grants_by_state)

    async def count_folders_by_sync_state(self) -> dict[str, int]:
        return await self._read(count_folders_by_sync_state)


def _snapshot(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], R]) -> R:
    """Run `fn` in one read transaction, so every query it makes sees the same snapshot."""
    try:
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise StoreError(f"database error: {exc}") from exc
