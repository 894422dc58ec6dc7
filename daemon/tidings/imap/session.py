"""The command engine under :class:`~tidings.imap.client.ImapClient`.

One command at a time per connection (RFC 9051 allows pipelining, which only the UID
FETCH stream uses, inside one call). A second concurrent call is a programming error
and raises :class:`CommandError`; open another connection for parallel work.

Untagged responses that the running command does not ask for — EXISTS, EXPUNGE,
VANISHED, flag FETCHes from other sessions, alerts — are kept on the *unsolicited*
queue for the sync engine (:meth:`Session.drain_unsolicited`).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import structlog

from .encode import Arg, encode_command
from .errors import (
    AuthError,
    CommandError,
    ImapError,
    ProtocolError,
    ServerBad,
    ServerBye,
    ServerNo,
    ServerResponseError,
)
from .responses import Capability, Condition, Continuation, Response, ResponseCode, Tagged
from .transport import ConnectParams, Transport

__all__ = ["Session"]

log = structlog.get_logger("tidings.imap")

OnContinuation = Callable[[Continuation], Awaitable[None]]


class Session:
    """Tags, capabilities, the unsolicited queue, and running one command."""

    def __init__(self, transport: Transport, params: ConnectParams) -> None:
        self._transport = transport
        self.params = params
        self._tags = itertools.count(1)
        self._busy: str | None = None
        self._unsolicited: deque[Response] = deque(maxlen=params.max_unsolicited)
        self.unsolicited_dropped = 0
        """How many unsolicited responses were dropped because nobody drained them."""
        self.capabilities: frozenset[str] = frozenset()
        self._capabilities_seen = False
        self.enabled: frozenset[str] = frozenset()
        self.utf8 = False
        self.authenticated = False
        self.selected: str | None = None

    # --- capabilities ---------------------------------------------------------------

    def has(self, capability: str) -> bool:
        """Whether the server advertised ``capability`` (case-insensitive)."""
        return capability.upper() in self.capabilities

    def _set_capabilities(self, capabilities: frozenset[str] | tuple[str, ...]) -> None:
        self.capabilities = frozenset(c.upper() for c in capabilities)
        self._capabilities_seen = True

    def _note_code(self, code: ResponseCode | None) -> None:
        if code is not None and code.name == "CAPABILITY" and isinstance(code.value, tuple):
            self._set_capabilities(code.value)

    @property
    def tls(self) -> bool:
        return self._transport.tls

    # --- unsolicited responses ---------------------------------------------------------

    def push_unsolicited(self, resp: Response) -> None:
        queue = self._unsolicited
        if len(queue) == queue.maxlen:
            self.unsolicited_dropped += 1
        queue.append(resp)

    def drain_unsolicited(self) -> list[Response]:
        """Every unsolicited response received so far, oldest first; empties the queue."""
        out = list(self._unsolicited)
        self._unsolicited.clear()
        return out

    # --- running commands ---------------------------------------------------------------

    def _next_tag(self) -> str:
        return f"T{next(self._tags)}"

    @contextmanager
    def _exclusive(self, command: str) -> Iterator[None]:
        """Hold the connection for one exchange. Leaving before the exchange is
        complete (cancellation, an error) leaves the connection out of step, so it
        is marked unusable; the exchange marks completion by clearing ``_busy``."""
        self._transport.check()
        if self._busy is not None:
            raise CommandError(
                f"{command} while {self._busy} is still running: one command at a time "
                "per connection"
            )
        self._busy = command
        try:
            yield
        finally:
            if self._busy is not None:
                self._transport.mark_broken(f"{self._busy} was interrupted")
                self._busy = None

    def _done(self) -> None:
        self._busy = None

    def route(self, resp: Response, command: str) -> None:
        """Handle a response the running exchange did not ask for."""
        if isinstance(resp, Capability):
            self._set_capabilities(resp.capabilities)
            return
        if isinstance(resp, Condition):
            if resp.status == "BYE":
                if command == "LOGOUT":
                    return
                code = resp.code.name if resp.code is not None else None
                raise ServerBye(code, resp.text)
            self._note_code(resp.code)
        self.push_unsolicited(resp)

    async def _fail(self, exc: ImapError) -> None:
        """A BYE or protocol violation ends the connection."""
        if not isinstance(exc, ServerResponseError):
            await self._transport.abort(str(exc))

    async def command(
        self,
        name: str,
        *args: Arg,
        wanted: tuple[type[Response], ...] = (),
        on_continuation: OnContinuation | None = None,
    ) -> tuple[Tagged, list[Response]]:
        """Send one command and read up to its completion.

        Returns the tagged completion (any status) and the untagged responses of the
        ``wanted`` types; the rest are routed (capabilities noted, BYE raised, others
        queued as unsolicited). Synchronizing literals wait for ``+``; other ``+``
        go to ``on_continuation`` (SASL).
        """
        tag = self._next_tag()
        transport = self._transport
        # Encoding first: an invalid argument raises before the connection is touched.
        chunks = encode_command(
            tag, name, *args,
            literal_plus=self.has("LITERAL+"), literal_minus=self.has("LITERAL-"),
            utf8=self.utf8,
        )
        with self._exclusive(name):
            # Arguments are never logged: LOGIN and AUTHENTICATE carry secrets.
            log.debug("imap.command", tag=tag, command=name)
            collected: list[Response] = []
            try:
                await transport.send(chunks[0])
                pending = deque(chunks[1:])
                while True:
                    resp = await transport.next_response()
                    if isinstance(resp, Tagged):
                        if resp.tag != tag:
                            raise ProtocolError(
                                f"completion for unknown tag {resp.tag!r} during {name}"
                            )
                        self._note_code(resp.code)
                        self._done()
                        return resp, collected
                    if isinstance(resp, Continuation):
                        if pending:
                            await transport.send(pending.popleft())
                        elif on_continuation is not None:
                            await on_continuation(resp)
                        else:
                            raise ProtocolError(f"unexpected continuation during {name}")
                    elif isinstance(resp, wanted) and not (
                        isinstance(resp, Condition) and resp.status == "BYE"
                    ):
                        collected.append(resp)
                    else:
                        self.route(resp, name)
            except ImapError as exc:
                await self._fail(exc)
                raise

    async def send_continuation(self, data: bytes) -> None:
        """Send a SASL response line (only from an ``on_continuation`` callback)."""
        await self._transport.send(data)

    async def simple(
        self, name: str, *args: Arg, wanted: tuple[type[Response], ...] = ()
    ) -> tuple[Tagged, list[Response]]:
        """:meth:`command`, raising for NO / BAD."""
        tagged, responses = await self.command(name, *args, wanted=wanted)
        self.raise_for(name, tagged)
        return tagged, responses

    def raise_for(self, name: str, tagged: Tagged, *, auth: bool = False) -> None:
        if tagged.status == "OK":
            return
        code = tagged.code.name if tagged.code is not None else None
        if tagged.status == "BAD":
            raise ServerBad(name, code, tagged.text)
        raise (AuthError if auth else ServerNo)(name, code, tagged.text)
