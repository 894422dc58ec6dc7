"""The change stream under load: 50 subscribers on one daemon while changes pour in.

    .venv/bin/python bench/events.py [--events 10000] [--subscribers 50] [--rate 1200]
                                     [--gc-freeze]

The daemon runs in this process (trio, temporary data directory, ports chosen by the
system). Changes are appended straight to its store; the daemon's EventService fans them
out. The subscribers run in a client process of their own (grpc.aio, all streams on one
channel) so they do not compete for the server's GIL.

Four runs, each with a fresh client process:

- capacity: 50 subscribers while the writer appends ``WRITE_BATCH`` events per write
  transaction as fast as the store takes them. This measures throughput: deliveries per
  second with the daemon saturated. Its store→subscriber times are *not* latency: a writer
  that outruns the fan-out builds a backlog, and what the clock then shows is how long
  events waited in it (it grows with ``--events``). They are printed, labelled as backlog.
- paced: the same 50 subscribers while the writer appends at a fixed rate, ``--rate``
  events/s (default: enough for 1.2 × the 50,000 deliveries/s target). This is the
  latency figure: p99 store→subscriber under that load. The writer wakes every ``TICK``
  and appends every event that is due in one write transaction. Each event carries its
  *scheduled* time, not the time it was written, so a writer that falls behind (the
  daemon starving it of CPU) counts against the daemon, not for it (no coordinated
  omission).
- paced + stalled: the same, plus one more subscriber on a channel of its own that opens
  its stream and reads nothing until the 50 are done; then it drains, to show it lost
  nothing and did not slow the others.
- pure grpc.aio: a bare server (its own thread and asyncio loop) streaming the same
  EventBatch messages, built by the daemon's own converter from the same payloads, to
  50 subscribers as fast as they take them: the transport's floor beside the capacity run.

Latency: an event's ``created_at`` is whole Unix seconds, too coarse for a p99, so the
writer stamps a wall-clock time (``time.time()`` based) into the event's ``object_id``;
the client compares it with the wall clock when the batch arrives (same machine, same
clock). The latency therefore covers the wait for the write, the commit, wake-up, log
read, conversion, the bridge to asyncio, gRPC and the client's decode.

Garbage collection: a full collection walks every tracked object, and the ~80k that
imports and start-up leave behind make it a 40–110 ms pause of all threads, which is the
tail of the latency. ``--gc-freeze`` calls ``gc.collect()`` then ``gc.freeze()`` in the
daemon's process once the daemon has started, as ``run_daemon`` is meant to, so the
effect can be measured until it does (freezing twice is harmless). The client process
always freezes its own start-up objects, so that its collections do not count against
the daemon.

Rates are deliveries (events × subscribers) over the time from the first event any
subscriber receives to the moment the last subscriber holds every event. Every
subscriber must receive every event, in order, exactly once; a check line says so.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import grpc
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Figure, print_table
from tidings import domain
from tidings.api.event_objects import event_batches
from tidings.app import RunningDaemon, run_daemon
from tidings.config import load_config
from tidings.domain import EventType, NewEvent
from tidings.events import encode_cursor
from tidings.store import WriteTx
from tidings.v1 import events_pb2, events_pb2_grpc

WRITE_BATCH: Final = 500
TICK: Final = 0.01  # the paced writer's period, seconds
WARM_UP: Final = "warm-up"
TARGET_RATE: Final = 50_000.0
TARGET_P99_MS: Final = 100.0


def _payload(index: int) -> dict[str, Any]:
    """A message as the sync engine records it for message.updated: a typical size."""
    return {
        "id": f"m{index:08d}", "grant_id": "g-bench", "thread_id": f"t{index // 4:08d}",
        "subject": f"Quarterly figures, revision {index}",
        "from": [{"name": "Alice Example", "email": "alice@example.org"}],
        "to": [{"name": "Bob Example", "email": "bob@example.org"}],
        "date": 1_700_000_000 + index, "unread": index % 2 == 0, "starred": False,
        "snippet": "Here are the numbers we talked about on Monday; the summary is on p",
        "folders": ["INBOX"], "message_id_header": f"<{index}@example.org>",
    }


def _new_event(index: int, stamp: str) -> NewEvent:
    return NewEvent(grant_id="g-bench", type=EventType.MESSAGE_UPDATED, object_id=stamp,
                    payload=_payload(index))


def _append(start: int, count: int, tx: WriteTx) -> None:
    for index in range(start, start + count):
        tx.append_event(_new_event(index, repr(time.time())))


def _append_scheduled(start: int, count: int, first_due: float, rate: float,
                      tx: WriteTx) -> None:
    """Events stamped with the moment they were due (event ``n`` at
    ``first_due + n / rate``), not the moment they are written."""
    for index in range(start, start + count):
        tx.append_event(_new_event(index, repr(first_due + index / rate)))


# -- the client process ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientResult:
    counts: list[int]
    in_order: bool
    first_receive: float
    all_done: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    stalled_received: int
    stalled_drain_seconds: float


async def _client(port: int, key: str, cursor: str, expected: int, subscribers: int,
                  stalled: bool) -> ClientResult:
    metadata = (("authorization", f"Bearer {key}"),)
    request = events_pb2.SubscribeRequest(cursor=cursor)
    latencies: list[float] = []
    counts = [0] * subscribers
    in_order = [True]
    first_receive = [0.0]
    live = [0]
    all_live = asyncio.Event()

    async def subscriber(index: int, stub: events_pb2_grpc.EventServiceStub) -> None:
        call = stub.Subscribe(request, metadata=metadata)
        last_id = ""
        async for batch in call:
            now = time.time()
            for event in batch.events:
                if event.object_id == WARM_UP:
                    live[0] += 1
                    if live[0] == subscribers:
                        all_live.set()
                    continue
                if first_receive[0] == 0.0:
                    first_receive[0] = now
                # The payload's message ids rise with the order of the writes.
                if event.message.id <= last_id:
                    in_order[0] = False
                last_id = event.message.id
                latencies.append(now - float(event.object_id))
                counts[index] += 1
            if counts[index] >= expected:
                call.cancel()
                return

    async def announce_live() -> None:
        await all_live.wait()
        print("live", flush=True)

    # The client is the measuring instrument: keep its own full collections short.
    gc.freeze()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel, \
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") as stall_channel:
        stub = events_pb2_grpc.EventServiceStub(channel)
        stalled_call = None
        if stalled:
            stalled_call = events_pb2_grpc.EventServiceStub(stall_channel).Subscribe(
                request, metadata=metadata)
        announcer = asyncio.create_task(announce_live())
        await asyncio.gather(*(subscriber(i, stub) for i in range(subscribers)))
        all_done = time.time()
        announcer.cancel()
        stalled_received, drain_seconds = 0, 0.0
        if stalled_call is not None:
            started = time.perf_counter()
            async for batch in stalled_call:
                stalled_received += sum(1 for e in batch.events if e.object_id != WARM_UP)
                if stalled_received >= expected:
                    stalled_call.cancel()
                    break
            drain_seconds = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return ClientResult(counts, in_order[0], first_receive[0], all_done,
                        quantiles[49] * 1000, quantiles[98] * 1000,
                        max(latencies, default=0.0) * 1000, stalled_received, drain_seconds)


# -- the server side ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    events: int
    subscribers: int
    client: ClientResult
    write_seconds: float

    @property
    def deliveries_per_second(self) -> float:
        window = self.client.all_done - self.client.first_receive
        return sum(self.client.counts) / window if window > 0 else 0.0

    @property
    def complete(self) -> bool:
        return all(c == self.events for c in self.client.counts) and self.client.in_order


async def _run_client(port: int, key: str, cursor: str, events: int, subscribers: int,
                      stalled: bool, start_load: Callable[[], Any]) -> ClientResult:
    """Start the client process, wait for every subscriber to be live, start the load,
    and collect the client's result."""
    command = [sys.executable, __file__, "--client", str(port), "--key", key,
               "--cursor", cursor, "--events", str(events),
               "--subscribers", str(subscribers)]
    if stalled:
        command.append("--stalled")
    process = await trio.lowlevel.open_process(command, stdout=-1)
    assert process.stdout is not None
    buffer = b""
    load_started = False
    try:
        while True:
            chunk = await process.stdout.receive_some()
            if not chunk:
                break
            buffer += chunk
            if not load_started and b"live\n" in buffer:
                load_started = True
                buffer = buffer.replace(b"live\n", b"", 1)
                await start_load()
        if await process.wait() != 0:
            raise RuntimeError(f"the client process failed: {process.returncode}")
    finally:
        with trio.CancelScope(shield=True):
            process.kill()
            await process.wait()
    return ClientResult(**json.loads(buffer))


