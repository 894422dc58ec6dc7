"""Connection plumbing shared by the client's commands: one command at a time, replies
in order, greeting, EHLO (with the HELO fallback), STARTTLS, RSET, NOOP and QUIT.

A failure that leaves the exchange in step (a failure reply, a request refused before
anything was sent) keeps the connection usable; anything else (timeout, lost
connection, protocol error, cancellation in the middle of a command) marks it broken.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import structlog
import trio

from .encode import command
from .errors import (
    MessageTooLarge,
    SmtpCommandError,
    SmtpConnectionLost,
    SmtpError,
    SmtpReplyError,
    SmtpTlsRequired,
)
from .replies import Reply
from .transport import SmtpParams, SmtpTransport

__all__ = ["QUIT_TIMEOUT", "SmtpSession", "parse_ehlo"]

log = structlog.get_logger("tidings.smtp")

# QUIT is a courtesy: never hold a cancelled task longer than this for it.
QUIT_TIMEOUT = 5.0
# Failures after which client and server still agree on where the exchange stands.
_IN_STEP = (SmtpReplyError, SmtpCommandError, MessageTooLarge, SmtpTlsRequired)
# RFC 5321 §4.1.1.1: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
# RFC 5321 §3.2: a server without EHLO answers one of these; the client falls back to HELO.
_NO_EHLO = frozenset({500, 501, 502, 504, 550})


def parse_ehlo(reply: Reply) -> dict[str, str]:
    """EHLO keywords (upper-cased) → their parameters. The first line is the server's
    name, not an extension. ``AUTH=...`` lines (from before RFC 4954) merge into AUTH."""
    extensions: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword.upper().startswith("AUTH="):
            keyword, params = "AUTH", f"{keyword[5:]} {params}"
        if not _KEYWORD.match(keyword):
            continue
        keyword = keyword.upper()
        params = " ".join(params.split())
        if keyword == "AUTH" and keyword in extensions:
            merged = extensions[keyword].split() + params.split()
            params = " ".join(dict.fromkeys(m.upper() for m in merged))
        extensions[keyword] = params
    return extensions


def _size_limit(extensions: dict[str, str]) -> int | None:
    """RFC 1870 §4: ``SIZE n``; a missing or zero value means no fixed limit."""
    value = extensions.get("SIZE", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


class SmtpSession:
    """One SMTP connection's state and plumbing; :class:`~.client.SmtpClient` adds
    authentication and sending."""

    def __init__(self, transport: SmtpTransport, params: SmtpParams) -> None:
        self.params = params
        self._transport = transport
        self.greeting = ""
        self.extensions: dict[str, str] = {}
        """EHLO keywords (upper-cased) → their parameters."""
        self.max_size: int | None = None
        """The server's SIZE limit in octets, None when it declares none."""
        self.authenticated = False
        self._busy: str | None = None

    @property
    def tls(self) -> bool:
        return self._transport.tls

    @property
    def broken(self) -> str | None:
        """Why the connection is unusable, or None while it is healthy."""
        return self._transport.broken

    def has(self, keyword: str) -> bool:
        return keyword.upper() in self.extensions

    @property
    def auth_mechanisms(self) -> frozenset[str]:
        return frozenset(self.extensions.get("AUTH", "").upper().split())

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _operation(self, name: str) -> Iterator[None]:
        """One command sequence at a time; a sequence that ends other than in step
        leaves the connection broken."""
        if self._busy is not None:
            raise SmtpCommandError(f"{name} while {self._busy} is in progress")
        self._transport.check()
        self._busy = name
        in_step = False
        try:
            yield
            in_step = True
        except _IN_STEP:
            in_step = True
            raise
        finally:
            self._busy = None
            if not in_step:
                self._transport.mark_broken(f"{name} did not complete")

    async def _send(self, data: bytes, verb: str) -> None:
        # Only the verb is logged: arguments hold addresses and credentials.
        log.debug("smtp.command", verb=verb, host=self.params.host)
        await self._transport.send(data)

    async def _reply(self, verb: str) -> Reply:
        reply = await self._transport.next_reply()
        if reply.code == 421:
            # RFC 5321 §3.8: 421 means the server is closing the channel.
            await self._transport.abort("server sent 421")
            raise SmtpReplyError(verb, reply.code, reply.text, reply.enhanced)
        return reply

    async def _command(self, line: bytes, verb: str) -> Reply:
        await self._send(line, verb)
        return await self._reply(verb)

    @staticmethod
    def _failure(verb: str, reply: Reply) -> SmtpReplyError:
        return SmtpReplyError(verb, reply.code, reply.text, reply.enhanced)

    # --- session setup --------------------------------------------------------------------

    async def _greet(self) -> None:
        reply = await self._reply("CONNECT")
        if reply.code != 220:
            # RFC 5321 §3.1: 554 instead of 220 means "no service here".
            await self._transport.abort("greeting refused")
            raise self._failure("CONNECT", reply)
        self.greeting = reply.text

    async def _hello(self) -> None:
        name = self.params.local_hostname
        reply = await self._command(command("EHLO", name), "EHLO")
        if reply.positive:
            self.extensions = parse_ehlo(reply)
        elif reply.code in _NO_EHLO:
            reply = await self._command(command("HELO", name), "HELO")
            if not reply.positive:
                raise self._failure("HELO", reply)
            self.extensions = {}
        else:
            raise self._failure("EHLO", reply)
        self.max_size = _size_limit(self.extensions)

    async def _starttls(self) -> None:
        """RFC 3207: upgrade, then forget everything learnt in clear text (§4.2)."""
        if not self.has("STARTTLS"):
            raise SmtpTlsRequired(f"{self.params.host} does not offer STARTTLS")
        reply = await self._command(command("STARTTLS"), "STARTTLS")
        if reply.code != 220:
            raise self._failure("STARTTLS", reply)
        await self._transport.start_tls(self.params.make_ssl_context(),
                                        self.params.tls_hostname)
        self.extensions = {}
        self.max_size = None
        await self._hello()

    async def _setup(self) -> None:
        with self._operation("connect"):
            await self._greet()
            await self._hello()
            if self.params.security == "starttls" and not self._transport.tls:
                await self._starttls()

    # --- simple commands ------------------------------------------------------------------

    async def noop(self) -> None:
        with self._operation("NOOP"):
            reply = await self._command(command("NOOP"), "NOOP")
            if not reply.positive:
                raise self._failure("NOOP", reply)

    async def rset(self) -> None:
        """Abort the mail transaction in progress, if any (RFC 5321 §4.1.1.5)."""
        with self._operation("RSET"):
            await self._rset()

    async def _rset(self) -> None:
        reply = await self._command(command("RSET"), "RSET")
        if not reply.positive:
            raise self._failure("RSET", reply)

    async def quit(self) -> None:
        """QUIT (RFC 5321 §4.1.1.10) and close the connection."""
        try:
            with self._operation("QUIT"), suppress(SmtpConnectionLost):
                # The server may close the connection right after its 221.
                await self._command(command("QUIT"), "QUIT")
        finally:
            await self._transport.aclose()

    async def aclose(self) -> None:
        """QUIT (best effort, bounded, shielded), then close the stream."""
        if self._transport.broken is None and self._busy is None:
            with trio.move_on_after(min(QUIT_TIMEOUT, self.params.timeout), shield=True):
                with suppress(SmtpError):
                    await self.quit()
        await self._transport.aclose()
