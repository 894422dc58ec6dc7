"""Shared fixtures: hypothesis profiles, the private Dovecot, and the store back end.

Every fixture that needs a store or a daemon's store setting takes `store_url` (or
`store`, or `daemon_store`): the run's `--store` switch decides whether that is a SQLite
file in the test's temporary directory or a fresh database on a private PostgreSQL.
Tests that are about SQLite files themselves carry `@pytest.mark.sqlite_only(reason)`
and are skipped, with that reason, on a PostgreSQL run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest
from hypothesis import HealthCheck, settings

from tests.support.dovecot import Dovecot, dovecot_available
from tests.support.postgres import PostgresError, PostgresServer, running_postgres
from tests.support.smtpserver import smtp_server  # noqa: F401  (a shared fixture)
from tests.support.store_backend import (
    BACKENDS,
    STORE_ENV,
    Backend,
    PostgresDatabases,
    backend_from_env,
)
from tidings.log import configure_logging
from tidings.store import Store, open_store

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
configure_logging(os.environ.get("TIDINGS_TEST_LOG_LEVEL", "warning"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store", choices=BACKENDS, default=None,
        help=f"the store back end for every test that makes a store or a daemon"
             f" (default: ${STORE_ENV}, else sqlite)")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    chosen = config.getoption("--store")
    backend = backend_from_env() if chosen is None else cast(Backend, chosen)
    # Subprocesses that tests start (daemons, sync processes) read the same switch.
    os.environ[STORE_ENV] = backend
    config.stash[_BACKEND_KEY] = backend


_BACKEND_KEY = pytest.StashKey[Backend]()


def pytest_report_header(config: pytest.Config) -> str:
    return f"tidings store: {config.stash[_BACKEND_KEY]}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[_BACKEND_KEY] != "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is None:
            continue
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: sqlite_only needs a reason")
        item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session")
def store_backend(pytestconfig: pytest.Config) -> Backend:
    """The back end this run tests: "sqlite" or "postgresql"."""
    return pytestconfig.stash[_BACKEND_KEY]


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot for the whole run; tests isolate themselves with fresh users."""
    if not dovecot_available():
        pytest.fail("dovecot is not installed: run .ci/run (it installs dovecot-imapd)")
    # Not under pytest's tmp_path: that tree is mode 0700 and Dovecot's mail processes
    # run as nobody.
    root = Path(tempfile.mkdtemp(prefix="tidings-dovecot-"))
    os.chmod(root, 0o755)
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> tuple[str, str]:
    """A fresh, empty mailbox user on the shared Dovecot."""
    return dovecot.add_user()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL for the whole run (for each xdist worker: its own)."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresError as exc:
        pytest.fail(f"{exc} (.ci/run installs the postgresql package)")


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: PostgresServer) -> PostgresDatabases:
    """Fresh databases with the schema already in place, copied from one template."""
    return PostgresDatabases(postgres_server)


@pytest.fixture
def store_url(store_backend: Backend, tmp_path: Path,
              request: pytest.FixtureRequest) -> Iterator[str]:
    """Where this test's store lives: `tidings.db` in its temporary directory, or the URL
    of a new database of its own (dropped afterwards) on a PostgreSQL run."""
    if store_backend == "sqlite":
        yield str(tmp_path / "tidings.db")
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name, dsn = databases.create()
    try:
        yield dsn
    finally:
        databases.drop(name)


@pytest.fixture
def daemon_store(store_backend: Backend, store_url: str) -> str | None:
    """The `store` setting for a daemon's Config: None on SQLite, so the daemon keeps its
    default (`tidings.db` in its data directory); the test's database on PostgreSQL."""
    return None if store_backend == "sqlite" else store_url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open store of the run's back end, with a random credentials key."""
    async with open_store(store_url, os.urandom(32)) as opened:
        yield opened
