"""Hearing about events that other processes append: LISTEN/NOTIFY on the log's channel.

Every transaction that appends events sends `pg_notify(channel, last position)` before it
commits; PostgreSQL delivers a notification only when its transaction commits, in commit
order. Each store listens on its own connection, on a thread that sleeps in select() until
the server sends something or the store closes, and passes each position to the trio
thread. So subscribers on every node are woken by commits made anywhere, with no polling.

A notification can be lost while the listening connection is down; after connecting
again the listener reports the log's last position, which covers whatever it missed.
"""

from __future__ import annotations

import os
import selectors
import threading
from collections.abc import Callable
from typing import Final

import psycopg
import structlog
import trio
from psycopg import sql

from tidings.store.errors import StoreError
from tidings.store.postgres import reads
from tidings.store.postgres.connection import Conn, connect

__all__ = ["LogListener", "log_channel"]

RECONNECT_DELAYS: Final = (0.1, 0.5, 1.0, 2.0, 5.0)

log = structlog.get_logger(__name__)


def log_channel(conn: Conn) -> str:
    """The NOTIFY channel of the log in the connection's schema: schemas that share a
    database each have their own log, so each gets its own channel."""
    row = conn.execute(
        "SELECT 'tidings_events_' || oid::text FROM pg_namespace WHERE nspname = current_schema()"
    ).fetchone()
    if row is None:
        raise psycopg.OperationalError("the connection has no current schema")
    return str(row[0])


class LogListener:
    """Calls `on_position(position)` in the trio thread for every log notification."""

    def __init__(
        self,
        dsn: str,
        channel: str,
        token: trio.lowlevel.TrioToken,
        on_position: Callable[[int], None],
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._token = token
        self._on_position = on_position
        self._conn: Conn | None = None
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(
            target=self._run, name="tidings-store-pg-listener", daemon=True
        )

    def start(self) -> None:
        """Listen (blocking: call it from a worker thread), then follow on the thread."""
        self._conn = self._listen()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        os.write(self._wake_write, b"x")

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)

    def _listen(self) -> Conn:
        conn = connect(self._dsn, application_name="tidings-listener")
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                if self._conn is None:
                    self._conn = self._listen()
                    # Whatever was committed while nobody listened is covered by this.
                    self._deliver(reads.last_position(self._conn))
                failures = 0
                self._follow(self._conn)
            except (psycopg.Error, StoreError) as exc:  # connect() wraps its failures
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("store.listener.disconnected", error=str(exc), retry_in=delay)
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                self._wait_for_wake(delay)
        if self._conn is not None:
            self._conn.close()

    def _follow(self, conn: Conn) -> None:
        """Deliver notifications until the store closes; raises when the connection dies."""
        with selectors.DefaultSelector() as selector:
            selector.register(conn.fileno(), selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping.is_set():
                selector.select()
                latest = 0
                for notify in conn.notifies(timeout=0):
                    if notify.payload.isdigit():
                        latest = max(latest, int(notify.payload))
                if conn.broken:
                    raise psycopg.OperationalError("the listening connection was lost")
                if latest:
                    self._deliver(latest)

    def _wait_for_wake(self, timeout: float) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_read, selectors.EVENT_READ)
            selector.select(timeout)

    def _deliver(self, position: int) -> None:
        try:
            self._token.run_sync_soon(self._on_position, position)
        except trio.RunFinishedError:
            self._stopping.set()
