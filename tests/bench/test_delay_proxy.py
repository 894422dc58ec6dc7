"""The benchmarks' delaying proxy: bytes pass unchanged and in order, each way later by
the delay, and one side's end reaches the other."""

from __future__ import annotations

import functools
import random

import trio

from bench.sync import delaying_proxy

ONE_WAY_MS = 50


async def _echo(stream: trio.SocketStream) -> None:
    async with stream:
        while data := await stream.receive_some():
            await stream.send_all(data)


async def _read(stream: trio.SocketStream, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        data = await stream.receive_some()
        assert data, "closed early"
        got += data
    return bytes(got)


async def test_the_proxy_delays_each_way_and_keeps_every_byte() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, _echo, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        with delaying_proxy("127.0.0.1", port, ONE_WAY_MS) as proxied:
            stream = await trio.open_tcp_stream("127.0.0.1", proxied)
            async with stream:
                started = trio.current_time()
                await stream.send_all(b"ping")
                assert await _read(stream, 4) == b"ping"
                assert trio.current_time() - started >= 2 * ONE_WAY_MS / 1000

                payload = random.Random(1).randbytes(3 * 1024 * 1024)
                async with trio.open_nursery() as inner:
                    inner.start_soon(stream.send_all, payload)
                    assert await _read(stream, len(payload)) == payload

                await stream.send_eof()
                with trio.fail_after(10):
                    assert await stream.receive_some() == b""  # the echo's end came back
        nursery.cancel_scope.cancel()
