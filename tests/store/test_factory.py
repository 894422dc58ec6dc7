"""open_store: which URLs and paths it takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.builders import KEY
from tidings.store import SqliteStore, StoreError, open_store
from tidings.store.postgres import PostgresStore


def _names(directory: Path, pattern: str) -> set[str]:
    return {p.name for p in directory.glob(pattern)}


async def test_paths_and_sqlite_urls_open_a_sqlite_store(tmp_path: Path) -> None:
    for target in (tmp_path / "a.db", str(tmp_path / "b.db"), f"sqlite://{tmp_path}/c.db"):
        store = open_store(target, KEY)
        assert isinstance(store, SqliteStore)
        async with store:
            assert await store.list_grants() == []
    assert _names(tmp_path, "*.db") == {"a.db", "b.db", "c.db"}


async def test_postgresql_urls_open_a_postgres_store(postgres_dsn: str) -> None:
    for target in (postgres_dsn, postgres_dsn.replace("postgresql://", "postgres://", 1)):
        store = open_store(target, KEY)
        assert isinstance(store, PostgresStore)
        assert "password" not in repr(store)
        async with store:
            assert await store.list_grants() == []


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("postgresql://db/tidings?nosuch=1", "PostgreSQL"),
        ("mysql://db/tidings", "unsupported"),
        ("sqlite://relative.db", "absolute"),
        (":memory:", "file"),
    ],
)
def test_unusable_targets_are_refused(target: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(target, KEY)


def test_a_key_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="32 bytes"):
        open_store(tmp_path / "a.db", b"short")
