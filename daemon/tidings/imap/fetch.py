"""UID FETCH streamed in pipelined batches.

The UID set is cut into batches of ``batch`` UIDs; up to :data:`PIPELINE_DEPTH`
batch commands are in flight at once (RFC 9051 §5.5 allows pipelining FETCH), so the
server never idles between batches while results stream to the caller one by one.
Nothing is collected into a list.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Iterator

import trio

from .encode import Arg, encode_command
from .errors import ImapError, ProtocolError, ServerResponseError
from .responses import Continuation, Fetch, Response, Tagged
from .seqset import SeqSet
from .session import Session, log

__all__ = ["PIPELINE_DEPTH", "stream_fetch"]

PIPELINE_DEPTH = 3


class _Pipeline:
    """The batches in flight: their tags and UID sets, in sending order."""

    def __init__(self, session: Session, batches: Iterator[SeqSet],
                 tail: tuple[Arg, ...]) -> None:
        self.session = session
        self.batches = batches
        self.tail = tail
        self.in_flight: deque[tuple[str, SeqSet]] = deque()
        self.failure: ServerResponseError | None = None

    async def send_next(self) -> None:
        if self.failure is not None:
            return  # a batch failed: send no more
        batch = next(self.batches, None)
        if batch is None:
            return
        session = self.session
        tag = session._next_tag()
        chunks = encode_command(tag, "UID FETCH", batch, *self.tail,
                                literal_plus=session.has("LITERAL+"),
                                literal_minus=session.has("LITERAL-"), utf8=session.utf8)
        if len(chunks) != 1:
            raise ProtocolError("UID FETCH arguments may not need a synchronizing literal")
        log.debug("imap.command", tag=tag, command="UID FETCH")
        self.in_flight.append((tag, batch))
        await session._transport.send(chunks[0])

    def wants(self, resp: Fetch) -> bool:
        uid = resp.uid
        return uid is not None and any(
            uid in batch or batch.star for _tag, batch in self.in_flight
        )

    def complete(self, resp: Tagged) -> None:
        for index, (tag, _batch) in enumerate(self.in_flight):
            if tag == resp.tag:
                del self.in_flight[index]
                break
        else:
            raise ProtocolError(f"completion for unknown tag {resp.tag!r} during UID FETCH")
        if resp.status != "OK" and self.failure is None:
            try:
                self.session.raise_for("UID FETCH", resp)
            except ServerResponseError as exc:
                self.failure = exc

    def other(self, resp: Response) -> None:
        if isinstance(resp, Continuation):
            raise ProtocolError("unexpected continuation during UID FETCH")
        self.session.route(resp, "UID FETCH")

    async def drain(self) -> None:
        """Read the answers still in flight, dropping their FETCHes."""
        transport = self.session._transport
        while self.in_flight:
            resp = await transport.next_response()
            if isinstance(resp, Tagged):
                self.complete(resp)
            elif not isinstance(resp, Fetch):
                self.other(resp)


async def stream_fetch(
    session: Session, batches: Iterator[SeqSet], tail: tuple[Arg, ...]
) -> AsyncGenerator[Fetch, None]:
    """Yield the FETCH responses of ``UID FETCH <batch> <tail...>`` for every batch.

    FETCHes for UIDs outside the batches in flight (flag changes from other sessions)
    and other untagged responses go to the unsolicited queue. A NO/BAD for one batch
    stops sending new ones; the batches already in flight are still delivered, then
    the error is raised.

    Stopping early (``break`` inside ``contextlib.aclosing``) reads the answers still
    in flight, under a shielded deadline, so the connection stays usable; any other
    interruption leaves it unusable.
    """
    transport = session._transport
    pipe = _Pipeline(session, batches, tail)
    with session._exclusive("UID FETCH"):
        try:
            for _ in range(PIPELINE_DEPTH):
                await pipe.send_next()
            while pipe.in_flight:
                resp = await transport.next_response()
                if type(resp) is Fetch:
                    if pipe.wants(resp):
                        yield resp
                    else:
                        session.push_unsolicited(resp)
                elif isinstance(resp, Tagged):
                    pipe.complete(resp)
                    await pipe.send_next()
                else:
                    pipe.other(resp)
            session._done()
        except GeneratorExit:
            # The consumer stopped early: keep the connection in step if we can.
            with trio.move_on_after(transport.timeout, shield=True):
                try:
                    await pipe.drain()
                    session._done()
                except ImapError:
                    pass
            raise
        except ImapError as exc:
            await session._fail(exc)
            raise
    if pipe.failure is not None:
        raise pipe.failure
