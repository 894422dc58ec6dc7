"""Which store back end a test run uses, and fresh PostgreSQL databases for it.

The run chooses with `pytest --store=sqlite|postgresql` (or the `TIDINGS_TEST_STORE`
environment variable, which also reaches subprocesses); SQLite is the default. On SQLite a
test's store is a file in its temporary directory; on PostgreSQL it is a database of its
own on the session's private server, copied from a template that already has every
migration applied. Measured on the 2-core machine: about 0.09 s to copy and 0.03 s to
drop a database, against about 0.19 s to migrate a fresh schema and 0.33 s to migrate a
fresh database.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Final, Literal

import psycopg
from psycopg import sql

from tests.support.postgres import PostgresServer
from tidings.store.postgres.connection import migrate

__all__ = [
    "BACKENDS",
    "STORE_ENV",
    "Backend",
    "PostgresDatabases",
    "backend_from_env",
    "is_postgres_url",
    "query_scalar",
]

Backend = Literal["sqlite", "postgresql"]
BACKENDS: Final[tuple[Backend, ...]] = ("sqlite", "postgresql")
STORE_ENV: Final = "TIDINGS_TEST_STORE"
TEMPLATE: Final = "tidings_template"


def backend_from_env() -> Backend:
    """The back end named by `TIDINGS_TEST_STORE`, SQLite when unset."""
    value = os.environ.get(STORE_ENV, "sqlite").strip().lower() or "sqlite"
    if value not in BACKENDS:
        raise ValueError(f"{STORE_ENV}={value!r}: expected one of {', '.join(BACKENDS)}")
    return value


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class PostgresDatabases:
    """Databases made from one migrated template on a private server, one per test."""

    def __init__(self, server: PostgresServer) -> None:
        self._server = server
        self._names = itertools.count(1)
        with server.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE)))
        server.create_database(TEMPLATE)
        with psycopg.connect(server.dsn(TEMPLATE), autocommit=True) as conn:
            migrate(conn)

    def create(self) -> tuple[str, str]:
        """A fresh database with the current schema; returns its name and DSN.

        The template must have no open connection while it is copied, which holds: only
        `__init__` ever connects to it. FILE_COPY copies the template's files after a
        checkpoint, which is cheap on a server without fsync; the default (WAL_LOG) writes
        every block to the WAL and measured about twice as slow here.
        """
        name = f"test_{next(self._names)}"
        with self._server.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)))
        return name, self._server.dsn(name)

    def drop(self, name: str) -> None:
        """Drop a database, ending whatever connections a test left open to it."""
        self._server.drop_database(name)


def query_scalar(target: str, query: str, params: Sequence[str | int] = ()) -> int | None:
    """The first column of the first row of a query on a store's database, read on a
    connection of its own (a SQLite file path or a PostgreSQL URL); `?` placeholders.

    For tests that watch a store written by another process. None when the query fails
    because the schema is not there yet.
    """
    if is_postgres_url(target):
        with psycopg.connect(target, autocommit=True) as conn:
            try:
                row = conn.execute(query.replace("?", "%s"), tuple(params)).fetchone()
            except psycopg.errors.UndefinedTable:
                return None
    else:
        with closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=5)) as lite:
            try:
                row = lite.execute(query, tuple(params)).fetchone()
            except sqlite3.OperationalError:
                return None
    return None if row is None else int(row[0])
