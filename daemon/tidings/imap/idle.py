"""IDLE (RFC 2177, RFC 9051 §6.3.13): wait for the server to push changes.

``async with client.idle() as pushes:`` sends IDLE and waits for ``+``;
``await pushes.next(timeout)`` returns what arrived (``[]`` on timeout); leaving the
block sends DONE and waits for the tagged OK. The server may drop an IDLE after 30
minutes (RFC 2177 §3), so one IDLE lasts at most ``max_idle`` (25 minutes by
default): once that is reached, :meth:`IdleSession.next` returns ``[]`` at once and
:attr:`IdleSession.expired` is True; leave the block and enter a new one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from .encode import encode_command
from .errors import CommandError, ImapError, ProtocolError
from .responses import Capability, Condition, Continuation, Response, Tagged
from .session import Session, log

__all__ = ["MAX_IDLE", "IdleSession", "idle"]

MAX_IDLE = 25 * 60.0


class IdleSession:
    """The pushes of one IDLE command."""

    def __init__(self, session: Session, tag: str, max_idle: float) -> None:
        self._session = session
        self._tag = tag
        self._ends_at = trio.current_time() + max_idle
        self._ready: list[Response] = []
        self.ended_by_server = False
        """The server completed IDLE on its own (then nothing more will come)."""

    @property
    def expired(self) -> bool:
        """``max_idle`` has passed: leave the block to re-issue IDLE."""
        return trio.current_time() >= self._ends_at

    def _take(self, resp: Response) -> None:
        session = self._session
        if isinstance(resp, Tagged):
            if resp.tag != self._tag:
                raise ProtocolError(f"completion for unknown tag {resp.tag!r} during IDLE")
            self.ended_by_server = True
            session.raise_for("IDLE", resp)
        elif isinstance(resp, Continuation):
            raise ProtocolError("unexpected continuation during IDLE")
        elif isinstance(resp, Capability) or (
            isinstance(resp, Condition) and resp.status == "BYE"
        ):
            session.route(resp, "IDLE")
        else:
            self._ready.append(resp)

    async def next(self, timeout: float) -> list[Response]:  # noqa: ASYNC109 (API)
        """Wait up to ``timeout`` seconds (and never past ``max_idle``) for pushed
        responses; return every one that has arrived, or ``[]``."""
        transport = self._session._transport
        try:
            if not self._ready and not self.ended_by_server:
                wait = min(timeout, self._ends_at - trio.current_time())
                if wait > 0:
                    # Cancelling a read loses nothing: bytes are only taken once
                    # they are fed to the reader, without a checkpoint in between.
                    with trio.move_on_after(wait):
                        self._take(await transport.next_response(patient=True))
            while (resp := transport.poll()) is not None:
                self._take(resp)
        except ImapError as exc:
            await self._session._fail(exc)
            raise
        out, self._ready = self._ready, []
        return out

    async def _finish(self) -> None:
        """DONE, then read up to the tagged completion; leftovers are unsolicited."""
        session = self._session
        transport = session._transport
        if not self.ended_by_server:
            await transport.send(b"DONE\r\n")
        while not self.ended_by_server:
            self._take(await transport.next_response())
        for resp in self._ready:
            session.push_unsolicited(resp)
        self._ready = []


@asynccontextmanager
async def idle(session: Session, max_idle: float = MAX_IDLE) -> AsyncIterator[IdleSession]:
    if not session.has("IDLE"):
        raise CommandError(f"{session.params.host} does not offer IDLE; poll with NOOP")
    tag = session._next_tag()
    (line,) = encode_command(tag, "IDLE")
    transport = session._transport
    with session._exclusive("IDLE"):
        pushes = IdleSession(session, tag, max_idle)
        try:
            log.debug("imap.command", tag=tag, command="IDLE")
            await transport.send(line)
            while True:
                resp = await transport.next_response()
                if isinstance(resp, Continuation):
                    break
                if isinstance(resp, Tagged) and resp.tag == tag:
                    session._done()  # refused: the exchange is over, the link is fine
                    session.raise_for("IDLE", resp)
                    raise ProtocolError("server completed IDLE without accepting it")
                pushes._take(resp)
        except ImapError as exc:
            await session._fail(exc)
            raise
        try:
            yield pushes
        except BaseException:
            # Cancelled or failed inside the block: still try to end IDLE cleanly so
            # the connection can log out; if that fails it is marked unusable.
            if transport.broken is None:
                with trio.move_on_after(transport.timeout, shield=True):
                    try:
                        await pushes._finish()
                        session._done()
                    except ImapError:
                        pass
            raise
        try:
            await pushes._finish()
        except ImapError as exc:
            await session._fail(exc)
            raise
        session._done()
