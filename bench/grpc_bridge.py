"""Throughput of the trio bridge next to pure grpc.aio, measured in the same run.

    .venv/bin/python bench/grpc_bridge.py [--calls 2000] [--messages 100000]

Three servers answer the same two methods (ConnectorService.GetConnector,
EventService.Subscribe) on loopback:

- pure grpc.aio: the servicer answers on the asyncio loop itself (the baseline);
- bridge: the servicer hands every call (and the stream) to trio through
  TrioBridge, as the daemon's servicers do;
- serve_grpc: the daemon's full server, adding the API-key check (one more
  trip into trio per call), health checking and reflection.

One grpc.aio client, in a process of its own so that it does not compete for
the server's GIL, drives each in turn: unary calls with 50 in flight, then one
stream of single-event batches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Figure, print_table
from tidings.api.auth import hash_api_key, verifier_for_hashes
from tidings.api.bridge import TrioBridge
from tidings.api.server import GrpcSettings, ServiceBinding, serve_grpc
from tidings.v1 import connectors_pb2, connectors_pb2_grpc, events_pb2, events_pb2_grpc

API_KEY = "b" * 43
METADATA = (("authorization", f"Bearer {API_KEY}"),)
IN_FLIGHT = 50


def _batch(index: int) -> events_pb2.EventBatch:
    event = events_pb2.Event(
        cursor=str(index), id=f"e{index}", type="message.created", grant_id="g", object_id="m"
    )
    return events_pb2.EventBatch(events=[event], cursor=str(index))


async def trio_name(connector_id: str) -> str:
    await trio.lowlevel.checkpoint()
    return f"name-{connector_id}"


async def trio_batches(count: int) -> AsyncIterator[events_pb2.EventBatch]:
    for index in range(count):
        yield _batch(index)


class PureConnectors(connectors_pb2_grpc.ConnectorServiceServicer):
    async def GetConnector(self, request: Any, context: Any) -> connectors_pb2.Connector:
        await asyncio.sleep(0)
        return connectors_pb2.Connector(id=request.id, name=f"name-{request.id}")


class PureEvents(events_pb2_grpc.EventServiceServicer):
    async def Subscribe(self, request: Any, context: Any) -> AsyncIterator[events_pb2.EventBatch]:
        for index in range(int(request.cursor)):
            yield _batch(index)


class BridgedConnectors(connectors_pb2_grpc.ConnectorServiceServicer):
    def __init__(self, bridge: TrioBridge) -> None:
        self._bridge = bridge

    async def GetConnector(self, request: Any, context: Any) -> connectors_pb2.Connector:
        name = await self._bridge.call(trio_name, request.id)
        return connectors_pb2.Connector(id=request.id, name=name)


class BridgedEvents(events_pb2_grpc.EventServiceServicer):
    def __init__(self, bridge: TrioBridge) -> None:
        self._bridge = bridge

    async def Subscribe(self, request: Any, context: Any) -> AsyncIterator[events_pb2.EventBatch]:
        async with self._bridge.stream(trio_batches, int(request.cursor)) as batches:
            async for batch in batches:
                yield batch


@dataclass
class Figures:
    calls_per_second: float
    messages_per_second: float


async def _drive(port: int, calls: int, messages: int) -> Figures:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        connectors = connectors_pb2_grpc.ConnectorServiceStub(channel)
        events = events_pb2_grpc.EventServiceStub(channel)
        limit = asyncio.Semaphore(IN_FLIGHT)

        async def one(index: int) -> None:
            async with limit:
                request = connectors_pb2.GetConnectorRequest(id=str(index))
                await connectors.GetConnector(request, metadata=METADATA)

        await asyncio.gather(*(one(i) for i in range(100)))  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        unary_seconds = time.perf_counter() - started

        started = time.perf_counter()
        received = 0
        request = events_pb2.SubscribeRequest(cursor=str(messages))
        async for _ in events.Subscribe(request, metadata=METADATA):
            received += 1
        stream_seconds = time.perf_counter() - started
        assert received == messages
    return Figures(calls / unary_seconds, messages / stream_seconds)


def _serve_on_asyncio_thread(
    add_services: Callable[[Any], None], ready: threading.Event, port: list[int]
) -> tuple[threading.Thread, Callable[[], None]]:
    """A grpc.aio server without the daemon's plumbing, in a thread of its own."""
    stop_holder: list[Callable[[], object]] = []

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        add_services(server)
        port.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        stop_holder.append(lambda: loop.call_soon_threadsafe(stop.set))
        ready.set()
        await stop.wait()
        await server.stop(None)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()

    def stop() -> None:
        # Set once the server is ready, which the caller waits for first.
        stop_holder[0]()

    return thread, stop


