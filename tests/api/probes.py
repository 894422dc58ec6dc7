"""Test-only servicers that exercise the server plumbing through real gRPC.

The trio side (`TrioSide`) records what happened to the work handed to it, so
tests can wait for those events instead of sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import trio
import trio.lowlevel

from tidings.api.bridge import TrioBridge
from tidings.api.errors import InvalidArgument, rpc
from tidings.api.server import ServiceBinding
from tidings.store import errors as store_errors
from tidings.v1 import connectors_pb2, connectors_pb2_grpc, events_pb2, events_pb2_grpc


class TrioSide:
    """Trio-side behaviour of the probes, selected by the request's id or cursor."""

    def __init__(self) -> None:
        self.hang_started = trio.Event()
        self.hang_cancelled = trio.Event()
        self.release = trio.Event()
        self.stream_started = trio.Event()
        self.stream_closed = trio.Event()
        self.produced = 0

    async def lookup(self, connector_id: str) -> str:
        """Unary work: a name for the id, or the failure the id asks for."""
        await trio.lowlevel.checkpoint()
        if connector_id == "missing":
            raise store_errors.NotFound("connector", connector_id)
        if connector_id == "invalid":
            raise InvalidArgument("id", "must not be 'invalid'")
        if connector_id == "bug":
            raise RuntimeError("secret detail that must stay on the server")
        if connector_id in ("hang", "gated"):
            self.hang_started.set()
            try:
                if connector_id == "gated":
                    await self.release.wait()
                else:
                    await trio.sleep_forever()
            except trio.Cancelled:
                self.hang_cancelled.set()
                raise
        return f"name-{connector_id}"

    async def batches(self, cursor: str) -> AsyncIterator[events_pb2.EventBatch]:
        """Stream work: `count:N` yields N batches, `fail:N` fails after N,
        `forever` never ends."""
        mode, _, number = cursor.partition(":")
        limit = int(number) if number else None
        self.stream_started.set()
        try:
            index = 0
            while limit is None or index < limit:
                event = events_pb2.Event(
                    cursor=str(index), id=f"e{index}", type="message.created", grant_id="g"
                )
                self.produced += 1
                yield events_pb2.EventBatch(events=[event], cursor=str(index))
                index += 1
            if mode == "fail":
                raise InvalidArgument("cursor", "too old")
        finally:
            self.stream_closed.set()


class ConnectorProbe(connectors_pb2_grpc.ConnectorServiceServicer):
    def __init__(self, bridge: TrioBridge, side: TrioSide) -> None:
        self._bridge = bridge
        self._side = side

    @rpc
    async def GetConnector(
        self, request: connectors_pb2.GetConnectorRequest, context: Any
    ) -> connectors_pb2.Connector:
        name = await self._bridge.call(self._side.lookup, request.id)
        return connectors_pb2.Connector(id=request.id, name=name)


class EventProbe(events_pb2_grpc.EventServiceServicer):
    def __init__(self, bridge: TrioBridge, side: TrioSide) -> None:
        self._bridge = bridge
        self._side = side

    @rpc
    async def Subscribe(
        self, request: events_pb2.SubscribeRequest, context: Any
    ) -> AsyncIterator[events_pb2.EventBatch]:
        async with self._bridge.stream(self._side.batches, request.cursor, buffer=8) as batches:
            async for batch in batches:
                yield batch


def probe_bindings(side: TrioSide) -> Sequence[ServiceBinding]:
    return [
        ServiceBinding(
            "tidings.v1.ConnectorService",
            lambda server, bridge: connectors_pb2_grpc.add_ConnectorServiceServicer_to_server(
                # The methods a probe leaves out answer UNIMPLEMENTED (grpc's base class).
                ConnectorProbe(bridge, side),  # type: ignore[abstract]
                server,
            ),
        ),
        ServiceBinding(
            "tidings.v1.EventService",
            lambda server, bridge: events_pb2_grpc.add_EventServiceServicer_to_server(
                EventProbe(bridge, side),  # type: ignore[abstract]
                server,
            ),
        ),
    ]
