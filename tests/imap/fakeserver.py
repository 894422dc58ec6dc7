"""A scripted IMAP server on trio memory streams, for driving the client in tests.

A test writes the server side as a coroutine over :class:`ScriptedServer`: read the
client's next command, check it, write the answer. :func:`fake_imap` runs that script
beside a client connected over ``memory_stream_pair`` (or ``lockstep_stream_pair``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
import trio.testing

from tidings.imap.client import ImapClient, start_session
from tidings.imap.transport import ConnectParams, Transport

__all__ = ["CAPS", "Command", "ScriptedServer", "fake_imap", "params"]

CAPS = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS MOVE ESEARCH CONDSTORE AUTH=PLAIN"
_LITERAL = re.compile(rb"~?\{(\d+)(\+?)\}\Z")


def params(**overrides: object) -> ConnectParams:
    base: dict[str, object] = {"host": "fake.test", "port": 143, "security": "plain",
                               "allow_plaintext": True, "timeout": 10.0}
    base.update(overrides)
    return ConnectParams(**base)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Command:
    tag: str
    name: str
    """Upper-cased command word, two words for UID commands (``"UID FETCH"``)."""
    raw: bytes
    """The whole command as sent, literals included, without the final CRLF."""

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")


class ScriptedServer:
    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._buf = bytearray()
        self.received = 0
        self.closed = False

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        if not data:
            raise EOFError("client closed the connection")
        self.received += len(data)
        self._buf += data

    async def read_line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            await self._fill()
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    async def read_exactly(self, size: int) -> bytes:
        while len(self._buf) < size:
            await self._fill()
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    async def read_command(self) -> Command:
        """One command; synchronizing literals get a ``+`` as a real server would."""
        parts = [await self.read_line()]
        while match := _LITERAL.search(parts[-1]):
            if not match.group(2):
                await self.send("+ go ahead")
            parts.append(b"\r\n" + await self.read_exactly(int(match.group(1))))
            parts.append(await self.read_line())
        raw = b"".join(parts)
        words = raw.split(b" ", 3)
        tag = words[0].decode()
        name = words[1].decode().upper()
        if name == "UID" and len(words) > 2:
            name = f"UID {words[2].decode().upper()}"
        return Command(tag, name, raw)

    async def expect(self, name: str) -> Command:
        cmd = await self.read_command()
        assert cmd.name == name, f"expected {name}, got {cmd.raw!r}"
        return cmd

    async def send(self, *lines: str | bytes) -> None:
        """Each line gets a CRLF; all go in one write."""
        data = b"".join((x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines)
        await self.stream.send_all(data)

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def ok(self, cmd: Command, *untagged: str | bytes, text: str = "done") -> None:
        await self.send(*untagged, f"{cmd.tag} OK {text}")

    async def serve_rest(self) -> None:
        """After the script: answer NOOP/LOGOUT until the client goes away."""
        try:
            while True:
                cmd = await self.read_command()
                if cmd.name == "LOGOUT":
                    await self.send("* BYE bye", f"{cmd.tag} OK logged out")
                else:
                    await self.ok(cmd)
        except (EOFError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def wait_closed(self) -> None:
        """Until the client has closed its end (everything it sent is read)."""
        try:
            while True:
                await self._fill()
        except (EOFError, trio.BrokenResourceError, trio.ClosedResourceError):
            self.closed = True


Script = Callable[[ScriptedServer], Awaitable[None]]


async def _tcp_pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    async with listener:
        port = listener.socket.getsockname()[1]
        client = await trio.open_tcp_stream("127.0.0.1", port)
        server = await listener.accept()
    return client, server


@asynccontextmanager
async def fake_imap(
    script: Script,
    *,
    connect: ConnectParams | None = None,
    greeting: str = f"* OK [CAPABILITY {CAPS}] fake ready",
    lockstep: bool = False,
    tcp: bool = False,
) -> AsyncIterator[tuple[ImapClient, ScriptedServer]]:
    """A client talking to ``script``. The script runs after the greeting; when it
    returns, the server answers LOGOUT (and anything else with OK) until closed. With
    `tcp`, the two talk over a real loopback TCP connection instead of memory streams."""
    client_stream: trio.abc.Stream
    server_stream: trio.abc.Stream
    if tcp:
        client_stream, server_stream = await _tcp_pair()
    else:
        pair = (trio.testing.lockstep_stream_pair if lockstep
                else trio.testing.memory_stream_pair)
        client_stream, server_stream = pair()
    server = ScriptedServer(server_stream)
    p = connect or params()

    async def run_server() -> None:
        try:
            await server.send(greeting)
            await script(server)
            await server.serve_rest()
        except (EOFError, trio.BrokenResourceError, trio.ClosedResourceError):
            server.closed = True  # the client left first: not a failure of the script

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_server)
            transport = Transport(client_stream, tls=False, timeout=p.timeout,
                                  limits=p.limits)
            client = await start_session(transport, p)
            try:
                yield client, server
            finally:
                await client.aclose()
    except BaseExceptionGroup as group:
        # Show the one real failure (client or script) as itself.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
