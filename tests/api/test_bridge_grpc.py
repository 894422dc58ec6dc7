"""The bridge seen from a gRPC client: unary calls and streams into trio."""

from __future__ import annotations

import grpc
import pytest
import trio

from tests.api.conftest import AUTH, Served
from tidings.v1 import connectors_pb2, events_pb2

TIMEOUT = 10.0


def _get(served: Served, connector_id: str) -> connectors_pb2.Connector:
    request = connectors_pb2.GetConnectorRequest(id=connector_id)
    reply: connectors_pb2.Connector = served.connectors.GetConnector(
        request, metadata=AUTH, timeout=TIMEOUT
    )
    return reply


async def _rpc_error(served: Served, connector_id: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        await trio.to_thread.run_sync(_get, served, connector_id)
    return caught.value


async def test_200_concurrent_unary_calls_complete(served: Served) -> None:
    def call_all() -> list[str]:
        futures = [
            served.connectors.GetConnector.future(
                connectors_pb2.GetConnectorRequest(id=str(i)), metadata=AUTH, timeout=TIMEOUT
            )
            for i in range(200)
        ]
        return [future.result().name for future in futures]

    names = await trio.to_thread.run_sync(call_all)
    assert names == [f"name-{i}" for i in range(200)]


async def test_domain_error_in_trio_becomes_its_status(served: Served) -> None:
    error = await _rpc_error(served, "missing")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "connector 'missing' not found"


async def test_invalid_argument_names_the_field(served: Served) -> None:
    error = await _rpc_error(served, "invalid")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("id: ")


async def test_unexpected_error_is_internal_without_details(served: Served) -> None:
    error = await _rpc_error(served, "bug")
    assert error.code() == grpc.StatusCode.INTERNAL
    details = error.details()
    assert details.startswith("internal error, see server log (ref ")
    assert "secret" not in details
    assert "Traceback" not in details


async def test_client_cancel_cancels_the_trio_work(served: Served) -> None:
    future = served.connectors.GetConnector.future(
        connectors_pb2.GetConnectorRequest(id="hang"), metadata=AUTH, timeout=TIMEOUT
    )
    with trio.fail_after(5):
        await served.side.hang_started.wait()
    future.cancel()
    with trio.fail_after(5):
        await served.side.hang_cancelled.wait()


async def test_stream_delivers_everything_in_order(served: Served) -> None:
    def read_all() -> list[str]:
        request = events_pb2.SubscribeRequest(cursor="count:500")
        return [b.cursor for b in served.events.Subscribe(request, metadata=AUTH, timeout=TIMEOUT)]

    cursors = await trio.to_thread.run_sync(read_all)
    assert cursors == [str(i) for i in range(500)]
    with trio.fail_after(5):
        await served.side.stream_closed.wait()


async def test_stream_error_after_items_keeps_items_then_status(served: Served) -> None:
    received: list[str] = []

    def read() -> None:
        request = events_pb2.SubscribeRequest(cursor="fail:3")
        for batch in served.events.Subscribe(request, metadata=AUTH, timeout=TIMEOUT):
            received.append(batch.cursor)

    with pytest.raises(grpc.RpcError) as caught:
        await trio.to_thread.run_sync(read)
    assert received == ["0", "1", "2"]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "cursor: too old"


async def test_client_cancel_cancels_the_trio_stream(served: Served) -> None:
    request = events_pb2.SubscribeRequest(cursor="forever")
    call = served.events.Subscribe(request, metadata=AUTH, timeout=TIMEOUT)

    def read_some() -> list[str]:
        return [next(call).cursor for _ in range(5)]

    assert await trio.to_thread.run_sync(read_some) == ["0", "1", "2", "3", "4"]
    call.cancel()
    with trio.fail_after(5):
        await served.side.stream_closed.wait()
