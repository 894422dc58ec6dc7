"""The sync-lag figure exported on /metrics."""

from __future__ import annotations

from tidings.sync.link import ConnectionStats


def test_lag_is_zero_without_running_grants() -> None:
    assert ConnectionStats().lag(now=1000.0) == (0.0, 0.0)


def test_lag_max_and_mean() -> None:
    stats = ConnectionStats(synced_at={"a": 990.0, "b": 970.0, "c": 1001.0})
    assert stats.lag(now=1000.0) == (30.0, (10.0 + 30.0 + 0.0) / 3)
