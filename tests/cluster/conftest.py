"""Fixtures for cluster tests: the store tests' private PostgreSQL (a fresh schema per
test), and a clock the tests move by hand, so that lease expiry needs no waiting."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.store.conftest import postgres_dsn, schema_database, store, store_target

__all__ = ["FakeClock", "postgres_dsn", "schema_database", "store", "store_target"]

START = 1_800_000_000.0


@dataclass
class FakeClock:
    """Wall-clock time that moves only when told (read from the store's writer thread
    too: a float attribute read is atomic)."""

    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