async def _measure(port: int, calls: int, messages: int) -> Figures:
    command = [sys.executable, __file__, "--client", str(port)]
    command += ["--calls", str(calls), "--messages", str(messages)]
    done = await trio.run_process(command, capture_stdout=True)
    return Figures(**json.loads(done.stdout))


async def _with_asyncio_server(
    add_services: Callable[[Any], None], calls: int, messages: int
) -> Figures:
    ready, port = threading.Event(), list[int]()
    thread, stop = _serve_on_asyncio_thread(add_services, ready, port)
    await trio.to_thread.run_sync(ready.wait)
    try:
        return await _measure(port[0], calls, messages)
    finally:
        stop()
        await trio.to_thread.run_sync(thread.join)


async def _host(*, task_status: trio.TaskStatus[trio.Nursery]) -> None:
    async with trio.open_nursery() as nursery:
        task_status.started(nursery)
        await trio.sleep_forever()


def _add_pure(server: Any) -> None:
    # The benchmark servicers implement two methods each; grpc's base classes
    # answer UNIMPLEMENTED for the rest, hence the abstract-class ignores.
    connectors_pb2_grpc.add_ConnectorServiceServicer_to_server(
        PureConnectors(),  # type: ignore[abstract]
        server,
    )
    events_pb2_grpc.add_EventServiceServicer_to_server(
        PureEvents(),  # type: ignore[abstract]
        server,
    )


def _add_bridged(server: Any, bridge: TrioBridge) -> None:
    connectors_pb2_grpc.add_ConnectorServiceServicer_to_server(
        BridgedConnectors(bridge),  # type: ignore[abstract]
        server,
    )
    events_pb2_grpc.add_EventServiceServicer_to_server(
        BridgedEvents(bridge),  # type: ignore[abstract]
        server,
    )


async def main(calls: int, messages: int) -> None:
    results: dict[str, Figures] = {}
    results["pure grpc.aio"] = await _with_asyncio_server(_add_pure, calls, messages)

    async with trio.open_nursery() as nursery:
        bridged_nursery = await nursery.start(_host)
        bridge = TrioBridge(trio.lowlevel.current_trio_token(), bridged_nursery)
        results["bridge"] = await _with_asyncio_server(
            lambda server: _add_bridged(server, bridge), calls, messages
        )

        # One binding attaches both servicers; health lists both names.
        bindings = [
            ServiceBinding("tidings.v1.ConnectorService", _add_bridged),
            ServiceBinding("tidings.v1.EventService", lambda server, b: None),
        ]
        settings = GrpcSettings(port=0, grace_seconds=1.0)
        verify = verifier_for_hashes([hash_api_key(API_KEY)])
        port = await nursery.start(serve_grpc, settings, bindings, verify)
        results["serve_grpc (bridge + API key)"] = await _measure(port, calls, messages)
        nursery.cancel_scope.cancel()

    print(f"{calls} unary calls ({IN_FLIGHT} in flight), one stream of {messages} messages")
    print_table("gRPC bridge: trio ↔ grpc.aio", _figures(results))


def _figures(results: dict[str, Figures]) -> list[Figure]:
    """Each server's rates beside pure grpc.aio's from the same run."""
    baseline = results["pure grpc.aio"]
    figures: list[Figure] = []
    for name, measured in results.items():
        if measured is baseline:
            figures += [Figure(f"{name}: unary calls/s", measured.calls_per_second, "/s"),
                        Figure(f"{name}: stream messages/s", measured.messages_per_second,
                               "/s")]
            continue
        figures += [
            Figure(f"{name}: unary calls/s", measured.calls_per_second, "/s",
                   "pure grpc.aio", baseline.calls_per_second),
            Figure(f"{name}: stream messages/s", measured.messages_per_second, "/s",
                   "pure grpc.aio", baseline.messages_per_second),
        ]
    return figures

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client is None:
        trio.run(main, options.calls, options.messages)
    else:
        figures = asyncio.run(_drive(options.client, options.calls, options.messages))
        print(
            json.dumps(
                {
                    "calls_per_second": figures.calls_per_second,
                    "messages_per_second": figures.messages_per_second,
                }
            )
        )
