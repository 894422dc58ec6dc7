"""Fixtures for store tests: every test that takes `store` (or `store_target`) runs once on
SQLite, in the test's temporary directory, and once on PostgreSQL, in a fresh schema of a
private server shared by the whole session."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from tests.store.builders import opened_store
from tests.support.postgres import PostgresError, PostgresServer, running_postgres
from tidings.store import Store

BACKENDS = ("sqlite", "postgresql")
TEST_DATABASE = "tidings_tests"
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL for the whole run, with a database the tests share; each
    test gets its own schema in it (much quicker than a database per test)."""
    try:
        with running_postgres() as server:
            server.create_database(TEST_DATABASE)
            yield server
    except PostgresError as exc:
        pytest.fail(f"{exc} (.ci/run installs the postgresql package)")


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A DSN whose search_path is a new, empty schema; the schema is dropped afterwards."""
    schema = f"test_{next(_schemas)}"
    with psycopg.connect(postgres_server.dsn(TEST_DATABASE), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    options = quote(f"-csearch_path={schema}")
    yield f"{postgres_server.dsn(TEST_DATABASE)}?options={options}"
    with psycopg.connect(postgres_server.dsn(TEST_DATABASE), autocommit=True) as conn:
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
