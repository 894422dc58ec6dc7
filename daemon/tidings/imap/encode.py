"""Command encoding (sans-IO): arguments → the byte chunks of one tagged command.

A command is sent as one or more chunks. Between two chunks the client waits for a
``+`` continuation: each chunk but the last ends with a synchronizing literal header
``{n}`` (RFC 9051 §7.5). With LITERAL+ every literal is non-synchronizing (``{n+}``,
RFC 7888 §3) and the command is a single chunk; LITERAL- allows that only up to 4096
octets (RFC 7888 §4).

Every value is checked before a byte is produced, so a bad argument raises
:class:`CommandError` and nothing reaches the wire. No value can end the command line
early: a CR or LF is only ever sent inside a literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeAlias

from .errors import CommandError
from .mutf7 import encode_mutf7
from .seqset import SeqSet

__all__ = [
    "Arg",
    "Binary",
    "Mailbox",
    "Raw",
    "SeqSet",
    "String",
    "encode_command",
    "flag_list",
    "format_internaldate",
    "search_date",
]

# RFC 7888 §4: with LITERAL- only literals up to 4096 octets may be non-synchronizing.
LITERAL_MINUS_MAX = 4096

# A conservative atom: atom-specials (RFC 9051 §9: "(" ")" "{" SP CTL "%" "*" DQUOTE
# "\" "]") are excluded, and so is "[" so that nothing can be mistaken for a section.
_SAFE_ATOM = re.compile(rb"[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|~}]+\Z")
_PRINTABLE = re.compile(rb"[\x20-\x7e]*\Z")
_TAG = re.compile(r"[A-Za-z0-9.\-_]+\Z")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9.\-]*( [A-Za-z][A-Za-z0-9.\-]*)?\Z")
# flag = "\" atom / keyword (RFC 9051 §9); keywords are atoms.
_FLAG = re.compile(r"\\?[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|~\[}]+\Z")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A mailbox name. A ``str`` is encoded as modified UTF-7 (RFC 9051 §5.1.3), or
    as UTF-8 once UTF8=ACCEPT is enabled (RFC 6855 §3). ``bytes`` are the octets a
    server sent in LIST (:attr:`ListEntry.raw_name`) and are sent back unchanged.
    ``INBOX`` is case-insensitive (RFC 9051 §5.1) and normalised."""

    name: str | bytes

    def octets(self, utf8: bool) -> bytes:
        name = self.name
        if isinstance(name, bytes):
            return name
        if "\x00" in name:
            # Modified UTF-7 would smuggle it through as base64; refuse it as anywhere.
            raise CommandError("NUL is not allowed in a mailbox name")
        if name.upper() == "INBOX":
            return b"INBOX"
        return _utf8(name) if utf8 else encode_mutf7(name)


@dataclass(frozen=True, slots=True)
class Raw:
    """Pre-formed syntax sent as is: fetch items, search keys, flags, modifiers.
    It may never hold CR, LF or NUL (RFC 9051 §9: ``TEXT-CHAR``)."""

    text: str

    def __post_init__(self) -> None:
        if any(ch in self.text for ch in "\r\n\x00"):
            raise CommandError(f"raw command text contains CR, LF or NUL: {self.text!r}")


@dataclass(frozen=True, slots=True)
class String:
    """A ``string`` where the grammar allows no atom (RFC 2971 ID parameters):
    always quoted, or a literal when it cannot be."""

    text: str


@dataclass(frozen=True, slots=True)
class Binary:
    """A literal8 (``~{n}``, RFC 3516 / RFC 9051 §4.3.1): the only place NUL may go.
    Only send it to a server that advertises BINARY."""

    data: bytes


