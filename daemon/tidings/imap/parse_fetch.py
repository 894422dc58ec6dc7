"""``* n FETCH (...)`` message data (RFC 9051 §7.5.2, RFC 3516 BINARY, RFC 7162 MODSEQ)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .errors import ProtocolError
from .lexer import Cursor, decode_text, remember
from .parse_body import parse_body
from .parse_envelope import parse_envelope
from .responses import BodyStructure, Envelope, Fetch

__all__ = ["parse_date_time", "parse_fetch", "parse_fetch_items"]

# msg-att names: letters, digits, "." and "-" ("RFC822.SIZE", "X-GM-MSGID"); a section
# "[...]" and an origin "<n>" may follow (section-spec holds no "]" in practice: header
# field names are atoms).
_ITEM = re.compile(rb"([A-Za-z0-9][A-Za-z0-9.\-_]*)(?:\[([^\]\r\n]*)\](?:<(\d{1,20})>)?)?")

# The items of nearly every FETCH response in the shape servers send them, each read
# with one match of this alternation: "UID n", "RFC822.SIZE n", "MODSEQ (n)",
# "FLAGS (...)", INTERNALDATE "..." (quoted, no escapes), "BODYSTRUCTURE " before its
# body, and "BODY[section]<origin> " / "BINARY[...] " before their value, with the spaces
# after them. m.lastindex says which matched: each alternative has one group, except the
# last (groups 7 to 9, lastindex 8 or 9). Anything else, or any of these in another shape
# (lower case, doubled spaces, escapes), takes the general path below, which reads the
# same shapes the same way and reports the errors.
_FLAG = rb'(?:\\\*|\\?[^\x00-\x20\x7f(){%*"\\\]]+)'
_FAST = re.compile(
    rb"(?:UID (\d{1,20})|RFC822\.SIZE (\d{1,20})|MODSEQ \((\d{1,20})\)"
    rb"|FLAGS \(((?:" + _FLAG + rb"(?: " + _FLAG + rb")*)?)\)"
    rb'|INTERNALDATE "([^"\\\r\n]*)")(?=[ )]) *'
    rb"|(BODYSTRUCTURE) +"
    rb"|(BODY|BINARY)\[([^\]\r\n]*)\](?:<(\d{1,20})>)? +"
)
_UID, _SIZE, _MODSEQ, _FLAGS, _INTERNALDATE, _BODYSTRUCTURE = 1, 2, 3, 4, 5, 6

# Flag names, section keys ("BODY[1]<0>" -> "BODY[1]<0>", "body[header]" ->
# "BODY[HEADER]") and time zones repeat on every message: each is worked out once. Only
# short ones, and only so many (see lexer.remember).
_FLAG_NAMES: dict[bytes, str] = {}
_SECTION_KEYS: dict[bytes, tuple[str, str]] = {}
_ZONES: dict[bytes, timezone] = {}

_MONTHS = {
    name: index + 1
    for index, name in enumerate(
        (b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN",
         b"JUL", b"AUG", b"SEP", b"OCT", b"NOV", b"DEC")
    )
}  # fmt: skip
# date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(rb"[ 0]?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-]\d{4})\Z")

_SECTION_ITEMS = frozenset({"BODY", "BINARY"})
_WHOLE_ITEMS = frozenset({"RFC822", "RFC822.HEADER", "RFC822.TEXT"})


def parse_date_time(raw: bytes) -> datetime:
    """INTERNALDATE text, e.g. ``17-Jul-1996 02:44:25 -0700`` -> an aware datetime."""
    match = _DATE_TIME.match(raw)
    month = _MONTHS.get(match.group(2).upper()) if match else None
    if match is None or month is None:
        raise ProtocolError(f"malformed INTERNALDATE {raw!r}")
    day, _, year, hour, minute, second, zone = match.groups()
    try:
        return datetime(
            int(year),
            month,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=_ZONES.get(zone) or _zone(zone),
        )
    except ValueError as exc:  # day 31 in June, hour 25, zone +2500...
        raise ProtocolError(f"malformed INTERNALDATE {raw!r}: {exc}") from exc


def _zone(raw: bytes) -> timezone:
    """``+0200`` / ``-0700`` as a fixed offset; ValueError when out of range."""
    offset = timedelta(hours=int(raw[1:3]), minutes=int(raw[3:5]))
    zone = timezone(-offset if raw.startswith(b"-") else offset)
    remember(_ZONES, raw, zone)
    return zone


def _flag_name(raw: bytes) -> str:
    name = _FLAG_NAMES.get(raw)
    if name is None:
        name = decode_text(raw)
        remember(_FLAG_NAMES, raw, name)
    return name


def _flags(cur: Cursor) -> tuple[str, ...]:
    cur.expect(b"(")
    flags: list[str] = []
    cur.skip_spaces()
    while not cur.accept(b")"):
        flags.append(cur.flag())
        cur.skip_spaces()
    return tuple(flags)


def _item_names(match: re.Match[bytes]) -> tuple[str, str]:
    """The msg-att name matched by _ITEM, upper-cased, and for BODY[...] / BINARY[...]
    the key of its value in Fetch.sections."""
    raw = match.group()
    names = _SECTION_KEYS.get(raw)
    if names is None:
        name = match.group(1).decode("ascii").upper()
        key = ""
        if match.group(2) is not None and name in _SECTION_ITEMS:
            key = _section_key(name, match.group(2), match.group(3))
        names = name, key
        remember(_SECTION_KEYS, raw, names)
    return names


def _section_key(name: str, section: bytes, origin: bytes | None) -> str:
    key = f"{name}[{decode_text(section).upper()}]"
    return key if origin is None else f"{key}<{int(origin)}>"


def _fast_section_key(match: re.Match[bytes]) -> str:
    """The Fetch.sections key of a section matched by _FAST (groups 7 to 9)."""
    raw = match.group()
    names = _SECTION_KEYS.get(raw)
    if names is None:
        name = match.group(7).decode("ascii")
        names = name, _section_key(name, match.group(8), match.group(9))
        remember(_SECTION_KEYS, raw, names)
    return names[1]


class _Items:
    """The msg-att values of one FETCH response, filled in as they are read."""

    __slots__ = (
        "binary_sizes",
        "bodystructure",
        "envelope",
        "flags",
        "internaldate",
        "modseq",
        "sections",
        "size",
        "uid",
    )

    def __init__(self) -> None:
        self.uid: int | None = None
        self.flags: tuple[str, ...] | None = None
        self.internaldate: datetime | None = None
        self.size: int | None = None
        self.modseq: int | None = None
        self.envelope: Envelope | None = None
        self.bodystructure: BodyStructure | None = None
        self.sections: dict[str, bytes | None] = {}
        self.binary_sizes: dict[str, int] = {}

    def read_section(self, cur: Cursor, name: str, key: str, match: re.Match[bytes]) -> None:
        if key:
            self.sections[key] = cur.nstring()
        elif name == "BINARY.SIZE":
            # Keyed by the section part alone: "BINARY.SIZE[1.2] 1234" -> "1.2".
            self.binary_sizes[decode_text(match.group(2)).upper()] = cur.number()
        else:
            cur.skip_value(1)

    def read(self, cur: Cursor, name: str) -> None:
        if name == "UID":
            self.uid = cur.number()
        elif name == "FLAGS":
            self.flags = _flags(cur)
        elif name == "INTERNALDATE":
            self.internaldate = parse_date_time(cur.string())
        elif name == "RFC822.SIZE":
            self.size = cur.number()
        elif name == "MODSEQ":
            # fetch-mod-resp = "MODSEQ" SP "(" permsg-modsequence ")" (RFC 7162 §7)
            cur.expect(b"(")
            cur.skip_spaces()
            self.modseq = cur.number()
            cur.skip_spaces()
            cur.expect(b")")
        elif name == "ENVELOPE":
            self.envelope = parse_envelope(cur)
        elif name in ("BODY", "BODYSTRUCTURE"):
            self.bodystructure = parse_body(cur, 1)
        elif name in _WHOLE_ITEMS:
            self.sections[name] = cur.nstring()
        else:
            # X-GM-LABELS, EMAILID, PREVIEW, SAVEDATE...: not modelled, skipped whole.
            cur.skip_value(1)


def parse_fetch(cur: Cursor, seq: int) -> Fetch:
    """The parenthesized msg-att list after ``n FETCH``, to the end of the response."""
    cur.expect(b"(")
    return parse_fetch_items(cur, seq)


def parse_fetch_items(cur: Cursor, seq: int) -> Fetch:
    """Like :func:`parse_fetch`, with the cursor just past the list's opening paren."""
    items = _Items()
    cur.skip_spaces()
    fast = _FAST.match
    while True:
        line = cur.line
        pos = cur.pos
        match = fast(line, pos)
        if match is not None:
            cur.pos = match.end()
            kind = match.lastindex
            if kind == _UID:
                items.uid = int(match.group(_UID))
            elif kind == _FLAGS:
                flags = match.group(_FLAGS)
                items.flags = tuple(_flag_name(flag) for flag in flags.split(b" ")) if flags else ()
            elif kind == _INTERNALDATE:
                items.internaldate = parse_date_time(match.group(_INTERNALDATE))
            elif kind == _SIZE:
                items.size = int(match.group(_SIZE))
            elif kind == _MODSEQ:
                items.modseq = int(match.group(_MODSEQ))
            elif kind == _BODYSTRUCTURE:
                items.bodystructure = parse_body(cur, 1)
                cur.skip_spaces()
            else:
                key = _fast_section_key(match)
                items.sections[key] = cur.nstring()
                cur.skip_spaces()
            continue
        if line.startswith(b")", pos):
            cur.pos = pos + 1
            break
        match = _ITEM.match(line, pos)
        if match is None:
            raise cur.error("FETCH item")
        cur.pos = match.end()
        name, key = _item_names(match)
        cur.sp()
        if match.group(2) is not None:
            items.read_section(cur, name, key, match)
        else:
            items.read(cur, name)
        cur.skip_spaces()
    if not cur.at_end():
        cur.expect_end()  # trailing spaces, else the error
    return Fetch(
        seq,
        items.uid,
        items.flags,
        items.internaldate,
        items.size,
        items.modseq,
        items.envelope,
        items.bodystructure,
        items.sections,
        items.binary_sizes,
    )
