"""Sans-IO reader for the server side of an IMAP connection, in the style of h11.

Feed it bytes with :meth:`ResponseReader.receive_data`, take typed responses with
:meth:`ResponseReader.next_event` until it answers :data:`NEED_DATA`. It does no I/O.

Framing (RFC 9051 §2.2.2, §4.3): a response is a line ending in CRLF, except that a line
ending in a literal header ``{n}`` / ``~{n}`` is followed by exactly n octets of literal
data and then by the rest of the response, which is framed the same way. The receive
buffer is a bytearray with a read offset: lines are found with ``find(b"\\r\\n")``,
resuming where the last search stopped, literal data is never scanned, each literal is
copied out once when its response is complete, and consumed bytes are dropped in bulk.

A caller that expects one very large literal (an attachment's body section) can have
literals from a given size on handed out in pieces as they arrive instead
(:meth:`ResponseReader.stream_literals`): memory then holds what one read brings, not the
literal, and the response ends up parsed with an empty literal in its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConnectionLost, LimitExceeded, ProtocolError
from .limits import DEFAULT_LIMITS, Limits
from .parser import parse_response
from .responses import Response

__all__ = ["NEED_DATA", "LiteralPiece", "NeedData", "ResponseReader", "StreamedLiteral"]

_HEADER = re.compile(rb"\{(\d+)\+?\}\Z")  # "~" of literal8 sits before the brace
# Consumed bytes are dropped once there are this many and they are at least half the
# buffer, so the memmove they cost is paid rarely and on little data.
_COMPACT_AT = 64 * 1024
# Python refuses int() of very long digit strings; a header this long is over any limit.
_MAX_HEADER_DIGITS = 30
_OVER_ANY_LIMIT: int = 10**_MAX_HEADER_DIGITS
# Responses up to this size are copied out of the buffer without a memoryview.
_SMALL_RESPONSE = 2048


class NeedData:
    """The type of :data:`NEED_DATA`: no complete response is buffered yet."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True, slots=True)
class LiteralPiece:
    """Consecutive octets of a streamed literal (see :class:`StreamedLiteral`)."""

    head: bytes
    data: bytes | bytearray  # a bytearray when read straight into the piece
    left: int
    """Octets of the literal still to come after these."""


class StreamedLiteral:
    """The literal being handed out in pieces; see :meth:`ResponseReader.stream_literals`."""

    __slots__ = ("head", "left", "size")

    def __init__(self, head: bytes, size: int) -> None:
        self.head = head
        """The response's text before the literal, up to and including ``{size}``."""
        self.size = size
        self.left = size
        """Octets of the literal not yet taken."""


