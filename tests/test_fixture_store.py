"""The store switch of the test run: `--store` / `TIDINGS_TEST_STORE`, the per-test store,
and the fresh PostgreSQL databases copied from the migrated template."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from tests.store.builders import connector
from tests.support.store_backend import (
    STORE_ENV,
    PostgresDatabases,
    backend_from_env,
    query_scalar,
)
from tidings.store import Store, open_store
from tidings.store.schema import LATEST_VERSION


def test_the_environment_names_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)
    assert backend_from_env() == "sqlite"
    monkeypatch.setenv(STORE_ENV, " PostgreSQL ")
    assert backend_from_env() == "postgresql"
    monkeypatch.setenv(STORE_ENV, "mysql")
    with pytest.raises(ValueError, match="TIDINGS_TEST_STORE='mysql'"):
        backend_from_env()


def test_subprocesses_inherit_the_runs_choice(store_backend: str) -> None:
    assert os.environ[STORE_ENV] == store_backend


def test_the_store_url_matches_the_backend(store_backend: str, store_url: str,
                                           tmp_path: Path) -> None:
    if store_backend == "sqlite":
        assert store_url == str(tmp_path / "tidings.db")
    else:
        assert store_url.startswith("postgresql://")


def test_the_daemon_keeps_its_default_store_on_sqlite(store_backend: str, store_url: str,
                                                      daemon_store: str | None) -> None:
    assert daemon_store == (None if store_backend == "sqlite" else store_url)


async def test_a_tests_store_starts_empty_and_takes_writes(store: Store) -> None:
    assert await store.list_connectors() == []
    made = connector()
    await store.write(lambda tx: tx.create_connector(made))
    assert [c.id for c in await store.list_connectors()] == [made.id]


async def test_databases_are_migrated_copies_and_independent(
        postgres_databases: PostgresDatabases) -> None:
    first_name, first = postgres_databases.create()
    second_name, second = postgres_databases.create()
    try:
        assert query_scalar(first, "SELECT version FROM schema_version") == LATEST_VERSION
        async with open_store(first, os.urandom(32)) as store:
            made = connector()
            await store.write(lambda tx: tx.create_connector(made))
        assert query_scalar(first, "SELECT count(*) FROM connectors WHERE id = ?",
                            [made.id]) == 1
        assert query_scalar(second, "SELECT count(*) FROM connectors") == 0
    finally:
        postgres_databases.drop(first_name)
        postgres_databases.drop(second_name)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(first).close()


async def test_query_scalar_reads_a_sqlite_file(tmp_path: Path) -> None:
    path = str(tmp_path / "tidings.db")
    async with open_store(path, os.urandom(32)) as store:
        made = connector()
        await store.write(lambda tx: tx.create_connector(made))
    assert query_scalar(path, "SELECT count(*) FROM connectors WHERE id = ?", [made.id]) == 1
    assert query_scalar(path, "SELECT count(*) FROM no_such_table") is None


def test_query_scalar_on_postgresql_before_the_schema(
        postgres_databases: PostgresDatabases) -> None:
    name, dsn = postgres_databases.create()
    try:
        assert query_scalar(dsn, "SELECT count(*) FROM no_such_table") is None
    finally:
        postgres_databases.drop(name)


@pytest.mark.sqlite_only("checks that the marker skips on a PostgreSQL run")
def test_sqlite_only_tests_run_only_on_sqlite(store_backend: str) -> None:
    assert store_backend == "sqlite"
