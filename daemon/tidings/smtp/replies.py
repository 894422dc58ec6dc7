"""Sans-IO reader for SMTP replies, in the style of h11.

Feed it bytes with :meth:`ReplyReader.receive_data` (``b""`` for end of stream), take
whole replies with :meth:`ReplyReader.next_reply` until it answers :data:`NEED_DATA`.
It does no I/O and imports no trio.

Framing (RFC 5321 §4.2): a reply is one or more lines ``DDD-text`` ending with one
``DDD text`` (or a bare ``DDD``), all with the same three-digit code. Lines end in CRLF;
a bare LF is accepted too, as robust clients do, since it carries no risk. Limits on
line length and on lines per reply keep a hostile server from growing our memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SmtpConnectionLost, SmtpLimitExceeded, SmtpProtocolError

__all__ = ["DEFAULT_REPLY_LIMITS", "NEED_DATA", "NeedData", "Reply", "ReplyLimits",
           "ReplyReader"]

# RFC 5321 §4.2: the first digit is 2-5 (1yz is unused in SMTP), the second 0-5.
_LINE = re.compile(rb"([2-5][0-5][0-9])([ -]|\Z)(.*)\Z", re.DOTALL)
# RFC 3463 §2: class "." subject "." detail, with 1-3 digits for subject and detail.
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?: +|\Z)")
_COMPACT_AT = 16 * 1024


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """Caps against hostile servers. RFC 5321 §4.5.3.1.5 sets 512 octets per reply
    line, but real servers send longer texts, so the default is generous."""

    max_line: int = 4096
    """Octets in one reply line, line end included."""
    max_lines: int = 256
    """Lines in one multi-line reply (an EHLO reply has a few dozen at most)."""


DEFAULT_REPLY_LIMITS = ReplyLimits()


class NeedData:
    """The type of :data:`NEED_DATA`: no complete reply is buffered yet."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply. ``lines`` hold the text of each line with the enhanced status
    code removed when the server used one (RFC 2034 §3 puts it on every line)."""

    code: int
    lines: tuple[str, ...]
    enhanced: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def positive(self) -> bool:
        """2yz: the command succeeded."""
        return 200 <= self.code < 300

    @property
    def intermediate(self) -> bool:
        """3yz: the server waits for more (354 for DATA, 334 for AUTH)."""
        return 300 <= self.code < 400

    @property
    def transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


class ReplyReader:
    """Frames and parses the replies of one SMTP connection."""

    def __init__(self, limits: ReplyLimits = DEFAULT_REPLY_LIMITS) -> None:
        self.limits = limits
        self._buf = bytearray()
        self._pos = 0  # first octet not yet consumed
        self._code = b""  # code of the multi-line reply being collected
        self._lines: list[bytes] = []  # its lines so far, text only
        self._eof = False
        self._failure: SmtpProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Octets received and not yet returned as part of a reply (RFC 3207 §4.2:
        after the STARTTLS reply there must be none)."""
        return len(self._buf) - self._pos + sum(len(x) + 5 for x in self._lines)

    def discard_buffered(self) -> None:
        self._buf.clear()
        self._pos = 0
        self._code = b""
        self._lines.clear()

    def receive_data(self, data: bytes) -> None:
        """Add received octets; ``b""`` means the server closed its side."""
        if not data:
            self._eof = True
            return
        if self._eof:
            raise SmtpProtocolError("data received after end of stream")
        self._buf += data

    def next_reply(self) -> Reply | NeedData:
        """The next complete reply, or :data:`NEED_DATA`.

        Raises :class:`SmtpProtocolError` (or :class:`SmtpLimitExceeded`) on bytes that
        are not a reply, again on every later call, and :class:`SmtpConnectionLost`
        when the stream ended before a reply was complete.
        """
        if self._failure is not None:
            raise self._failure
        try:
            reply = self._next()
        except SmtpProtocolError as exc:
            self._failure = exc
            raise
        if reply is None:
            if self._eof:
                raise SmtpConnectionLost("the server closed the connection")
            return NEED_DATA
        return reply

    def _next(self) -> Reply | None:
        limits = self.limits
        while True:
            end = self._buf.find(b"\n", self._pos)
            if end < 0:
                pending = len(self._buf) - self._pos
                if pending > limits.max_line:
                    raise SmtpLimitExceeded("reply line length", pending, limits.max_line)
                return None
            if end + 1 - self._pos > limits.max_line:
                raise SmtpLimitExceeded("reply line length", end + 1 - self._pos,
                                        limits.max_line)
            stop = end - 1 if end > self._pos and self._buf[end - 1] == 0x0D else end
            line = bytes(self._buf[self._pos:stop])
            self._pos = end + 1
            self._compact()
            reply = self._take_line(line)
            if reply is not None:
                return reply

    def _take_line(self, line: bytes) -> Reply | None:
        match = _LINE.match(line)
        if match is None:
            raise SmtpProtocolError(f"not an SMTP reply line: {line[:80]!r}")
        code, separator, text = match.groups()
        if self._lines and code != self._code:
            raise SmtpProtocolError(
                f"reply code changed inside a multi-line reply: "
                f"{self._code.decode()} then {code.decode()}"
            )
        self._code = code
        self._lines.append(text)
        if len(self._lines) > self.limits.max_lines:
            raise SmtpLimitExceeded("lines in one reply", len(self._lines),
                                    self.limits.max_lines)
        if separator == b"-":
            return None
        lines = [t.decode("utf-8", "replace") for t in self._lines]
        self._lines = []
        self._code = b""
        return _make_reply(int(code), lines)

    def _compact(self) -> None:
        if self._pos >= _COMPACT_AT and self._pos * 2 >= len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0


def _make_reply(code: int, lines: list[str]) -> Reply:
    match = _ENHANCED.match(lines[0])
    # RFC 3463 §2: the class digit repeats the reply's first digit; anything else is
    # ordinary text that happens to look like a status code.
    if match is None or match.group(1) != str(code)[0]:
        return Reply(code, tuple(lines))
    enhanced = ".".join(match.groups())
    stripped = []
    for text in lines:
        m = _ENHANCED.match(text)
        stripped.append(text[m.end():] if m and ".".join(m.groups()) == enhanced else text)
    return Reply(code, tuple(stripped), enhanced)
