"""One body section of one message, handed on as the server sends it.

``UID FETCH uid (BODY.PEEK[section])`` (RFC 9051 §6.4.5) answers with the whole section
as one literal. Fetched through :func:`stream_section`, that literal is never held whole:
the reader streams it (:meth:`ResponseReader.stream_literals`) and the caller gets it in
pieces while the server is still sending the rest. One command and one literal, so the
server sends without pausing, unlike a series of partial fetches ``<offset.length>``
that each wait for a round trip and make the server seek to the offset again.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Final

from .encode import Raw, encode_command
from .errors import CommandError, ImapError, ProtocolError
from .reader import LiteralPiece
from .responses import Continuation, Fetch, Tagged
from .session import Session, log

__all__ = ["PIECE", "STREAM_FROM", "SectionMissing", "stream_section"]

# Octets handed on at a time: big enough that per-piece work stays small beside the
# copying, small enough that memory stays flat.
PIECE: Final = 1024 * 1024
# Literals from this size on are streamed; smaller ones come inside their FETCH.
STREAM_FROM: Final = 64 * 1024
# section-spec of RFC 9051 §6.4.5: a part number, maybe with a text part after it.
_SECTION: Final = re.compile(
    r"(?:[1-9][0-9]*(?:\.[1-9][0-9]*)*(?:\.(?:HEADER|TEXT|MIME))?|HEADER|TEXT|)\Z",
    re.IGNORECASE)


class SectionMissing(ImapError):
    """The server sent no such section: it has no message with that UID any more (an
    expunge by another session), or the message has no such part. The command itself
    completed, so the connection is still usable."""


async def stream_section(session: Session, uid: int, section: str, *,
                         piece: int = PIECE) -> AsyncGenerator[bytes | bytearray, None]:
    """The octets of `section` (``"2"``, ``"1.3"``, ``"TEXT"``) of message `uid` in the
    selected mailbox, in pieces of `piece` octets (the last one shorter), as they
    arrive. Nothing is yielded for an empty or NIL section.

    Raises :class:`SectionMissing` when the server sent no such section. Stopping
    early (``break`` inside ``contextlib.aclosing``) leaves the rest of the literal
    unread, so the connection is marked unusable: close it.
    """
    if not _SECTION.match(section):
        raise CommandError(f"not a body section: {section!r}")
    if piece < 1:
        raise CommandError("piece must be at least 1")
    name = f"BODY[{section.upper()}]"
    head = re.compile(rb"(?:\A|[ (])" + re.escape(name.encode()) + rb"(?:<\d+>)? ~?\{\d+\}\Z",
                      re.IGNORECASE)
    transport = session._transport
    tag = session._next_tag()
    (command,) = encode_command(tag, "UID FETCH", uid, [Raw(f"BODY.PEEK[{section}]")])
    found = False
    with session._exclusive("UID FETCH"):
        transport.reader.stream_literals(STREAM_FROM)
        try:
            log.debug("imap.command", tag=tag, command="UID FETCH")
            await transport.send(command)
            while True:
                item = await transport.next_piece(piece)
                if isinstance(item, LiteralPiece):
                    if not head.search(item.head):
                        raise ProtocolError(
                            f"a literal of {item.left + len(item.data)} octets or more came "
                            f"for something else than {name} during UID FETCH")
                    found = True
                    yield item.data
                elif isinstance(item, Fetch):
                    if item.uid == uid and name in item.sections:
                        value = item.sections[name]
                        if not found and value:  # small: it came inside the FETCH
                            for start in range(0, len(value), piece):
                                yield value[start:start + piece]
                        found = True
                    else:
                        session.push_unsolicited(item)
                elif isinstance(item, Tagged):
                    if item.tag != tag:
                        raise ProtocolError(
                            f"completion for unknown tag {item.tag!r} during UID FETCH")
                    session._done()
                    session.raise_for("UID FETCH", item)
                    break
                elif isinstance(item, Continuation):
                    raise ProtocolError("unexpected continuation during UID FETCH")
                else:
                    session.route(item, "UID FETCH")
        except ImapError as exc:
            await session._fail(exc)
            raise
        finally:
            transport.reader.stream_literals(None)
    if not found:
        raise SectionMissing(f"no {name} for UID {uid}: the message is gone")
