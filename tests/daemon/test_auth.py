"""Every call needs a valid API key; health checking stays open."""

from __future__ import annotations

import functools

import grpc
import trio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.daemon.conftest import Daemon
from tidings.v1 import connectors_pb2, events_pb2

Code = grpc.StatusCode


async def test_missing_and_invalid_keys_are_unauthenticated(daemon: Daemon) -> None:
    request = connectors_pb2.ListConnectorsRequest()
    for metadata in ((), (("authorization", "Bearer not-a-key"),),
                     (("authorization", f"Basic {daemon.api_key}"),)):
        error = await daemon.failure(daemon.connectors.ListConnectors, request,
                                     metadata=metadata)
        assert error.code() == Code.UNAUTHENTICATED
    stream = daemon.events.Subscribe(events_pb2.SubscribeRequest(), timeout=10)
    error = await trio.to_thread.run_sync(lambda: _first_error(stream))
    assert error.code() == Code.UNAUTHENTICATED


def _first_error(stream: object) -> grpc.RpcError:
    try:
        next(stream)  # type: ignore[call-overload]
    except grpc.RpcError as exc:
        return exc
    raise AssertionError("the stream yielded without a key")


async def test_a_revoked_key_stops_working(daemon: Daemon) -> None:
    accounts = daemon.running.accounts
    key_id, key = await accounts.create_api_key("short-lived")
    metadata = (("authorization", f"Bearer {key}"),)
    request = connectors_pb2.ListConnectorsRequest()
    await daemon.call(daemon.connectors.ListConnectors, request, metadata=metadata)
    await accounts.revoke_api_key(key_id)
    error = await daemon.failure(daemon.connectors.ListConnectors, request, metadata=metadata)
    assert error.code() == Code.UNAUTHENTICATED


async def test_health_needs_no_key(daemon: Daemon) -> None:
    stub = health_pb2_grpc.HealthStub(daemon.channel)
    for service in ("", "tidings.v1.GrantService", "tidings.v1.EventService"):
        check = functools.partial(stub.Check, health_pb2.HealthCheckRequest(service=service),
                                  timeout=10)
        reply = await trio.to_thread.run_sync(check)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
