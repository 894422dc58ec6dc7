"""/healthz, /metrics, and the server's life in the daemon's nursery."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.store import builders as b
from tests.web.conftest import PUBLIC_URL, FakeAccounts, Site
from tidings.config import WebConfig
from tidings.domain import EventType, GrantState, NewEvent
from tidings.service.hosted import HostedAuth
from tidings.store import Store, StoreClosed, WriteTx
from tidings.sync.link import ConnectionStats
from tidings.web import MetricsSource, serve_web


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def add_grants(store: Store) -> None:
    c = b.connector()
    valid = b.grant(c.id)
    invalid = b.grant(c.id, email="bob@example.org", state=GrantState.INVALID)
    other = b.grant(c.id, email="eve@example.org", state=GrantState.INVALID)
    live = b.folder(valid.id, "INBOX", sync_state="live")
    fresh = b.folder(valid.id, "Sent")

    def write(tx: WriteTx) -> None:
        tx.create_connector(c)
        for grant in (valid, invalid, other):
            tx.create_grant(grant)
        tx.upsert_folder(live)
        tx.upsert_folder(fresh)
        for _ in range(3):
            tx.append_event(NewEvent(grant_id=valid.id, type=EventType.GRANT_UPDATED,
                                     object_id=valid.id, payload={}))

    await store.write(write)


async def test_healthz_reports_store_grants_and_uptime(site: Site) -> None:
    await add_grants(site.store)
    answer = await site.client.get("/healthz")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    document = answer.json()
    assert document["status"] == "ok"
    assert document["store"] == "ok"
    assert document["grants"] == {"valid": 1, "syncing": 0, "invalid": 2, "degraded": 0}
    assert document["imap_connections_open"] == 2
    assert 0 <= document["uptime_seconds"] < 600


async def test_health_reports_a_store_failure_instead_of_raising(store: Store) -> None:
    await store.aclose()
    metrics = MetricsSource(store, clock=lambda: 100.0, started_at=40.0)
    document = await metrics.health()
    assert document["status"] == "error"
    assert document["store"].startswith("error")
    assert document["uptime_seconds"] == 60.0
    with pytest.raises(StoreClosed):
        await metrics.figures()


async def test_metrics_reads_live_figures(site: Site) -> None:
    await add_grants(site.store)
    site.metrics.subscribers = 3
    site.metrics.connections.open = 4
    answer = await site.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    found = samples(answer.text)
    assert found[("tidings_grants", (("state", "valid"),))] == 1
    assert found[("tidings_grants", (("state", "invalid"),))] == 2
    assert found[("tidings_grants", (("state", "degraded"),))] == 0
    assert found[("tidings_folders", (("sync_state", "live"),))] == 1
    assert found[("tidings_folders", (("sync_state", "new"),))] == 1
    assert found[("tidings_folders", (("sync_state", "initial"),))] == 0
    assert found[("tidings_events_last_position", ())] == await site.store.last_position() > 0
    assert found[("tidings_event_subscribers", ())] == 3
    assert found[("tidings_imap_connections_open", ())] == 4
    assert found[("tidings_imap_connections_opened_total", ())] == 7
    assert found[("tidings_uptime_seconds", ())] >= 0
    # The figures are read per scrape, not cached.
    site.metrics.subscribers = 1
    again = samples((await site.client.get("/metrics")).text)
    assert again[("tidings_event_subscribers", ())] == 1


async def test_metrics_and_healthz_answer_503_without_a_store(store: Store) -> None:
    metrics = MetricsSource(store)
    hosted = HostedAuth(store, FakeAccounts(store), public_url=PUBLIC_URL)
    async with trio.open_nursery() as nursery:
        port: int = await nursery.start(lambda task_status: serve_web(
            WebConfig(host="127.0.0.1", port=0), hosted=hosted, health=metrics.health,
            metrics=metrics, task_status=task_status))
        await store.aclose()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 503
            assert (await client.get("/metrics")).status_code == 503
            assert (await client.get("/auth/whatever")).status_code == 500
        nursery.cancel_scope.cancel()


async def test_the_server_stops_when_cancelled(store: Store) -> None:
    metrics = MetricsSource(store, ConnectionStats())
    hosted = HostedAuth(store, FakeAccounts(store), public_url=PUBLIC_URL)
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            port: int = await nursery.start(lambda task_status: serve_web(
                WebConfig(host="127.0.0.1", port=0), hosted=hosted, health=metrics.health,
                metrics=metrics, task_status=task_status))
            assert port > 0
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.get("/healthz")).status_code == 200
            started = time.monotonic()
            scope.cancel()
    assert scope.cancelled_caught
    assert time.monotonic() - started < 5
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0

