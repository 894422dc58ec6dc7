"""`PostgresStore`: the backend for several daemons sharing one database.

Threads: one writer thread owns the write connection (see writer.py); reads run on trio
worker threads, each on a connection from a psycopg pool, under a CapacityLimiter. Each
read runs in one REPEATABLE READ, read-only transaction, so every query a read makes sees
the same snapshot; readers never wait for the writer, and the trio loop itself never
talks to the server. A listener thread (see notify.py) hears commits made by other
processes, so commit listeners learn about every event appended to the database.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Final, TypeVar

import psycopg
import psycopg_pool
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
from tidings.store.postgres import reads
from tidings.store.postgres.access import AccessReads
from tidings.store.postgres.connection import Conn, connect, migrate
from tidings.store.postgres.counts import count_folders_by_sync_state, count_grants_by_state
from tidings.store.postgres.hosted_auth import get_hosted_session
from tidings.store.postgres.leases import LeaseReads
from tidings.store.postgres.listing import list_messages, list_threads
from tidings.store.postgres.notify import LogListener, log_channel
from tidings.store.postgres.write_tx import PostgresWriteTx
from tidings.store.postgres.writer import WriteJob, Writer
from tidings.store.queries import MessageQuery, Page, ThreadQuery
from tidings.store.write_tx import WriteTx

__all__ = ["PostgresStore"]

T = TypeVar("T")
R = TypeVar("R")

READERS: Final = 4
CONNECT_TIMEOUT: Final = 30.0

log = structlog.get_logger(__name__)


def _found(kind: str, object_id: str, value: R | None) -> R:
    if value is None:
        raise NotFound(kind, object_id)
    return value


def _configure_reader(conn: Conn) -> None:
    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ


class PostgresStore(AccessReads, LeaseReads, Store):
    """A store in the PostgreSQL database named by `dsn` (a libpq URL or key=value string;
    a `?options=-csearch_path%3D...` parameter selects the schema)."""

    def __init__(self, dsn: str, key: bytes, *, readers: int = READERS) -> None:
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"not a usable PostgreSQL connection string: {exc}") from exc
        self._dsn = dsn
        self._cipher = CredentialCipher(key)
        self._reader_count = readers
        self._pool: psycopg_pool.ConnectionPool[Conn] | None = None
        self._read_limiter = trio.CapacityLimiter(readers)
        self._writer: Writer | None = None
        self._log_listener: LogListener | None = None
        self._listeners: list[CommitListener] = []
        self._reported = 0  # the highest position commit listeners were given

    def __repr__(self) -> str:
        # The DSN may hold a password: show only where the database is.
        info = psycopg.conninfo.conninfo_to_dict(self._dsn)
        return f"PostgresStore(host={info.get('host')!r}, dbname={info.get('dbname')!r})"

    # -- lifecycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        if self._writer is not None:
            raise StoreError("the store is already open")
        token = trio.lowlevel.current_trio_token()
        conn = await trio.to_thread.run_sync(self._open_writer)
        try:
            channel = await trio.to_thread.run_sync(log_channel, conn)
            listener = LogListener(self._dsn, channel, token, self._notify_listeners)
            await trio.to_thread.run_sync(listener.start)
        except BaseException:
            conn.close()
            raise
        try:
            self._pool = await trio.to_thread.run_sync(self._open_pool)
        except BaseException:
            conn.close()
            listener.stop()
            await trio.to_thread.run_sync(listener.join)
            raise
        self._log_listener = listener
        tx = PostgresWriteTx(conn, self._cipher)
        self._writer = Writer(self._dsn, tx, conn, token, self._resolve, channel=channel)
        self._writer.start()

    def _open_writer(self) -> Conn:
        conn = connect(self._dsn, application_name="tidings-writer")
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_pool(self) -> psycopg_pool.ConnectionPool[Conn]:
        pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self._reader_count,
            kwargs={"application_name": "tidings-reader"},
            configure=_configure_reader,
            open=False,
            name="tidings-readers",
        )
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except psycopg_pool.PoolTimeout as exc:
            pool.close()
            raise StoreError(f"cannot connect to PostgreSQL within {CONNECT_TIMEOUT:g} s") from exc
        return pool

    async def aclose(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.stop()
        listener, self._log_listener = self._log_listener, None
        if listener is not None:
            listener.stop()
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(writer.join)
            if listener is not None:
                await trio.to_thread.run_sync(listener.join)
            # Every read has returned its connection once all the limiter's tokens are ours.
            borrowers = [object() for _ in range(self._reader_count)]
            for borrower in borrowers:
                await self._read_limiter.acquire_on_behalf_of(borrower)
            pool, self._pool = self._pool, None
            if pool is not None:
                await trio.to_thread.run_sync(pool.close)
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
            self._notify_listeners(last_position)

    def _notify_listeners(self, last_position: int) -> None:
        # This store's own commits are heard twice (from the writer and, as a
        # notification, from the server), and a commit elsewhere can be heard before an
        # earlier local one: listeners are told only when the log has grown.
        if last_position <= self._reported:
            return
        self._reported = last_position
        for listener in self._listeners:
            try:
                listener(last_position)
            except Exception:
                # Raising here would crash the trio run (this is a run_sync_soon
                # callback); one broken listener must not stop the others.
                log.exception("store.commit_listener_failed", listener=repr(listener))

    # -- reads --------------------------------------------------------------------------------
    async def _read(self, fn: Callable[[Conn], R]) -> R:
        pool = self._pool
        if self._writer is None or pool is None:
            raise StoreClosed("the store is closed")
        async with self._read_limiter:
            return await trio.to_thread.run_sync(_snapshot, pool, fn)

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



def _snapshot(pool: psycopg_pool.ConnectionPool[Conn], fn: Callable[[Conn], R]) -> R:
    """Run `fn` in one read transaction (the pool commits it when `fn` returns).

    A pooled connection can have died while idle (the server restarted): the pool drops
    it when it comes back broken, and the read, which changed nothing, runs once more on
    another connection.
    """
    for attempt in (1, 2):
        used: Conn | None = None
        try:
            with pool.connection(timeout=CONNECT_TIMEOUT) as conn:
                used = conn
                return fn(conn)
        except psycopg.OperationalError as exc:
            if attempt == 1 and used is not None and used.broken:
                continue
            raise StoreError(f"database error: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"database error: {exc}") from exc
        except psycopg_pool.PoolTimeout as exc:
            raise StoreError(f"no database connection within {CONNECT_TIMEOUT:g} s") from exc
    raise AssertionError("unreachable: the second attempt returns or raises")
