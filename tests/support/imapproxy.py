"""Plaintext TCP proxies in front of Dovecot that misbehave on purpose, as some servers
do: one rewrites every UIDVALIDITY the server reports so that each session sees a
different value; one refuses sessions past a limit."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable

import trio

__all__ = ["FlappingUidValidityProxy", "SessionLimitProxy"]

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


async def _serve_on_loopback(handler: Callable[[trio.SocketStream], Awaitable[None]],
                             task_status: trio.TaskStatus[int]) -> None:
    """Serve `handler` on a free loopback port, which `task_status` reports."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handler, listeners)


async def _relay(client: trio.SocketStream, upstream: tuple[str, int],
                 shift: int | None = None) -> None:
    """Pass `client`'s session to the server at `upstream` and back, until either side
    ends it; with `shift`, every UIDVALIDITY the server reports is raised by it."""
    async with await trio.open_tcp_stream(*upstream) as server, \
            trio.open_nursery() as nursery:
        nursery.start_soon(_pump, client, server, None, nursery.cancel_scope)
        nursery.start_soon(_pump, server, client, shift, nursery.cancel_scope)


async def _pump(source: trio.SocketStream, sink: trio.SocketStream, shift: int | None,
                scope: trio.CancelScope) -> None:
    pending = b""
    try:
        while data := await source.receive_some(65536):
            if shift is None:
                await sink.send_all(data)
                continue
            # Rewrite whole lines only, so a number split across reads is not missed.
            pending += data
            head, sep, pending = pending.rpartition(b"\n")
            if sep:
                await sink.send_all(_UIDVALIDITY.sub(
                    lambda m: b"UIDVALIDITY %d" % (int(m.group(1)) + shift), head + sep))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        scope.cancel()


class FlappingUidValidityProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.sessions = 0

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        await _serve_on_loopback(self._handle, task_status)

    async def _handle(self, client: trio.SocketStream) -> None:
        self.sessions += 1
        async with client:
            await _relay(client, self.upstream, shift=self.sessions * 1000)


class SessionLimitProxy:
    """Passes sessions through to the upstream server, at most `allowed` at once: one
    more is greeted with BYE and closed, as a server with a lower per-account connection
    limit than its provider preset's does. Counts the most sessions open at once, and
    the sessions refused."""

    def __init__(self, upstream_host: str, upstream_port: int, allowed: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.allowed = allowed
        self.open = 0
        self.peak = 0
        self.refused = 0
        self._closed = trio.Event()  # set, and replaced, when a session ends

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        await _serve_on_loopback(self._handle, task_status)

    async def _handle(self, client: trio.SocketStream) -> None:
        async with client:
            if self.open >= self.allowed:
                self.refused += 1
                with contextlib.suppress(trio.BrokenResourceError):
                    await client.send_all(b"* BYE Too many connections for this account\r\n")
                return
            self.open += 1
            self.peak = max(self.peak, self.open)
            try:
                await _relay(client, self.upstream)
            finally:
                self.open -= 1
                self._closed.set()
                self._closed = trio.Event()

    async def wait_all_closed(self) -> None:
        """Until no session is open."""
        while self.open:
            await self._closed.wait()
