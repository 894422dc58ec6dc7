"""The byte pipe under the client: TCP, TLS, STARTTLS upgrade, and the response reader.

Every network wait runs under a deadline. Any failure (timeout, broken stream, bad
bytes from the server) leaves the transport *broken*: the stream is closed and later
use raises :class:`ConnectionLost`, because the exchange is out of step for good.
"""

from __future__ import annotations

import functools
import math
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Literal

import trio

from .errors import ConnectionLost, ImapError, ImapTimeout, ProtocolError
from .limits import DEFAULT_LIMITS, Limits
from .reader import LiteralPiece, NeedData, ResponseReader
from .responses import Response

__all__ = ["RECEIVE_SIZE", "ConnectParams", "Transport", "default_ssl_context", "open_transport"]

RECEIVE_SIZE = 256 * 1024
# Streamed literal pieces from this size on are read straight into the piece.
READ_INTO_FROM = 64 * 1024
CLOSE_TIMEOUT = 2.0

Security = Literal["tls", "starttls", "plain"]


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's trusted CAs, loaded once and shared by every connection that
    brings no context of its own: loading them takes tens of milliseconds of CPU
    (some 45 ms for 144 CAs), too much to spend on each short-lived connection."""
    return ssl.create_default_context()


@dataclass(frozen=True, slots=True)
class ConnectParams:
    """How to reach one IMAP server.

    ``security``: ``"tls"`` (implicit TLS, port 993, preferred), ``"starttls"``
    (upgrade on port 143; never falls back to clear text) or ``"plain"``.
    Credentials are only sent over TLS unless ``allow_plaintext``. ``timeout`` bounds
    every single network wait. ``server_hostname`` is what the certificate must name
    (default: ``host``). At most ``max_unsolicited`` unsolicited responses are kept
    between two drains; older ones are dropped and counted.
    """

    host: str
    port: int
    security: Security = "tls"
    ssl_context: ssl.SSLContext | None = None
    allow_plaintext: bool = False
    timeout: float = 30.0
    limits: Limits = DEFAULT_LIMITS
    server_hostname: str | None = None
    max_unsolicited: int = 100_000

    def make_ssl_context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else default_ssl_context()

    @property
    def tls_hostname(self) -> str:
        return self.server_hostname or self.host


class Transport:
    """One connection's stream plus its :class:`ResponseReader`."""

    __slots__ = ("_broken", "limits", "reader", "stream", "timeout", "tls")

    def __init__(self, stream: trio.abc.Stream, *, tls: bool, timeout: float,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.stream = stream
        self.tls = tls
        self.timeout = timeout
        self.limits = limits
        self.reader = ResponseReader(limits)
        self._broken: str | None = None

    @property
    def broken(self) -> str | None:
        """Why the connection is unusable, or None while it is healthy."""
        return self._broken

    def mark_broken(self, reason: str) -> None:
        if self._broken is None:
            self._broken = reason

    def check(self) -> None:
        if self._broken is not None:
            raise ConnectionLost(f"connection unusable: {self._broken}")

    async def abort(self, reason: str) -> None:
        """Drop the connection without a goodbye (after a protocol error or timeout)."""
        self.mark_broken(reason)
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(self.stream)

    async def aclose(self) -> None:
        """Close politely (a TLS close_notify), within a short shielded deadline;
        trio closes the stream for good even when that deadline cuts it short."""
        polite = self._broken is None
        self.mark_broken("closed")
        if not polite:
            await self.abort("closed")
            return
        with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
            with suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                await self.stream.aclose()

    async def send(self, data: bytes) -> None:
        self.check()
        try:
            with trio.fail_after(self.timeout):
                await self.stream.send_all(data)
        except trio.TooSlowError:
            await self.abort("send timed out")
            raise ImapTimeout(f"sending to the server took over {self.timeout} s") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            await self.abort(f"send failed: {exc!r}")
            raise ConnectionLost(f"connection lost while sending: {exc!r}") from exc

    def poll(self) -> Response | None:
        """The next response if one is already buffered and complete, else None."""
        try:
            event = self.reader.next_event()
        except ImapError as exc:
            self.mark_broken(str(exc))
            raise
        return None if isinstance(event, NeedData) else event

    async def next_response(self, *, patient: bool = False) -> Response:
        """The next response, reading as needed. The wait ends with
        :class:`ImapTimeout` once the server has sent nothing for the connection's
        timeout; a ``patient`` wait has no limit (IDLE: the caller holds its own).
        """
        self.check()
        try:
            first = self.reader.next_event()
        except ImapError as exc:  # ProtocolError, LimitExceeded, ConnectionLost
            await self.abort(str(exc))
            raise
        if not isinstance(first, NeedData):
            return first
        reader = self.reader
        receive_some = self.stream.receive_some
        timeout = self.timeout
        # One cancel scope per wait, its deadline pushed forward after every read:
        # a large response takes many reads and a scope per read would cost more
        # than the parsing (this is the hot path of a mailbox download).
        scope = trio.CancelScope(deadline=math.inf if patient else trio.current_time() + timeout)
        try:
            with scope:
                while True:
                    data = await receive_some(RECEIVE_SIZE)
                    reader.receive_data(bytes(data))
                    event = self._next_event_or_none()
                    if event is not None:
                        return event
                    if not patient:
                        scope.deadline = trio.current_time() + timeout
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            await self.abort(f"receive failed: {exc!r}")
            raise ConnectionLost(f"connection lost while receiving: {exc!r}") from exc
        except ImapError as exc:  # ProtocolError, LimitExceeded, ConnectionLost
            await self.abort(str(exc))
            raise
        # Only reached when the deadline cancelled the read.
        await self.abort("receive timed out")
        raise ImapTimeout(f"no answer from the server within {timeout} s")

    async def next_piece(self, most: int) -> Response | LiteralPiece:
        """With :meth:`ResponseReader.stream_literals` on: the next response, or the next
        `most` octets of a streamed literal (fewer only at its end). Memory holds about
        `most` octets plus one read, however large the literal. Deadlines and failures
        are those of :meth:`next_response`."""
        self.check()
        reader = self.reader
        try:
            while True:
                # NEED_DATA while a literal streams; raises once the server has gone.
                event = reader.next_event()
                if not isinstance(event, NeedData):
                    return event
                streamed = reader.streamed
                if streamed is None:
                    await self._receive(RECEIVE_SIZE)
                    continue
                wanted = min(most, streamed.left)
                if reader.buffered >= wanted:
                    data = reader.take_literal(most)
                    return LiteralPiece(streamed.head, data, streamed.left)
                if wanted >= READ_INTO_FROM:
                    return await self._read_piece(streamed.head, wanted)
                await self._receive(max(RECEIVE_SIZE, wanted - reader.buffered))
        except ImapError as exc:  # ProtocolError, LimitExceeded, ConnectionLost
            await self.abort(str(exc))
            raise

    async def _read_piece(self, head: bytes, size: int) -> LiteralPiece:
        """The next `size` octets of the streamed literal, read straight into the
        piece that is handed on: no copy through the reader's buffer."""
        reader = self.reader
        piece = bytearray(size)
        with memoryview(piece) as view:
            filled = reader.take_literal_into(view)
            while filled < size:
                count = await self._receive_into(view[filled:])
                reader.literal_read_past(count)
                filled += count
        streamed = reader.streamed
        return LiteralPiece(head, piece, streamed.left if streamed is not None else 0)

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[None]:
        """One read within the connection's timeout. A timeout or a broken stream breaks
        the transport and leaves as :class:`ImapTimeout` or :class:`ConnectionLost`."""
        try:
            with trio.fail_after(self.timeout):
                yield
        except trio.TooSlowError:
            await self.abort("receive timed out")
            raise ImapTimeout(f"no answer from the server within {self.timeout} s") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            await self.abort(f"receive failed: {exc!r}")
            raise ConnectionLost(f"connection lost while receiving: {exc!r}") from exc

    async def _receive_into(self, target: memoryview) -> int:
        """One read into `target`, within the connection's timeout; at least one octet."""
        stream = self.stream
        async with self._reading():
            if isinstance(stream, trio.SocketStream):
                count = await stream.socket.recv_into(target, len(target))
            else:
                data = await stream.receive_some(len(target))
                count = len(data)
                target[:count] = data
        if not count:
            await self.abort("server closed the connection in a literal")
            raise ConnectionLost("server closed the connection in the middle of a literal")
        return count

    async def _receive(self, size: int) -> None:
        """One read into the reader, within the connection's timeout."""
        async with self._reading():
            data = await self.stream.receive_some(size)
        self.reader.receive_data(bytes(data))

    def _next_event_or_none(self) -> Response | None:
        event = self.reader.next_event()
        return None if isinstance(event, NeedData) else event

    async def start_tls(self, context: ssl.SSLContext, hostname: str) -> None:
        """Upgrade after the tagged OK to STARTTLS (RFC 9051 §6.2.1).

        Octets already received after that OK were sent in clear text before the
        handshake: a man in the middle can inject them (CVE-2011-0411 class), so their
        presence is an attack, not a quirk: drop the connection.
        """
        pending = self.reader.buffered
        if pending:
            await self.abort("data after STARTTLS")
            raise ProtocolError(
                f"server sent {pending} octets after the STARTTLS reply, before TLS "
                "began: possible response injection, connection dropped"
            )
        self.reader.discard_buffered()
        tls_stream = trio.SSLStream(self.stream, context, server_hostname=hostname)
        await _handshake(tls_stream, self.timeout, hostname)
        self.stream = tls_stream
        self.tls = True


async def _handshake(stream: trio.SSLStream[trio.abc.Stream], seconds: float,
                     hostname: str) -> None:
    try:
        with trio.fail_after(seconds):
            await stream.do_handshake()
    except trio.TooSlowError:
        await trio.aclose_forcefully(stream)
        raise ImapTimeout(f"TLS handshake with {hostname} took over {seconds} s") from None
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        await trio.aclose_forcefully(stream)
        cause = exc.__cause__ or exc
        raise ConnectionLost(f"TLS handshake with {hostname} failed: {cause}") from exc


async def open_transport(params: ConnectParams) -> Transport:
    """TCP connect, plus the TLS handshake for implicit TLS."""
    try:
        with trio.fail_after(params.timeout):
            tcp: trio.abc.Stream = await trio.open_tcp_stream(params.host, params.port)
    except trio.TooSlowError:
        raise ImapTimeout(
            f"connecting to {params.host}:{params.port} took over {params.timeout} s"
        ) from None
    except OSError as exc:
        raise ConnectionLost(f"cannot connect to {params.host}:{params.port}: {exc}") from exc
    if params.security != "tls":
        return Transport(tcp, tls=False, timeout=params.timeout, limits=params.limits)
    tls_stream = trio.SSLStream(tcp, params.make_ssl_context(),
                                server_hostname=params.tls_hostname)
    await _handshake(tls_stream, params.timeout, params.tls_hostname)
    return Transport(tls_stream, tls=True, timeout=params.timeout, limits=params.limits)
