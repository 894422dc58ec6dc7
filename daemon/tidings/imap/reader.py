"""Sans-IO reader for the server side of an IMAP connection, in the style of h11.

Feed it bytes with :meth:`ResponseReader.receive_data`, take typed responses with
:meth:`ResponseReader.next_event` until it answers :data:`NEED_DATA`. It does no I/O.

Framing (RFC 9051 §2.2.2, §4.3): a response is a line ending in CRLF, except that a line
ending in a literal header ``{n}`` / ``~{n}`` is followed by exactly n octets of literal
data and then by the rest of the response, which is framed the same way. The receive
buffer is a bytearray with a read offset: lines are found with ``find(b"\\r\\n")``,
resuming where the last search stopped, literal data is never scanned, each literal is
copied out once when its response is complete, and consumed bytes are dropped in bulk.
"""

from __future__ import annotations

import re

from .errors import ConnectionLost, LimitExceeded, ProtocolError
from .limits import DEFAULT_LIMITS, Limits
from .parser import parse_response
from .responses import Response

__all__ = ["NEED_DATA", "NeedData", "ResponseReader"]

_HEADER = re.compile(rb"\{(\d+)\+?\}\Z")  # "~" of literal8 sits before the brace
# Consumed bytes are dropped once there are this many and they are at least half the
# buffer, so the memmove they cost is paid rarely and on little data.
_COMPACT_AT = 64 * 1024
# Python refuses int() of very long digit strings; a header this long is over any limit.
_MAX_HEADER_DIGITS = 30
_OVER_ANY_LIMIT: int = 10**_MAX_HEADER_DIGITS


class NeedData:
    """The type of :data:`NEED_DATA`: no complete response is buffered yet."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


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
        return dropped

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
            if self._literal_end >= 0:
                if len(buf) < self._literal_end:
                    return None
                self._line_start = self._search_from = self._literal_end
                self._literal_end = -1
            end = buf.find(b"\r\n", self._search_from)
            if end < 0:
                pending = len(buf) - self._line_start
                if pending > limits.max_line + 1:  # + 1: a CR may be waiting for its LF
                    raise LimitExceeded("line length", pending, limits.max_line)
                held = len(buf) - self._start
                if held > limits.max_buffer:
                    raise LimitExceeded("buffered octets", held, limits.max_buffer)
                self._search_from = max(self._line_start, len(buf) - 1)
                return None
            line_start = self._line_start
            if end - line_start > limits.max_line:
                raise LimitExceeded("line length", end - line_start, limits.max_line)
            self._lines.append((line_start, end))
            if end > line_start and buf[end - 1] == 0x7D:  # "}"
                size = self._literal_size(line_start, end)
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
        return int(bytes(digits))

    def _take(self, next_start: int) -> tuple[list[bytes], list[bytes]]:
        lines = self._lines
        with memoryview(self._buf) as view:
            segments = [bytes(view[a:b]) for a, b in lines]
            literals = [
                bytes(view[lines[i][1] + 2 : lines[i + 1][0]]) for i in range(len(lines) - 1)
            ]
        self._lines = []
        self._start = self._line_start = self._search_from = next_start
        return segments, literals
