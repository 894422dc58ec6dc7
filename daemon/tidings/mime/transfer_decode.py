"""Content-Transfer-Encodings undone piece by piece, for parts too large to hold whole.

Each decoder takes consecutive pieces of an encoded part, cut anywhere, and gives what
:func:`~tidings.mime.transfer.decode_transfer_encoding` gives for the whole part; it
carries at most a line (or a few characters) from one piece to the next, so memory
stays bounded by the piece size.

Base64 is where the time goes for large attachments. Mail encoders write lines of one
length, so the usual piece is a grid: its line breaks sit in the same columns of every
row, and numpy copies the other columns out in one strided pass, checked, then one
strict decode takes the whole piece. Other well-formed text (the alphabet, line breaks,
padding only at the end) takes the next path: line breaks dropped with
``bytes.translate``, then one strict decode of every whole quad. Anything else in a
piece (junk characters, padding in the middle of parts glued from separately encoded
pieces) sends that piece down the careful path, which decodes the way the whole-part
decoder does. The strict decode uses pybase64 (SIMD, about 30 times the speed of
``binascii`` here) when it is installed, else ``binascii`` in strict mode.
"""

from __future__ import annotations

import binascii
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias, cast

import numpy as np

__all__ = [
    "Base64Stream",
    "Header",
    "IdentityStream",
    "Octets",
    "QuotedPrintableStream",
    "StreamDecoder",
    "UuencodeStream",
    "base64_backends",
    "decoder_for",
]

# What a stream decoder takes and gives: a piece read straight off the network is a
# bytearray (see tidings.imap.section_stream).
Octets: TypeAlias = bytes | bytearray
# What a caller may want in front of decoded octets, in the same buffer: given how many
# octets were decoded, the octets to put before them (a protocol's framing, say).
Header: TypeAlias = Callable[[int], bytes]

_NOT_BASE64: Final = re.compile(rb"[^A-Za-z0-9+/=]")
_LINE_SPACE: Final = b" \t\r\n"
_BASE64_CHARS: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
# RFC 2045 §6.7 (5) limits encoded lines to 76 characters; past this a line is broken
# mail and is decoded as far as it goes rather than held.
_MAX_QP_CARRY: Final = 64 * 1024
_CR: Final = ord("\r")
_LF: Final = ord("\n")
# CR LF as one two-octet number, to check the line ends of a grid's rows in one compare.
_CRLF: Final = np.frombuffer(b"\r\n", "<u2")[0]


@dataclass(frozen=True, slots=True)
class Base64Backend:
    """One implementation of the two decodes the fast paths need; both raise
    ``binascii.Error`` (a ValueError) on what they do not take."""

    name: str
    strict: Callable[[bytes | memoryview], bytes]
    """Whole quads of the alphabet only, padding only at the very end."""
    lenient: Callable[[bytes | memoryview], bytes]
    """Whole quads once characters outside the alphabet are skipped; never given
    ``=``, whose meaning in the middle of the text the backends do not agree on."""


def _binascii_strict(chars: bytes | memoryview) -> bytes:
    return binascii.a2b_base64(chars, strict_mode=True)


def _binascii_lenient(chars: bytes | memoryview) -> bytes:
    return binascii.a2b_base64(chars)


def base64_backends() -> list[Base64Backend]:
    """The backends this interpreter has, fastest first."""
    backends = [Base64Backend("binascii", _binascii_strict, _binascii_lenient)]
    try:
        module = importlib.import_module("pybase64")
    except ImportError:
        return backends
    decode = cast(Callable[..., bytes], module.b64decode)

    def pybase64_strict(chars: bytes | memoryview) -> bytes:
        return decode(chars, validate=True)

    def pybase64_lenient(chars: bytes | memoryview) -> bytes:
        return decode(chars)

    return [Base64Backend("pybase64", pybase64_strict, pybase64_lenient), *backends]


_BACKEND: Final = base64_backends()[0]


class StreamDecoder(Protocol):
    """Undoes a transfer encoding over consecutive pieces of the encoded part."""

    def feed(self, data: Octets) -> Octets: ...

    def finish(self) -> bytes: ...


class IdentityStream:
    """7bit, 8bit, binary, and encodings we do not know (kept as they are, as
    RFC 2045 §6.4 suggests for an unknown encoding)."""

    def feed(self, data: Octets) -> Octets:
        return data

    def finish(self) -> bytes:
        return b""


