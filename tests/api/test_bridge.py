"""The bridge on its own: an asyncio loop in a thread consuming trio work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from tidings.api.bridge import TrioBridge
from tidings.api.errors import Unavailable


async def _hold_nursery(*, task_status: trio.TaskStatus[trio.Nursery]) -> None:
    async with trio.open_nursery() as nursery:
        task_status.started(nursery)
        await trio.sleep_forever()


async def test_stream_backpressure_bounds_items_in_flight(nursery: trio.Nursery) -> None:
    bridge = TrioBridge(trio.lowlevel.current_trio_token(), nursery)
    produced = 0

    async def numbers() -> AsyncIterator[int]:
        nonlocal produced
        index = 0
        while True:
            produced += 1
            yield index
            index += 1

    async def produced_when_blocked() -> int:
        await trio.testing.wait_all_tasks_blocked()
        return produced

    async def consume() -> tuple[list[int], int]:
        async with bridge.stream(numbers, buffer=4) as items:
            taken = [await anext(items) for _ in range(3)]
            return taken, await bridge.call(produced_when_blocked)

    taken, produced_then = await trio.to_thread.run_sync(asyncio.run, consume())
    assert taken == [0, 1, 2]
    # Three consumed, four in flight, and the producer holding one more while it
    # waits for a credit: no more than that, however fast it could run.
    assert 4 <= produced_then <= 3 + 4 + 1


async def test_stream_ends_and_closes_generator(nursery: trio.Nursery) -> None:
    bridge = TrioBridge(trio.lowlevel.current_trio_token(), nursery)
    closed = trio.Event()

    async def three() -> AsyncIterator[str]:
        try:
            for word in ("a", "b", "c"):
                yield word
        finally:
            closed.set()

    async def consume() -> list[str]:
        async with bridge.stream(three, buffer=1) as words:
            return [word async for word in words]

    assert await trio.to_thread.run_sync(asyncio.run, consume()) == ["a", "b", "c"]
    assert closed.is_set()


async def test_leaving_a_stream_early_stops_the_trio_side(nursery: trio.Nursery) -> None:
    bridge = TrioBridge(trio.lowlevel.current_trio_token(), nursery)
    closed = trio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
        finally:
            closed.set()

    async def consume() -> int:
        async with bridge.stream(endless) as ones:
            return await anext(ones)

    assert await trio.to_thread.run_sync(asyncio.run, consume()) == 1
    with trio.fail_after(5):
        await closed.wait()


async def test_stopping_trio_fails_bridged_work_with_unavailable() -> None:
    stream_started = trio.Event()
    call_started = trio.Event()
    outcomes: list[str] = []
    consumer_done = trio.Event()

    async def quiet() -> AsyncIterator[int]:
        stream_started.set()
        await trio.sleep_forever()
        yield 0  # pragma: no cover - never reached; makes this a generator

    async def hang() -> None:
        call_started.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as outer:
        bridged = await outer.start(_hold_nursery)
        bridge = TrioBridge(trio.lowlevel.current_trio_token(), bridged)

        async def consume() -> list[str]:
            async def stream_part() -> str:
                try:
                    async with bridge.stream(quiet) as items:
                        async for _ in items:
                            return "item"
                except Unavailable as exc:
                    return exc.message
                return "ended"

            async def call_part() -> str:
                try:
                    await bridge.call(hang)
                except Unavailable as exc:
                    return exc.message
                return "returned"

            return list(await asyncio.gather(stream_part(), call_part()))

        async def run_consumer() -> None:
            outcomes.extend(await trio.to_thread.run_sync(asyncio.run, consume()))
            consumer_done.set()

        outer.start_soon(run_consumer)
        with trio.fail_after(5):
            await stream_started.wait()
            await call_started.wait()
        bridged.cancel_scope.cancel()
        with trio.fail_after(5):
            await consumer_done.wait()

        async def call_after_close() -> str:
            try:
                await bridge.call(trio.sleep, 0)
            except Unavailable as exc:
                return exc.message
            return "returned"

        late = await trio.to_thread.run_sync(asyncio.run, call_after_close())

    assert outcomes == ["the daemon is stopping", "the daemon is stopping"]
    assert late == "the daemon is stopping"


def test_bridge_outliving_trio_reports_unavailable() -> None:
    bridges: list[TrioBridge] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            bridges.append(TrioBridge(trio.lowlevel.current_trio_token(), nursery))

    trio.run(main)

    async def use() -> None:
        await bridges[0].call(trio.sleep, 0)

    with pytest.raises(Unavailable):
        asyncio.run(use())


async def test_stream_buffer_must_hold_an_item(nursery: trio.Nursery) -> None:
    bridge = TrioBridge(trio.lowlevel.current_trio_token(), nursery)

    async def nothing() -> AsyncIterator[int]:
        return
        yield  # pragma: no cover - makes this a generator

    with pytest.raises(ValueError, match="buffer"):
        bridge.stream(nothing, buffer=0)