async def _daemon_run(daemon: RunningDaemon, key: str, name: str, events: int,
                      subscribers: int, stalled: bool, offset: int,
                      rate: float | None) -> Run:
    """One run; ``rate`` None appends as fast as the store takes it, else at ``rate``
    events/s."""
    store = daemon.store
    cursor = encode_cursor(await store.last_position())
    # Each subscriber's first event: once all 50 hold it, all 50 follow the live log.
    await store.write(lambda tx: tx.append_event(_new_event(-1, WARM_UP)))
    timing: list[float] = []

    async def flood() -> None:
        started = time.perf_counter()
        for start in range(0, events, WRITE_BATCH):
            count = min(WRITE_BATCH, events - start)
            await store.write(functools.partial(_append, offset + start, count))
        timing.append(time.perf_counter() - started)

    async def paced(rate: float) -> None:
        started = time.perf_counter()
        # Event n (counted from `offset`) is due at first_due + n / rate.
        first_due = time.time() - offset / rate
        written = 0
        while written < events:
            due = min(events, int((time.time() - first_due) * rate) - offset + 1)
            if due > written:
                await store.write(functools.partial(
                    _append_scheduled, offset + written, due - written, first_due, rate))
                written = due
            await trio.sleep(TICK)
        timing.append(time.perf_counter() - started)

    async with trio.open_nursery() as nursery:
        async def start_load() -> None:
            if rate is None:
                nursery.start_soon(flood)
            else:
                nursery.start_soon(paced, rate)

        result = await _run_client(daemon.grpc_port, key, cursor, events, subscribers,
                                   stalled, start_load)
    return Run(name, events, subscribers, result, timing[0])


