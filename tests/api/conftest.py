"""A real gRPC server on a free port, driven by the probes, and a client channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
import trio

from tests.api.probes import TrioSide, probe_bindings
from tidings.api.auth import hash_api_key, verifier_for_hashes
from tidings.api.server import GrpcSettings, serve_grpc
from tidings.v1 import connectors_pb2_grpc, events_pb2_grpc

API_KEY = "k" * 43
AUTH = (("authorization", f"Bearer {API_KEY}"),)
# A key whose check fails inside the key store.
FAILING_KEY = "f" * 43


async def verify_key(key: str) -> bool:
    if key == FAILING_KEY:
        raise RuntimeError("key store is broken")
    return await verifier_for_hashes([hash_api_key(API_KEY)])(key)


@dataclass
class Served:
    port: int
    side: TrioSide
    channel: grpc.Channel

    @property
    def connectors(self) -> connectors_pb2_grpc.ConnectorServiceStub:
        return connectors_pb2_grpc.ConnectorServiceStub(self.channel)

    @property
    def events(self) -> events_pb2_grpc.EventServiceStub:
        return events_pb2_grpc.EventServiceStub(self.channel)


def settings(grace_seconds: float = 2.0) -> GrpcSettings:
    return GrpcSettings(host="127.0.0.1", port=0, grace_seconds=grace_seconds)


async def start_server(nursery: trio.Nursery, side: TrioSide, grace_seconds: float = 2.0) -> int:
    port: int = await nursery.start(
        serve_grpc, settings(grace_seconds), probe_bindings(side), verify_key
    )
    return port


@dataclass
class StoppableServer:
    """A server in a cancel scope of its own, so a test can stop it and carry on."""

    port: int
    scope: trio.CancelScope
    stopped: trio.Event


async def _serve_in_own_scope(
    side: TrioSide,
    grace_seconds: float,
    stopped: trio.Event,
    *,
    task_status: trio.TaskStatus[tuple[int, trio.CancelScope]],
) -> None:
    try:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                port = await start_server(nursery, side, grace_seconds)
                task_status.started((port, scope))
    finally:
        stopped.set()


async def start_stoppable(
    nursery: trio.Nursery, side: TrioSide, grace_seconds: float
) -> StoppableServer:
    stopped = trio.Event()
    port, scope = await nursery.start(_serve_in_own_scope, side, grace_seconds, stopped)
    return StoppableServer(port, scope, stopped)


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[Served]:
    side = TrioSide()
    port = await start_server(nursery, side)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Served(port, side, channel)
    finally:
        channel.close()
