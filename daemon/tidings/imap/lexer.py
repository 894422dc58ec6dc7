"""Scanning primitives over one framed response (RFC 9051 §4, §9 "Formal Syntax").

The reader frames a response into *segments* (the text between literals, CRLF removed;
a segment that announces a literal ends with its ``{n}`` header) and the *literals*
themselves. :class:`Cursor` walks that structure with compiled regexes: each primitive
reads one grammar element at the current position and raises :class:`ProtocolError`
when it is not there. IMAP is not context free (``[`` is an atom character in one place
and a section opener in another), so the parser picks the primitive, not the lexer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, TypeVar

from .errors import LimitExceeded, ProtocolError
from .limits import Limits

__all__ = ["LITERAL_HEADER", "Cursor", "decode_text", "remember"]

_T = TypeVar("_T")

# The literal header that ends a segment: "{n}", "{n+}" (LITERAL+, RFC 7888, which a
# server never needs but we accept) and "~{n}" (literal8, RFC 3516 / RFC 9051 §4.3).
LITERAL_HEADER = re.compile(rb"~?\{(\d+)\+?\}\Z")

_SPACES = re.compile(rb" +")
_NUMBER = re.compile(rb"\d+")
# atom-char: any CHAR except atom-specials "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]".
# 8-bit octets are let through: servers with UTF8=ACCEPT put them in atoms.
_ATOM = re.compile(rb'[^\x00-\x20\x7f(){%*"\\\]]+')
# astring-char = atom-char / resp-specials ("]"), used for astrings and tags.
_ASTRING_ATOM = re.compile(rb'[^\x00-\x20\x7f(){%*"\\]+')
# A mailbox name from LIST may also hold the list-wildcards "%" and "*".
_MAILBOX_ATOM = re.compile(rb'[^\x00-\x20\x7f(){"\\]+')
# flag = "\" atom / keyword, plus "\*" in PERMANENTFLAGS (RFC 9051 §7.1).
_FLAG = re.compile(rb'\\\*|\\?[^\x00-\x20\x7f(){%*"\\\]]+')
# Unrolled quoted-string loop: quoted-specials only appear escaped; no CR or LF.
_QUOTED = re.compile(rb'"([^"\\\r\n]*(?:\\[^\r\n][^"\\\r\n]*)*)"')
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_NIL = re.compile(rb"NIL(?![^\x00-\x20\x7f(){%*\"\\\]])", re.IGNORECASE)
# Anything that is not a list delimiter, space or string start: used when skipping
# extension data we do not model, which may hold atoms with brackets ("BODY[1]").
_LOOSE_ATOM = re.compile(rb'[^\x00-\x20\x7f()"{]+')
_SET_ITEM = re.compile(rb"(\d+)(?::(\d+))?")

# number64 has at most 19 digits; longer runs are refused before int() sees them.
_MAX_DIGITS = 20


# Memo tables of the parsers (lower-cased type names, flag names, section keys, time
# zones): entries for short keys only, and a table that fills up starts over, so a
# hostile server can make them neither large nor stale.
MEMO_MAX: Final = 1024
MEMO_LONGEST: Final = 64


def decode_text(raw: bytes) -> str:
    """Server text is UTF-8 (RFC 9051 §4.3); undecodable octets become U+FFFD."""
    return raw.decode("utf-8", "replace")


def remember(memo: dict[bytes, _T], raw: bytes, value: _T) -> None:
    """Keep what `raw` was worked out to in `memo`, within MEMO_MAX and MEMO_LONGEST."""
    if len(raw) <= MEMO_LONGEST:
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[raw] = value


class Cursor:
    """A read position in one framed response.

    ``line`` is the segment being read and ``pos`` the offset in it. The parsers' fast
    paths match their own compiled patterns at ``line``/``pos`` and move ``pos`` past
    what they took; anything they do not recognise is left to the primitives below.
    """

    __slots__ = ("_index", "_literals", "_segments", "limits", "line", "pos")

    def __init__(
        self, segments: Sequence[bytes], literals: Sequence[bytes], limits: Limits
    ) -> None:
        self._segments = segments
        self._literals = literals
        self._index = 0
        self.line = segments[0]
        self.pos = 0
        self.limits = limits

    # -- position -------------------------------------------------------------------

    def error(self, expected: str) -> ProtocolError:
        shown = self.line[max(0, self.pos - 40) : self.pos + 40]
        return ProtocolError(f"malformed response: expected {expected} at {shown!r}")

    def peek(self) -> int:
        """The octet at the cursor, or -1 at the end of a segment."""
        if self.pos < len(self.line):
            return self.line[self.pos]
        return -1

    def at(self, octet: bytes) -> bool:
        return self.line.startswith(octet, self.pos)

    def at_end(self) -> bool:
        return self.pos >= len(self.line) and self._index == len(self._segments) - 1

    def expect(self, octet: bytes) -> None:
        if not self.line.startswith(octet, self.pos):
            raise self.error(repr(octet))
        self.pos += len(octet)

    def accept(self, octet: bytes) -> bool:
        if self.line.startswith(octet, self.pos):
            self.pos += len(octet)
            return True
        return False

    def sp(self) -> None:
        """One SP; runs of spaces are tolerated, some servers double them."""
        if not self.skip_spaces():
            raise self.error("SP")

    def skip_spaces(self) -> bool:
        # Indexing first: almost always there is no space or exactly one.
        line = self.line
        pos = self.pos
        if pos >= len(line) or line[pos] != 0x20:
            return False
        pos += 1
        if pos < len(line) and line[pos] == 0x20:
            match = _SPACES.match(line, pos)
            if match is not None:
                pos = match.end()
        self.pos = pos
        return True

    def expect_end(self) -> None:
        self.skip_spaces()  # trailing spaces are common (e.g. "* SEARCH ")
        if not self.at_end():
            raise self.error("end of response")

    # -- tokens ---------------------------------------------------------------------

    def match(self, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
        """Match ``pattern`` at the cursor (within the segment), moving past it."""
        match = pattern.match(self.line, self.pos)
        if match is not None:
            self.pos = match.end()
        return match

    def _match(self, pattern: re.Pattern[bytes], expected: str) -> bytes:
        match = pattern.match(self.line, self.pos)
        if match is None:
            raise self.error(expected)
        self.pos = match.end()
        return match.group()

    def number(self) -> int:
        digits = self._match(_NUMBER, "number")
        if len(digits) > _MAX_DIGITS:
            raise self.error("a number of at most 20 digits")
        return int(digits)

    def atom(self) -> bytes:
        return self._match(_ATOM, "atom")

    def keyword(self) -> str:
        """An atom as an upper-cased string (IMAP keywords are case-insensitive)."""
        return self._match(_ATOM, "keyword").decode("ascii", "replace").upper()

    def tag(self) -> bytes:
        return self._match(_ASTRING_ATOM, "tag")

    def flag(self) -> str:
        return decode_text(self._match(_FLAG, "flag"))

    def at_nil(self) -> bool:
        return _NIL.match(self.line, self.pos) is not None

    def nil(self) -> bool:
        match = _NIL.match(self.line, self.pos)
        if match is None:
            return False
        self.pos = match.end()
        return True

    def _literal(self) -> bytes | None:
        """The literal whose header starts at the cursor, moving past it."""
        index = self._index
        if index >= len(self._literals):
            return None
        line = self.line
        # LITERAL_HEADER ends in \Z: it matches only a header that ends the segment.
        if LITERAL_HEADER.match(line, self.pos) is None:
            return None
        self._index = index + 1
        self.line = self._segments[index + 1]
        self.pos = 0
        return self._literals[index]

    def string(self) -> bytes:
        """quoted / literal / literal8."""
        line = self.line
        pos = self.pos
        octet = line[pos] if pos < len(line) else -1
        if octet == 0x22:  # DQUOTE
            match = _QUOTED.match(line, pos)
            if match is None:
                raise self.error("closing quote")
            self.pos = match.end()
            value = match.group(1)
            return _ESCAPE.sub(rb"\1", value) if b"\\" in value else value
        if octet in (0x7B, 0x7E):  # "{" or "~"
            data = self._literal()
            if data is not None:
                return data
        raise self.error("string")

    def nstring(self) -> bytes | None:
        line = self.line
        pos = self.pos
        # A string's first octet is never an "N": test for NIL only when it can be there.
        if (pos < len(line) and line[pos] in (0x22, 0x7B, 0x7E)) or not self.nil():
            return self.string()
        return None

    def astring(self) -> bytes:
        if self.peek() in (0x22, 0x7B, 0x7E):
            return self.string()
        return self._match(_ASTRING_ATOM, "astring")

    def mailbox(self) -> bytes:
        if self.peek() in (0x22, 0x7B, 0x7E):
            return self.string()
        return self._match(_MAILBOX_ATOM, "mailbox name")

    def text_until(self, stop: bytes) -> bytes:
        """Raw octets up to (not including) ``stop`` in the current segment."""
        end = self.line.find(stop, self.pos)
        if end < 0:
            raise self.error(repr(stop))
        value = self.line[self.pos : end]
        self.pos = end
        return value

    def rest(self) -> bytes:
        """Everything left, literals re-framed as the server sent them (minus final CRLF)."""
        parts = [self.line[self.pos :]]
        for index in range(self._index, len(self._literals)):
            parts.append(b"\r\n")
            parts.append(self._literals[index])
            parts.append(self._segments[index + 1])
        self._index = len(self._segments) - 1
        self.line = self._segments[-1]
        self.pos = len(self.line)
        return b"".join(parts)

    # -- composite ------------------------------------------------------------------

    def sequence_set(self) -> tuple[int, ...]:
        """A sequence-set / uid-set of numbers, expanded in the order given; ``a:b``
        means every number between the two, whichever is larger (RFC 9051 §9)."""
        maximum = self.limits.max_set
        total = 0
        values: list[int] = []
        while True:
            match = _SET_ITEM.match(self.line, self.pos)
            if match is None:
                raise self.error("sequence set")
            self.pos = match.end()
            first, last = match.group(1), match.group(2)
            if len(first) > _MAX_DIGITS or (last is not None and len(last) > _MAX_DIGITS):
                raise self.error("a number of at most 20 digits")
            low = int(first)
            high = low if last is None else int(last)
            if low > high:
                low, high = high, low
            total += high - low + 1
            if total > maximum:
                raise LimitExceeded("numbers in a set", total, maximum)
            values.extend(range(low, high + 1))
            if not self.accept(b","):
                return tuple(values)

    def skip_value(self, depth: int = 0) -> None:
        """Skip one value we do not model: number, atom, string, NIL or a nested list."""
        octet = self.peek()
        if octet == 0x28:  # "("
            self.skip_list(depth + 1)
        elif octet in (0x22, 0x7B, 0x7E):
            self.string()
        else:
            self._match(_LOOSE_ATOM, "value")

    def skip_list(self, depth: int) -> None:
        """Skip a parenthesized list (cursor on "("), bounded by ``max_depth``."""
        if depth > self.limits.max_depth:
            raise LimitExceeded("nesting depth", depth, self.limits.max_depth)
        self.expect(b"(")
        self.skip_spaces()
        while not self.accept(b")"):
            self.skip_value(depth)
            self.skip_spaces()
