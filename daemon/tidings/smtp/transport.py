"""The byte pipe under the SMTP client: TCP, TLS, the STARTTLS upgrade, and replies.

Every network wait runs under the connection's deadline. Any failure (timeout, broken
stream, bad bytes from the server) leaves the transport *broken*: the stream is closed
and later use raises :class:`SmtpConnectionLost`, because the exchange is out of step.
"""

from __future__ import annotations

import functools
import ssl
from contextlib import suppress
from dataclasses import dataclass
from typing import Literal

import trio

from .errors import SmtpConnectionLost, SmtpError, SmtpProtocolError, SmtpTimeout
from .replies import DEFAULT_REPLY_LIMITS, NeedData, Reply, ReplyLimits, ReplyReader

__all__ = ["SEND_CHUNK", "Security", "SmtpParams", "SmtpTransport", "default_ssl_context",
           "open_transport"]

RECEIVE_SIZE = 16 * 1024
# DATA goes out in chunks, each under its own deadline: a large message on a slow link
# keeps making progress, a stalled one still times out.
SEND_CHUNK = 64 * 1024
CLOSE_TIMEOUT = 2.0

Security = Literal["tls", "starttls", "plain"]


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's trusted CAs, loaded once and shared by every connection that
    brings no context of its own: loading them takes tens of milliseconds of CPU
    (some 45 ms for 144 CAs), too much to spend on each short-lived connection."""
    return ssl.create_default_context()


@dataclass(frozen=True, slots=True)
class SmtpParams:
    """How to reach one submission server.

    ``security``: ``"tls"`` (implicit TLS, port 465, preferred: RFC 8314 §3.3),
    ``"starttls"`` (upgrade on port 587; never falls back to clear text) or
    ``"plain"``. Credentials go over clear text only with ``allow_plaintext``.
    ``timeout`` bounds every single network wait. ``local_hostname`` is our name in
    EHLO; ``server_hostname`` is what the certificate must name (default: ``host``).
    """

    host: str
    port: int
    security: Security = "tls"
    ssl_context: ssl.SSLContext | None = None
    allow_plaintext: bool = False
    timeout: float = 30.0
    local_hostname: str = "tidings.localdomain"
    server_hostname: str | None = None
    limits: ReplyLimits = DEFAULT_REPLY_LIMITS

    def make_ssl_context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else default_ssl_context()

    @property
    def tls_hostname(self) -> str:
        return self.server_hostname or self.host


class SmtpTransport:
    """One connection's stream plus its :class:`ReplyReader`."""

    __slots__ = ("_broken", "reader", "stream", "timeout", "tls")

    def __init__(self, stream: trio.abc.Stream, *, tls: bool, timeout: float,
                 limits: ReplyLimits = DEFAULT_REPLY_LIMITS) -> None:
        self.stream = stream
        self.tls = tls
        self.timeout = timeout
        self.reader = ReplyReader(limits)
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
            raise SmtpConnectionLost(f"connection unusable: {self._broken}")

    async def abort(self, reason: str) -> None:
        """Drop the connection without a goodbye."""
        self.mark_broken(reason)
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(self.stream)

    async def aclose(self) -> None:
        """Close politely (a TLS close_notify) within a short shielded deadline."""
        polite = self._broken is None
        self.mark_broken("closed")
        if not polite:
            await self.abort("closed")
            return
        with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
            with suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                await self.stream.aclose()
        await self.abort("closed")

    async def send(self, data: bytes) -> None:
        self.check()
        try:
            with trio.fail_after(self.timeout):
                await self.stream.send_all(data)
        except trio.TooSlowError:
            await self.abort("send timed out")
            raise SmtpTimeout(f"sending to the server took over {self.timeout} s") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            await self.abort(f"send failed: {exc!r}")
            raise SmtpConnectionLost(f"connection lost while sending: {exc!r}") from exc

    async def next_reply(self) -> Reply:
        """The next reply, reading as needed; :class:`SmtpTimeout` once the server has
        sent nothing for the connection's timeout."""
        try:
            reply = self.reader.next_reply()
            if not isinstance(reply, NeedData):
                return reply
            self.check()
            with trio.fail_after(self.timeout):
                while True:
                    data = await self.stream.receive_some(RECEIVE_SIZE)
                    self.reader.receive_data(bytes(data))
                    reply = self.reader.next_reply()
                    if not isinstance(reply, NeedData):
                        return reply
        except trio.TooSlowError:
            await self.abort("receive timed out")
            raise SmtpTimeout(f"no reply from the server within {self.timeout} s") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            await self.abort(f"receive failed: {exc!r}")
            raise SmtpConnectionLost(f"connection lost while receiving: {exc!r}") from exc
        except SmtpError as exc:  # SmtpProtocolError, SmtpConnectionLost at end of stream
            await self.abort(str(exc))
            raise

    async def start_tls(self, context: ssl.SSLContext, hostname: str) -> None:
        """Upgrade after the 220 reply to STARTTLS (RFC 3207 §4.2).

        Octets already received after that reply were sent in clear text before the
        handshake: a man in the middle can inject them (CVE-2011-0411), so their
        presence is an attack, not a quirk: drop the connection.
        """
        pending = self.reader.buffered
        if pending:
            await self.abort("data after STARTTLS")
            raise SmtpProtocolError(
                f"server sent {pending} octets after the STARTTLS reply, before TLS "
                "began: possible command injection, connection dropped"
            )
        self.reader.discard_buffered()
        tls_stream = trio.SSLStream(self.stream, context, server_hostname=hostname)
        try:
            await _handshake(tls_stream, self.timeout, hostname)
        except SmtpError as exc:
            self.mark_broken(str(exc))
            raise
        self.stream = tls_stream
        self.tls = True


async def _handshake(stream: trio.SSLStream[trio.abc.Stream], seconds: float,
                     hostname: str) -> None:
    try:
        with trio.fail_after(seconds):
            await stream.do_handshake()
    except trio.TooSlowError:
        await trio.aclose_forcefully(stream)
        raise SmtpTimeout(f"TLS handshake with {hostname} took over {seconds} s") from None
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        await trio.aclose_forcefully(stream)
        cause = exc.__cause__ or exc
        raise SmtpConnectionLost(f"TLS handshake with {hostname} failed: {cause}") from exc


async def open_transport(params: SmtpParams) -> SmtpTransport:
    """TCP connect, plus the TLS handshake for implicit TLS."""
    try:
        with trio.fail_after(params.timeout):
            tcp: trio.abc.Stream = await trio.open_tcp_stream(params.host, params.port)
    except trio.TooSlowError:
        raise SmtpTimeout(
            f"connecting to {params.host}:{params.port} took over {params.timeout} s"
        ) from None
    except OSError as exc:
        raise SmtpConnectionLost(f"cannot connect to {params.host}:{params.port}: {exc}"
                                 ) from exc
    if params.security != "tls":
        return SmtpTransport(tcp, tls=False, timeout=params.timeout, limits=params.limits)
    tls_stream = trio.SSLStream(tcp, params.make_ssl_context(),
                                server_hostname=params.tls_hostname)
    await _handshake(tls_stream, params.timeout, params.tls_hostname)
    return SmtpTransport(tls_stream, tls=True, timeout=params.timeout, limits=params.limits)
