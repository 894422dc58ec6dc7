"""Fixtures for store tests: every test that takes `store` (or `store_target`) runs once on
SQLite, in the test's temporary directory, and once on PostgreSQL, in a fresh schema of
the private server shared by the whole session, whatever the run's `--store` switch says
(these tests are the back ends' own)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from tests.store.builders import opened_store
from tests.support.postgres import PostgresServer
from tidings.store import Store

BACKENDS = ("sqlite", "postgresql")
TEST_DATABASE = "tidings_tests"
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def schema_database(postgres_server: PostgresServer) -> str:
    """A database on the session's private PostgreSQL that store tests share; each test
    gets its own empty schema in it, so migrations run from scratch every time.

    tests/cluster imports this fixture, which makes it a second session fixture on the
    same server: whichever comes second finds the database there already.
    """
    with postgres_server.admin() as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (TEST_DATABASE,)).fetchone()
    if found:
        return postgres_server.dsn(TEST_DATABASE)
    return postgres_server.create_database(TEST_DATABASE)


@pytest.fixture
def postgres_dsn(schema_database: str) -> Iterator[str]:
    """A DSN whose search_path is a new, empty schema; the schema is dropped afterwards."""
    schema = f"test_{next(_schemas)}"
    with psycopg.connect(schema_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    options = quote(f"-csearch_path={schema}")
    yield f"{schema_database}?options={options}"
    with psycopg.connect(schema_database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=BACKENDS)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives: a SQLite file path or a PostgreSQL DSN."""
    if request.param == "postgresql":
        dsn: str = request.getfixturevalue("postgres_dsn")
        return dsn
    return str(tmp_path / "tidings.db")


@pytest.fixture
async def store(store_target: str) -> AsyncIterator[Store]:
    async with opened_store(store_target) as opened:
        yield opened