class Base64Stream:
    """Base64 (RFC 2045 §6.8) in pieces: characters short of a quad, or of a line, are
    carried to the next piece.

    Like the whole-part decoder in `tidings.mime`, it skips characters outside the
    alphabet and lets padding end a run, so parts glued from separately encoded pieces
    decode in full. Four paths, tried in turn on each piece, give the same octets:
    rows of one length copied out of their line breaks, lines decoded as they stand,
    line breaks dropped first, and the careful path."""

    def __init__(self, backend: Base64Backend = _BACKEND) -> None:
        self._carry = b""  # alphabet characters only, never a line break
        self._backend = backend

    def feed(self, data: Octets) -> Octets:
        decoded = self._by_rows(data)
        return decoded if decoded is not None else self._not_by_rows(data)

    def feed_after(self, header: Header, data: Octets) -> bytes:
        """``header(n)`` followed by the `n` octets that ``feed(data)`` gives, in one
        buffer; empty when the piece decodes to nothing.

        When the piece is a grid (see `_by_rows`) and the header is a whole number of
        triples, the header's own base64 goes in front of the piece's text and one
        decode gives both: the decoded octets are never copied to put them behind their
        header. Any other piece is decoded as `feed` does and joined to its header."""
        framed = self._by_rows(data, header)
        if framed is not None:
            return framed
        decoded = self._not_by_rows(data)
        return header(len(decoded)) + decoded if decoded else b""

    def _not_by_rows(self, data: Octets) -> Octets:
        decoded = self._by_lines(data)
        if decoded is not None:
            return decoded
        cleaned = data.translate(None, _LINE_SPACE)
        decoded = self._cleaned(cleaned)
        return decoded if decoded is not None else self._careful(cleaned)

    def finish(self) -> bytes:
        rest, self._carry = self._carry, b""
        return _decode_quads(rest, final=True)

    def _by_rows(self, data: Octets, header: Header | None = None) -> bytes | None:
        """The usual mail, read as a grid: after the line that completes the carried
        characters, rows of one length, each a whole number of quads ending in CRLF (or
        LF), so the line breaks sit in the same columns of every row. The line-break
        columns are checked, the others copied out in one strided pass, and one strict
        decode takes the opening line and every row (a stray character anywhere fails
        it). What follows the last line break is carried. None, with nothing changed,
        when the piece is not like that.

        With `header`, what `feed_after` gives: the header's base64 written in front of
        the text decodes to the header itself (it is whole triples, so it needs no
        padding and leaves the text's quads where they were)."""
        first = data.find(b"\n") + 1
        second = data.find(b"\n", first) + 1
        last = data.rfind(b"\n") + 1
        stride = second - first
        if not first or stride < 2 or (last - first) % stride:
            return None
        crlf = stride > 2 and data[second - 2] == _CR
        width = stride - 1 - crlf
        if width % 4 or not width:
            return None
        edges = self._edges(data, first, last)
        if edges is None:
            return None
        opening, rest = edges
        rows = (last - first) // stride
        grid = np.frombuffer(data, np.uint8, last - first, first).reshape(rows, stride)
        ends = grid[:, -2:].view(_CRLF.dtype) if crlf else grid[:, -1]
        if not (ends == (_CRLF if crlf else _LF)).all():
            return None  # a row that ends elsewhere
        chars = len(opening) + rows * width
        if header is None:
            front = b""
        else:
            # Padding may end the part's last line: "=" decodes to nothing.
            tail = grid[-1, width - 2:width].tobytes()
            front = header(chars // 4 * 3 - tail.count(b"="))
            if len(front) % 3:
                return None
            front = binascii.b2a_base64(front, newline=False)
        text = np.empty(len(front) + chars, np.uint8)
        text[:len(front)] = np.frombuffer(front, np.uint8)
        start = len(front) + len(opening)
        text[len(front):start] = np.frombuffer(opening, np.uint8)
        text[start:].reshape(rows, width)[:] = grid[:, :width]
        try:
            decoded = self._backend.strict(text.data)
        except ValueError:  # binascii.Error: a character outside the alphabet
            return None
        self._carry = rest
        return decoded

    def _edges(self, data: Octets, first: int, last: int) -> tuple[bytes, bytes] | None:
        """What the grid and line paths decode around a piece's whole lines: the carried
        characters with the text before the first line break (`first`), and the text
        after the last one (`last`), to carry; line space dropped from both. None when
        the opening is not whole quads (a line of its own length) or the rest holds
        junk or padding, which must not be carried."""
        with memoryview(data) as view:
            opening = self._carry + view[:first].tobytes().translate(None, _LINE_SPACE)
            rest = view[last:].tobytes().translate(None, _LINE_SPACE)
        if len(opening) % 4 or rest.translate(None, _BASE64_CHARS) or b"=" in rest:
            return None
        return opening, rest

    def _by_lines(self, data: Octets) -> bytes | None:
        """The usual mail: whole lines of whole quads, no padding before the end.
        The first line completes the carried characters, the lines after it are
        decoded with their line breaks in them (no copy to drop those), and what
        follows the last line break is carried. None, with nothing changed, when the
        piece is not like that."""
        first = data.find(b"\n") + 1
        last = data.rfind(b"\n") + 1
        if first == last or data.find(b"=") >= 0:
            return None
        edges = self._edges(data, first, last)
        if edges is None:
            return None
        opening, rest = edges
        with memoryview(data) as view:
            try:
                head = self._backend.strict(opening)
                body = self._backend.lenient(view[first:last])
            except ValueError:  # binascii.Error
                return None
        self._carry = rest
        return head + body if head else body

    def _cleaned(self, cleaned: Octets) -> bytes | None:
        """Strictly decode the carried characters and the piece's whole quads once
        line breaks are dropped; None, with nothing changed, when that is not plain
        base64. Padding ends what the strict decoder takes, which is where the
        careful path ends a run too, so the two agree."""
        carry = self._carry
        need = -len(carry) % 4
        end = need + (len(cleaned) - need) // 4 * 4
        rest = cleaned[end:]
        if end < need or rest.translate(None, _BASE64_CHARS) or b"=" in rest:
            return None  # too short to bother, or junk or padding that must not be carried
        try:
            head = self._backend.strict(carry + cleaned[:need]) if carry else b""
            with memoryview(cleaned) as view:
                body = self._backend.strict(view[need:end])
        except ValueError:  # binascii.Error
            return None
        self._carry = bytes(rest)  # a few characters
        return head + body if head else body

    def _careful(self, cleaned: Octets) -> bytes:
        # bytes.translate runs many times faster than a regular expression here; the
        # expression only runs on the rare text that has junk in it.
        if cleaned.translate(None, _BASE64_CHARS):
            cleaned = _NOT_BASE64.sub(b"", cleaned)
        text = self._carry + cleaned
        out: list[bytes] = []
        start = 0
        while (pad := text.find(b"=", start)) >= 0:
            out.append(_decode_quads(text[start:pad], final=True))
            start = pad + 1
        rest = text[start:]
        whole = len(rest) - len(rest) % 4
        out.append(_decode_quads(rest[:whole], final=False))
        self._carry = rest[whole:]
        return b"".join(out)


def _decode_quads(chars: bytes, *, final: bool) -> bytes:
    """Decode base64 characters; with `final` the last partial quad is padded (one
    lone character holds less than a byte and is dropped)."""
    extra = len(chars) % 4
    if extra == 1:
        chars = chars[:-1]
    elif extra and final:
        chars += b"=" * (4 - extra)
    return binascii.a2b_base64(chars) if chars else b""


class QuotedPrintableStream:
    """Quoted-printable (RFC 2045 §6.7) in pieces.

    Decoding stops after the last line break of what has arrived: an ``=`` escape or
    a soft line break (``=`` CRLF) never spans a line break, so the text carried to the
    next piece is never needed to decode what came before it."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, data: Octets) -> Octets:
        text = self._carry + data
        cut = text.rfind(b"\n") + 1
        if cut == 0 and len(text) > _MAX_QP_CARRY:
            # No line break in sight: decode all but a possibly unfinished escape.
            escape = text.rfind(b"=", len(text) - 2)
            cut = escape if escape >= 0 else len(text)
        self._carry = text[cut:]
        return binascii.a2b_qp(text[:cut])

    def finish(self) -> bytes:
        rest, self._carry = self._carry, b""
        return binascii.a2b_qp(rest)


class UuencodeStream:
    """x-uuencode, line by line: the lines between ``begin`` and ``end``."""

    def __init__(self) -> None:
        self._carry = b""
        self._started = False
        self._ended = False

    def feed(self, data: Octets) -> Octets:
        text = self._carry + data
        cut = text.rfind(b"\n") + 1
        self._carry = text[cut:]
        return b"".join(self._line(line) for line in text[:cut].splitlines())

    def finish(self) -> bytes:
        rest, self._carry = self._carry, b""
        return b"".join(self._line(line) for line in rest.splitlines())

    def _line(self, line: bytes) -> bytes:
        if self._ended:
            return b""
        if not self._started:
            self._started = line.startswith(b"begin")
            return b""
        if line.strip() == b"end":
            self._ended = True
            return b""
        if not line.strip() or line.strip() == b"`":
            return b""
        try:
            return binascii.a2b_uu(line)
        except binascii.Error:
            # The length character says how much the line holds; encoders that add
            # junk after it are cut off there (as the whole-part decoder does).
            needed = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                return binascii.a2b_uu(line[:needed])
            except binascii.Error:
                return b""


def decoder_for(encoding: str | None) -> StreamDecoder:
    name = (encoding or "").strip().strip("\"'").strip().lower()
    if name == "base64":
        return Base64Stream()
    if name == "quoted-printable":
        return QuotedPrintableStream()
    if name in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return UuencodeStream()
    return IdentityStream()