class ResponseReader:
    """Frames and parses the responses of one IMAP connection."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.utf8_names = False
        """Set after ``ENABLE UTF8=ACCEPT``: mailbox names are then UTF-8 (RFC 6855)."""
        self._buf = bytearray()
        self._start = 0  # first octet of the response being framed
        self._line_start = 0  # first octet of the line being framed
        self._search_from = 0  # where the CRLF search resumes
        self._literal_end = -1  # end of the literal being waited for, or -1
        self._lines: list[tuple[int, int]] = []  # spans of the response's lines so far
        self._eof = False
        self._failure: ProtocolError | None = None
        self._stream_from: int | None = None  # literals this large are streamed
        self._streamed: StreamedLiteral | None = None
        # The segments and literals framed before a streamed literal, as copies.
        self._held: tuple[list[bytes], list[bytes]] | None = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet consumed by :meth:`next_event`."""
        return len(self._buf) - self._start

    def receive_data(self, data: bytes) -> None:
        """Add octets from the server; ``b""`` marks the end of the stream."""
        if self._eof:
            raise RuntimeError("receive_data() called after end of stream")
        if not data:
            self._eof = True
            return
        start = self._start
        if start:
            if start == len(self._buf):
                self._buf.clear()
                self._shift(start)
            elif start >= _COMPACT_AT and 2 * start >= len(self._buf):
                del self._buf[:start]
                self._shift(start)
        self._buf += data

    def discard_buffered(self) -> int:
        """Drop every buffered octet, e.g. plaintext that arrived before a STARTTLS
        upgrade (RFC 9051 §6.2.1: it must not be trusted); returns how many."""
        dropped = len(self._buf) - self._start
        self._buf.clear()
        self._start = self._line_start = self._search_from = 0
        self._literal_end = -1
        self._lines = []
        self._streamed = self._held = None
        return dropped

    def stream_literals(self, at_least: int | None) -> None:
        """Hand out literals of at least `at_least` octets in pieces, through
        :attr:`streamed` and :meth:`take_literal`, instead of buffering them whole; None
        (the default) buffers every literal. Such a literal is not held against
        ``max_literal``: only what has arrived and is not taken yet is held."""
        if at_least is not None and at_least < 1:
            raise ValueError("at_least must be at least 1")
        self._stream_from = at_least

    @property
    def streamed(self) -> StreamedLiteral | None:
        """The literal being streamed while some of it is not taken yet, else None.
        Meanwhile :meth:`next_event` answers :data:`NEED_DATA`."""
        return self._streamed

    def take_literal_into(self, target: memoryview) -> int:
        """Copy the streamed literal's octets that have arrived, up to ``len(target)``,
        into `target`; returns how many. See :meth:`literal_read_past`."""
        streamed = self._streamed
        if streamed is None:
            raise RuntimeError("take_literal_into() without a streamed literal")
        start = self._start
        count = min(len(self._buf) - start, streamed.left, len(target))
        if count <= 0:
            return 0
        with memoryview(self._buf) as view:
            target[:count] = view[start:start + count]
        self._start = self._line_start = self._search_from = start + count
        self._literal_taken(streamed, count)
        return count

    def literal_read_past(self, count: int) -> None:
        """`count` octets of the streamed literal were read from the stream straight
        into the caller's buffer, past this reader (only while nothing is buffered)."""
        streamed = self._streamed
        if streamed is None or count > streamed.left or self.buffered:
            raise RuntimeError("literal_read_past() out of step with the stream")
        self._literal_taken(streamed, count)

    def _literal_taken(self, streamed: StreamedLiteral, count: int) -> None:
        streamed.left -= count
        if not streamed.left:
            self._streamed = None

    def take_literal(self, most: int) -> bytes:
        """Up to `most` octets of the streamed literal that have arrived (maybe none).
        Once all of it is taken, framing goes on with the rest of its response."""
        streamed = self._streamed
        if streamed is None:
            raise RuntimeError("take_literal() without a streamed literal")
        start = self._start
        count = min(len(self._buf) - start, streamed.left, most)
        if count <= 0:
            return b""
        with memoryview(self._buf) as view:
            data = bytes(view[start:start + count])
        self._start = self._line_start = self._search_from = start + count
        streamed.left -= count
        if not streamed.left:
            self._streamed = None
        return data

    def next_event(self) -> Response | NeedData:
        """The next complete response, or :data:`NEED_DATA`.

        Raises :class:`ProtocolError` (:class:`LimitExceeded` included) on bad input,
        after which the reader stays failed, and :class:`ConnectionLost` once the
        stream has ended and no complete response is left.
        """
        if self._failure is not None:
            raise ProtocolError(
                f"response stream unusable after an earlier error: {self._failure}"
            ) from self._failure
        try:
            framed = self._frame()
            if framed is None:
                if self._eof:
                    raise self._lost()
                return NEED_DATA
            return parse_response(framed[0], framed[1], self.limits, self.utf8_names)
        except ProtocolError as exc:
            self._failure = exc
            raise
        except (ValueError, IndexError, RecursionError) as exc:
            # The parser reports bad input as ProtocolError; anything else that bad
            # input provokes is translated here so callers handle one family.
            self._failure = ProtocolError(f"malformed response: {exc!r}")
            raise self._failure from exc

    def _lost(self) -> ConnectionLost:
        pending = len(self._buf) - self._start
        if pending:
            return ConnectionLost(
                f"server closed the connection in the middle of a response "
                f"({pending} octets received of it)"
            )
        return ConnectionLost("server closed the connection")

    def _shift(self, offset: int) -> None:
        self._start -= offset
        self._line_start -= offset
        self._search_from -= offset
        if self._literal_end >= 0:
            self._literal_end -= offset
        self._lines = [(a - offset, b - offset) for a, b in self._lines]

    def _frame(self) -> tuple[list[bytes], list[bytes]] | None:
        """Advance framing over the buffer; the segments and literals of the next
        response once it is complete, else None (limits are checked as data comes)."""
        buf = self._buf
        limits = self.limits
        while True:
            if self._streamed is not None:
                if len(buf) - self._start > limits.max_buffer:
                    raise LimitExceeded("buffered octets", len(buf) - self._start,
                                        limits.max_buffer)
                return None
            line_start = self._literal_end
            if line_start >= 0:
                if len(buf) < line_start:
                    return None
                self._line_start = self._search_from = line_start
                self._literal_end = -1
                end = buf.find(b"\r\n", line_start)
            else:
                line_start = self._line_start
                end = buf.find(b"\r\n", self._search_from)
            if end < 0:
                pending = len(buf) - line_start
                if pending > limits.max_line + 1:  # + 1: a CR may be waiting for its LF
                    raise LimitExceeded("line length", pending, limits.max_line)
                held = len(buf) - self._start
                if held > limits.max_buffer:
                    raise LimitExceeded("buffered octets", held, limits.max_buffer)
                self._search_from = max(line_start, len(buf) - 1)
                return None
            if end - line_start > limits.max_line:
                raise LimitExceeded("line length", end - line_start, limits.max_line)
            self._lines.append((line_start, end))
            if end > line_start and buf[end - 1] == 0x7D:  # "}"
                size = self._literal_size(line_start, end)
                if size is not None and self._stream_from is not None \
                        and size >= self._stream_from:
                    self._begin_stream(end, size)
                    continue
                if size is not None:
                    if size > limits.max_literal:
                        raise LimitExceeded("literal size", size, limits.max_literal)
                    literal_end = end + 2 + size
                    if literal_end - self._start > limits.max_buffer:
                        raise LimitExceeded(
                            "buffered octets", literal_end - self._start, limits.max_buffer
                        )
                    self._literal_end = literal_end
                    continue
            return self._take(end + 2)

    def _literal_size(self, line_start: int, end: int) -> int | None:
        brace = self._buf.rfind(b"{", line_start, end)
        if brace < 0:
            return None
        match = _HEADER.match(self._buf, brace, end)
        if match is None:
            return None
        digits = match.group(1)
        if len(digits) > _MAX_HEADER_DIGITS:
            return _OVER_ANY_LIMIT
        return int(digits)

    def _take(self, next_start: int) -> tuple[list[bytes], list[bytes]]:
        lines = self._lines
        # A small response is copied out by slicing the bytearray and converting, which
        # copies twice but costs less than setting up a memoryview.
        view: bytearray | memoryview = self._buf
        if next_start - self._start > _SMALL_RESPONSE:
            view = memoryview(view)
        try:
            if len(lines) == 1:  # no literal
                ((a, b),) = lines
                segments = [bytes(view[a:b])]
                literals: list[bytes] = []
            elif len(lines) == 2:  # one literal: a FETCH of one header or body section
                (a, b), (c, d) = lines
                segments = [bytes(view[a:b]), bytes(view[c:d])]
                literals = [bytes(view[b + 2 : c])]
            else:
                segments = [bytes(view[a:b]) for a, b in lines]
                literals = [
                    bytes(view[lines[i][1] + 2 : lines[i + 1][0]])
                    for i in range(len(lines) - 1)
                ]
        finally:
            if isinstance(view, memoryview):
                view.release()  # the buffer cannot be resized while it is exported
        self._lines = []
        self._start = self._line_start = self._search_from = next_start
        if self._held is not None:
            # The response had a streamed literal: it stands there as empty.
            held_segments, held_literals = self._held
            self._held = None
            return held_segments + segments, [*held_literals, b"", *literals]
        return segments, literals

    def _begin_stream(self, header_end: int, size: int) -> None:
        """Copy out what is framed of the response so far; the literal's octets then
        start the buffer, to be taken piece by piece."""
        literal_start = header_end + 2
        # _take also folds in an earlier streamed literal of the same response.
        segments, literals = self._take(literal_start)
        self._held = (segments, literals)
        self._streamed = StreamedLiteral(segments[-1], size)
