"""``* n FETCH (...)`` message data (RFC 9051 §7.5.2, RFC 3516 BINARY, RFC 7162 MODSEQ)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .errors import ProtocolError
from .lexer import Cursor, decode_text
from .parse_body import parse_body
from .parse_envelope import parse_envelope
from .responses import BodyStructure, Envelope, Fetch

__all__ = ["parse_date_time", "parse_fetch"]

# msg-att names: letters, digits, "." and "-" ("RFC822.SIZE", "X-GM-MSGID"); a section
# "[...]" and an origin "<n>" may follow (section-spec holds no "]" in practice: header
# field names are atoms).
_ITEM = re.compile(rb"([A-Za-z0-9][A-Za-z0-9.\-_]*)(?:\[([^\]\r\n]*)\](?:<(\d{1,20})>)?)?")

# The attributes a flag sync fetches for every message, read with one regex match:
# "UID n", "RFC822.SIZE n", "MODSEQ (n)", "FLAGS (...)". Anything else, or any of
# these in an unusual shape, takes the general path below.
_FLAG = rb'(?:\\\*|\\?[^\x00-\x20\x7f(){%*"\\\]]+)'
_FAST = re.compile(
    rb"(?i:(UID|RFC822\.SIZE) (\d{1,20})|MODSEQ \((\d{1,20})\)"
    rb"|FLAGS \(((?:" + _FLAG + rb"(?: " + _FLAG + rb")*)?)\))(?=[ )])"
)

_MONTHS = {
    name: index + 1
    for index, name in enumerate(
        (b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN",
         b"JUL", b"AUG", b"SEP", b"OCT", b"NOV", b"DEC")
    )
}  # fmt: skip
# date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    rb"[ 0]?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\Z"
)

_SECTION_ITEMS = frozenset({"BODY", "BINARY"})
_WHOLE_ITEMS = frozenset({"RFC822", "RFC822.HEADER", "RFC822.TEXT"})


def parse_date_time(raw: bytes) -> datetime:
    """INTERNALDATE text, e.g. ``17-Jul-1996 02:44:25 -0700`` -> an aware datetime."""
    match = _DATE_TIME.match(raw)
    month = _MONTHS.get(match.group(2).upper()) if match else None
    if match is None or month is None:
        raise ProtocolError(f"malformed INTERNALDATE {raw!r}")
    day, _, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    try:
        offset = timedelta(hours=int(zone_h), minutes=int(zone_m))
        zone = timezone(-offset if sign == b"-" else offset)
        return datetime(
            int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError as exc:  # day 31 in June, hour 25, zone +2500...
        raise ProtocolError(f"malformed INTERNALDATE {raw!r}: {exc}") from exc


def _flags(cur: Cursor) -> tuple[str, ...]:
    cur.expect(b"(")
    flags: list[str] = []
    cur.skip_spaces()
    while not cur.accept(b")"):
        flags.append(cur.flag())
        cur.skip_spaces()
    return tuple(flags)


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

    def read_fast(self, match: re.Match[bytes]) -> None:
        if match.group(1) is not None:
            if match.group(1).upper() == b"UID":
                self.uid = int(match.group(2))
            else:
                self.size = int(match.group(2))
        elif match.group(3) is not None:
            self.modseq = int(match.group(3))
        else:
            self.flags = tuple(decode_text(flag) for flag in match.group(4).split(b" ") if flag)

    def read_section(self, cur: Cursor, name: str, match: re.Match[bytes]) -> None:
        section = decode_text(match.group(2)).upper()
        if name in _SECTION_ITEMS:
            key = f"{name}[{section}]"
            if match.group(3) is not None:
                key += f"<{int(match.group(3))}>"
            self.sections[key] = cur.nstring()
        elif name == "BINARY.SIZE":
            # Keyed by the section part alone: "BINARY.SIZE[1.2] 1234" -> "1.2".
            self.binary_sizes[section] = cur.number()
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
    items = _Items()
    cur.expect(b"(")
    cur.skip_spaces()
    while not cur.accept(b")"):
        fast = cur.match(_FAST)
        if fast is not None:
            items.read_fast(fast)
            cur.skip_spaces()
            continue
        match = cur.match(_ITEM)
        if match is None:
            raise cur.error("FETCH item")
        name = match.group(1).decode("ascii").upper()
        cur.sp()
        if match.group(2) is not None:
            items.read_section(cur, name, match)
        else:
            items.read(cur, name)
        cur.skip_spaces()
    cur.expect_end()
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