def _template_batches(events: int) -> list[events_pb2.EventBatch]:
    """The batches the daemon would send for the same payloads, via its own converter,
    in chunks of the same size as its log reads."""
    now = time.time()
    log = [domain.Event(position=i + 1, id=f"ev{i:09d}", grant_id="g-bench",
                        type=EventType.MESSAGE_UPDATED, object_id=repr(now),
                        payload=_payload(i), created_at=now) for i in range(events)]
    warm = domain.Event(position=0, id="ev-warm", grant_id="g-bench",
                        type=EventType.MESSAGE_UPDATED, object_id=WARM_UP,
                        payload=_payload(-1), created_at=now)
    batches = list(event_batches([warm]))
    for start in range(0, events, WRITE_BATCH):
        batches.extend(event_batches(log[start:start + WRITE_BATCH]))
    return batches


class PureEvents(events_pb2_grpc.EventServiceServicer):
    def __init__(self, batches: list[events_pb2.EventBatch]) -> None:
        self._batches = batches

    async def Subscribe(self, request: Any, context: Any
                        ) -> AsyncIterator[events_pb2.EventBatch]:
        for batch in self._batches:
            yield batch
        await asyncio.Event().wait()  # a live stream stays open; the client cancels it


async def _pure_run(key: str, events: int, subscribers: int) -> Run:
    # Subscribe only; grpc's base class answers UNIMPLEMENTED for GetCursor.
    servicer = PureEvents(_template_batches(events))  # type: ignore[abstract]
    ready, ports, stoppers = threading.Event(), list[int](), list[Callable[[], object]]()

    async def serve() -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        events_pb2_grpc.add_EventServiceServicer_to_server(servicer, server)
        ports.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        stoppers.append(lambda: loop.call_soon_threadsafe(stop.set))
        ready.set()
        await stop.wait()
        await server.stop(None)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    await trio.to_thread.run_sync(ready.wait)

    async def nothing() -> None:
        await trio.lowlevel.checkpoint()

    try:
        result = await _run_client(ports[0], key, "", events, subscribers, False, nothing)
    finally:
        stoppers[0]()
        await trio.to_thread.run_sync(thread.join)
    return Run("pure grpc.aio", events, subscribers, result, 0.0)


