"""A scripted SMTP server on trio memory streams, for driving the client in tests.

A test writes the server side as a coroutine over :class:`ScriptedServer`: read the
client's next line, check it, write the reply. :func:`fake_smtp` runs that script beside
a client connected over ``memory_stream_pair``. By default the harness sends the
greeting and answers the first EHLO with ``extensions``; the script starts after that.
When the script returns, the server answers QUIT with 221 (anything else with 250)
until the client goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import trio
import trio.testing

from tidings.smtp import SmtpClient, SmtpParams, start_session
from tidings.smtp.transport import SmtpTransport

__all__ = ["EXTENSIONS", "Script", "ScriptedServer", "connector", "ehlo_lines", "fake_smtp",
           "params"]

EXTENSIONS = ("PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8", "AUTH PLAIN LOGIN",
              "ENHANCEDSTATUSCODES")


def params(**overrides: Any) -> SmtpParams:
    fields: dict[str, Any] = {"host": "fake.test", "port": 587, "security": "plain",
                              "allow_plaintext": True, "timeout": 10.0}
    fields.update(overrides)
    return SmtpParams(**fields)


class ScriptedServer:
    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._buf = bytearray()
        self.lines: list[bytes] = []
        """Every command line the server read, in order (without CRLF)."""
        self.closed = False

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        if not data:
            raise EOFError("client closed the connection")
        self._buf += data

    @property
    def pending(self) -> bytes:
        """What the client sent that the script has not read yet."""
        return bytes(self._buf)

    async def read_line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            await self._fill()
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        self.lines.append(line)
        return line

    async def expect(self, verb: str) -> bytes:
        line = await self.read_line()
        assert line.upper().startswith(verb.upper().encode()), f"expected {verb}, got {line!r}"
        return line

    async def read_data(self) -> bytes:
        """The raw DATA octets up to and including the CRLF.CRLF end marker."""
        while (end := self._buf.find(b"\r\n.\r\n")) < 0 and not self._buf.startswith(b".\r\n"):
            await self._fill()
        stop = 3 if end < 0 else end + 5
        data = bytes(self._buf[:stop])
        del self._buf[:stop]
        return data

    async def hang(self) -> None:
        """Answer nothing more; return once the client has closed the connection."""
        while True:
            await self._fill()

    async def send(self, *lines: str | bytes) -> None:
        """Each line gets a CRLF; all go in one write."""
        data = b"".join((x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines)
        await self.stream.send_all(data)

    async def ehlo(self, extensions: Sequence[str]) -> None:
        await self.expect("EHLO")
        await self.send(*ehlo_lines(extensions))

    async def serve_rest(self) -> None:
        try:
            while True:
                line = await self.read_line()
                if line.upper() == b"QUIT":
                    await self.send("221 2.0.0 bye")
                    await self.stream.aclose()
                    return
                await self.send("250 2.0.0 ok")
        except (EOFError, trio.BrokenResourceError, trio.ClosedResourceError):
            self.closed = True


def ehlo_lines(extensions: Sequence[str]) -> list[str]:
    names = ["fake.test greets you", *extensions]
    return [f"250-{n}" for n in names[:-1]] + [f"250 {names[-1]}"]


Script = Callable[[ScriptedServer], Coroutine[Any, Any, None]]


async def _nothing(server: ScriptedServer) -> None:
    return None


@asynccontextmanager
async def fake_smtp(
    script: Script = _nothing,
    *,
    connect: SmtpParams | None = None,
    greeting: str = "220 fake.test ESMTP ready",
    extensions: Sequence[str] | None = EXTENSIONS,
) -> AsyncIterator[tuple[SmtpClient, ScriptedServer]]:
    """A client talking to ``script``. ``extensions=None``: the script answers EHLO
    itself (and everything else after the greeting)."""
    client_stream, server_stream = trio.testing.memory_stream_pair()
    server = ScriptedServer(server_stream)
    p = connect or params()

    async def run_server() -> None:
        try:
            await server.send(greeting)
            if extensions is not None:
                await server.ehlo(extensions)
            await script(server)
            await server.serve_rest()
        except (EOFError, trio.BrokenResourceError, trio.ClosedResourceError):
            server.closed = True  # the client left first: not a failure of the script

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_server)
            transport = SmtpTransport(client_stream, tls=False, timeout=p.timeout,
                                      limits=p.limits)
            client = await start_session(transport, p)
            try:
                yield client, server
            finally:
                await client.aclose()
    except BaseExceptionGroup as group:
        # Show the one real failure (client or script) as itself.
        if len(group.exceptions) == 1:
            failure = group.exceptions[0]
            raise failure from failure.__cause__  # keep the cause the client gave it
        raise


def connector(scripts: list[Script], **kwargs: Any
              ) -> Callable[[SmtpParams], AbstractAsyncContextManager[SmtpClient]]:
    """A ``connect`` for :func:`send_with_retry`: each call runs the next script.
    ``scripts`` is consumed, so a test can check how many connections were made."""

    @asynccontextmanager
    async def connect(p: SmtpParams) -> AsyncIterator[SmtpClient]:
        async with fake_smtp(scripts.pop(0), connect=p, **kwargs) as (client, _server):
            yield client

    return connect
