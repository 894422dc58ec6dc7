"""A TCP proxy that delays every byte by a fixed time each way: a mail server on loopback
made to look as far away as a real one.

    .venv/bin/python bench/delay_proxy.py TARGET_HOST TARGET_PORT ONE_WAY_MS

It listens on a free loopback port, prints that port on a line of its own once it
accepts connections, and runs until killed. Each direction keeps its order and adds the
delay to the time each piece arrived, so the bandwidth is the loopback's and only the
latency changes (a round trip takes twice ONE_WAY_MS more). It runs in its own process,
so that its work does not count against the benchmarked one's.
"""

from __future__ import annotations

import sys

import trio

PIECE = 256 * 1024


async def _delayed_copy(source: trio.SocketStream, sink: trio.SocketStream,
                        delay: float) -> None:
    send, receive = trio.open_memory_channel[tuple[float, bytes]](1024)

    async def forward() -> None:
        async with receive:
            async for due, data in receive:
                await trio.sleep_until(due)
                await sink.send_all(data)
        await sink.send_eof()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(forward)
        async with send:
            while data := await source.receive_some(PIECE):
                await send.send((trio.current_time() + delay, data))


async def _serve(client: trio.SocketStream, host: str, port: int, delay: float) -> None:
    try:
        server = await trio.open_tcp_stream(host, port)
    except OSError:
        await client.aclose()
        return
    async with client, server:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_delayed_copy, client, server, delay)
                nursery.start_soon(_delayed_copy, server, client, delay)
        except* (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass  # one side went away: the other is closed with it


async def main(host: str, port: int, one_way_ms: float) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    print(listeners[0].socket.getsockname()[1], flush=True)

    async def handle(stream: trio.SocketStream) -> None:
        await _serve(stream, host, port, one_way_ms / 1000)

    await trio.serve_listeners(handle, listeners)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