def _report(runs: list[Run], rate: float, freeze: bool) -> None:
    capacity, paced, stalled, pure = runs
    rate_target = f">= {TARGET_RATE:,.0f}/s"
    p99_target = f"<= {TARGET_P99_MS:.0f} ms"

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    def rate_figure(name: str, run: Run, baseline_name: str, baseline: Run) -> Figure:
        value = run.deliveries_per_second
        return Figure(name, value, "/s", baseline_name, baseline.deliveries_per_second,
                      f"{rate_target} {verdict(value >= TARGET_RATE)}")

    offered = rate * paced.subscribers
    figures = [
        rate_figure("capacity: events/s delivered", capacity, "pure grpc.aio", pure),
        Figure("capacity: store events/s appended", capacity.events / capacity.write_seconds,
               "/s"),
        Figure("capacity: p99 backlog wait", capacity.client.p99_ms, "ms"),
        rate_figure("paced: events/s delivered", paced, "capacity", capacity),
        Figure("paced: p50 store→subscriber", paced.client.p50_ms, "ms"),
        Figure("paced: p99 store→subscriber", paced.client.p99_ms, "ms", target=(
            f"{p99_target} {verdict(paced.client.p99_ms <= TARGET_P99_MS)}")),
        Figure("paced: max store→subscriber", paced.client.max_ms, "ms"),
        rate_figure("+stalled: events/s to the 50", stalled, "paced", paced),
        Figure("+stalled: p99 store→subscriber", stalled.client.p99_ms, "ms",
               "paced", paced.client.p99_ms,
               f"{p99_target} {verdict(stalled.client.p99_ms <= TARGET_P99_MS)}"),
        Figure("+stalled: its drain afterwards",
               stalled.client.stalled_drain_seconds * 1000, "ms"),
        Figure("pure grpc.aio: events/s", pure.deliveries_per_second, "/s"),
    ]
    print_table(f"Change stream: {capacity.events:,} events × {capacity.subscribers} "
                f"subscribers; capacity at {WRITE_BATCH} events per write, paced at "
                f"{rate:,.0f} events/s written ({offered:,.0f} deliveries/s offered)"
                f"{', gc frozen after start' if freeze else ''}", figures)
    print()
    for run in runs:
        counts = run.client.counts
        state = "ok" if run.complete else "FAILED"
        print(f"check {run.name:18}: every subscriber received every event in order: "
              f"{state} (min {min(counts):,}, max {max(counts):,}, expected {run.events:,})")
    lost = stalled.events - stalled.client.stalled_received
    print(f"check stalled subscriber   : received {stalled.client.stalled_received:,} of "
          f"{stalled.events:,} after the others finished: {'ok' if lost == 0 else 'FAILED'}")


async def main(events: int, subscribers: int, rate: float, freeze: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="tidings-bench-events-") as data_dir:
        config = load_config(env={"TIDINGS_DATA_DIR": data_dir, "TIDINGS_GRPC_PORT": "0",
                                  "TIDINGS_WEB_PORT": "0", "TIDINGS_LOG_LEVEL": "warning"})
        async with trio.open_nursery() as nursery:
            daemon: RunningDaemon = await nursery.start(
                functools.partial(run_daemon, config, handle_signals=False))
            _, key = await daemon.accounts.create_api_key("bench")
            if freeze:
                gc.collect()  # garbage now would never be collected once frozen
                gc.freeze()
            runs = [await _daemon_run(daemon, key, "capacity", events, subscribers,
                                      False, 0, None)]
            runs.append(await _daemon_run(daemon, key, "paced", events, subscribers,
                                          False, events, rate))
            runs.append(await _daemon_run(daemon, key, "paced + stalled", events,
                                          subscribers, True, 2 * events, rate))
            nursery.cancel_scope.cancel()
        runs.append(await _pure_run(key, events, subscribers))
    _report(runs, rate, freeze)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--rate", type=float, default=None,
                        help="events/s written in the paced runs (default: 1.2 × the "
                             "deliveries/s target over the subscribers)")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() once the daemon has started (see above)")
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--cursor", default="", help=argparse.SUPPRESS)
    parser.add_argument("--stalled", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client is None:
        rate = options.rate or 1.2 * TARGET_RATE / options.subscribers
        trio.run(main, options.events, options.subscribers, rate, options.gc_freeze)
    else:
        outcome = asyncio.run(_client(options.client, options.key, options.cursor,
                                      options.events, options.subscribers, options.stalled))
        print(json.dumps({field: getattr(outcome, field)
                          for field in ClientResult.__dataclass_fields__}))