Arg: TypeAlias = (
    "str | bytes | int | Mailbox | Raw | String | Binary | SeqSet | Sequence[Arg] | None"
)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot go on the wire
        raise CommandError(f"text is not encodable as UTF-8: {text!r}") from exc


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Writer:
    """Accumulates one command; ``chunks`` closes at every synchronizing literal."""

    __slots__ = ("chunks", "literal_minus", "literal_plus", "parts", "utf8")

    def __init__(self, literal_plus: bool, literal_minus: bool, utf8: bool) -> None:
        self.parts: list[bytes] = []
        self.chunks: list[bytes] = []
        self.literal_plus = literal_plus
        self.literal_minus = literal_minus
        self.utf8 = utf8

    def literal(self, data: bytes, *, binary: bool = False) -> None:
        if not binary and b"\x00" in data:
            # RFC 9051 §4.3: a literal is CHAR8, which excludes NUL; only literal8 may
            # hold it.
            raise CommandError("NUL is not allowed in a literal; send it as Binary")
        size = len(data)
        prefix = b"~" if binary else b""
        if self.literal_plus or (self.literal_minus and size <= LITERAL_MINUS_MAX):
            self.parts += [prefix, b"{%d+}\r\n" % size, data]
            return
        self.parts += [prefix, b"{%d}\r\n" % size]
        self.chunks.append(b"".join(self.parts))
        self.parts = [data]

    def string(self, data: bytes, *, atom_ok: bool = True) -> None:
        """astring (RFC 9051 §4.3): atom, else quoted, else literal."""
        if b"\x00" in data:
            raise CommandError("NUL is not allowed in an IMAP string")
        if atom_ok and _SAFE_ATOM.match(data) and data.upper() != b"NIL":
            self.parts.append(data)
        elif _PRINTABLE.match(data) or (
            self.utf8 and b"\r" not in data and b"\n" not in data
            and not any(b < 0x20 or b == 0x7F for b in data) and _is_utf8(data)
        ):
            # RFC 6855 §3: with UTF8=ACCEPT, quoted strings may carry UTF-8.
            escaped = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            self.parts += [b'"', escaped, b'"']
        else:
            self.literal(data)

    def arg(self, value: Arg) -> None:
        if isinstance(value, str):
            self.string(_utf8(value))
        elif isinstance(value, bool):
            raise CommandError("booleans have no IMAP encoding")
        elif isinstance(value, int):
            # number64 (RFC 9051 §9) is the widest numeric argument (MODSEQ).
            if not 0 <= value < 2**63:
                raise CommandError(f"number {value} is outside 0..2^63-1")
            self.parts.append(b"%d" % value)
        elif isinstance(value, bytes):
            self.literal(value)
        elif value is None:
            self.parts.append(b"NIL")
        elif isinstance(value, Mailbox):
            self.string(value.octets(self.utf8))
        elif isinstance(value, String):
            self.string(_utf8(value.text), atom_ok=False)
        elif isinstance(value, Raw):
            self.parts.append(_utf8(value.text))
        elif isinstance(value, Binary):
            self.literal(value.data, binary=True)
        elif isinstance(value, SeqSet):
            if not value:
                raise CommandError("an empty sequence set cannot be sent")
            self.parts.append(str(value).encode("ascii"))
        else:
            self.parts.append(b"(")
            for i, item in enumerate(value):
                if i:
                    self.parts.append(b" ")
                self.arg(item)
            self.parts.append(b")")


def encode_command(
    tag: str,
    name: str,
    *args: Arg,
    literal_plus: bool = False,
    literal_minus: bool = False,
    utf8: bool = False,
) -> tuple[bytes, ...]:
    """Encode ``tag name args...CRLF``; see the module docstring for the chunking.

    ``name`` is the command word(s), e.g. ``"UID FETCH"``. ``str`` arguments are
    astrings, ``bytes`` literals, sequences parenthesised lists.
    """
    if not _TAG.match(tag):
        raise CommandError(f"bad tag {tag!r}")
    if not _NAME.match(name):
        raise CommandError(f"bad command name {name!r}")
    writer = _Writer(literal_plus, literal_minus, utf8)
    writer.parts += [tag.encode("ascii"), b" ", name.encode("ascii")]
    for value in args:
        writer.parts.append(b" ")
        writer.arg(value)
    writer.parts.append(b"\r\n")
    writer.chunks.append(b"".join(writer.parts))
    return tuple(writer.chunks)


def flag_list(flags: Iterable[str]) -> tuple[Raw, ...]:
    """Validate flags (``\\Seen``, ``$Junk``...) for STORE / APPEND (RFC 9051 §2.3.2)."""
    out: list[Raw] = []
    for flag in flags:
        if not _FLAG.match(flag):
            raise CommandError(f"not a valid flag or keyword: {flag!r}")
        out.append(Raw(flag))
    return tuple(out)


def format_internaldate(moment: datetime) -> str:
    """``date-time`` for APPEND (RFC 9051 §9): ``" 1-Feb-2024 13:05:00 +0100"``.

    A naive datetime is taken as UTC. Month names are fixed English, not the locale's.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{moment.day:2d}-{_MONTHS[moment.month - 1]}-{moment.year:04d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} "
        f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    )


def search_date(day: date) -> Raw:
    """``date`` for SEARCH SINCE/BEFORE/ON (RFC 9051 §9): ``1-Feb-2024``."""
    return Raw(f"{day.day}-{_MONTHS[day.month - 1]}-{day.year:04d}")
