"""Typed server responses produced by the sans-IO parser (RFC 9051 / RFC 3501 + extensions).

Every value is a frozen, slotted dataclass. Strings that the server sends as IMAP strings
are decoded as UTF-8 with ``errors="replace"`` unless noted; raw bytes are kept where the
caller needs the exact octets (message sections, raw mailbox names, unknown response data).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeAlias

__all__ = [
    "Address",
    "AppendUid",
    "BodyPart",
    "BodyStructure",
    "Capability",
    "Condition",
    "Continuation",
    "CopyUid",
    "ESearch",
    "Enabled",
    "Envelope",
    "Exists",
    "Expunge",
    "Fetch",
    "Flags",
    "ListEntry",
    "Multipart",
    "Recent",
    "Response",
    "ResponseCode",
    "Search",
    "Status",
    "Tagged",
    "Unknown",
    "Vanished",
]

StatusWord: TypeAlias = Literal["OK", "NO", "BAD"]
ConditionWord: TypeAlias = Literal["OK", "NO", "BAD", "BYE", "PREAUTH"]


@dataclass(frozen=True, slots=True)
class AppendUid:
    """``[APPENDUID uidvalidity uid-set]`` (RFC 4315); ``uids`` expanded in order."""

    uidvalidity: int
    uids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyUid:
    """``[COPYUID uidvalidity source-set dest-set]`` (RFC 4315), both sets expanded."""

    uidvalidity: int
    source: tuple[int, ...]
    destination: tuple[int, ...]


CodeValue: TypeAlias = int | tuple[str, ...] | AppendUid | CopyUid | str | None


@dataclass(frozen=True, slots=True)
class ResponseCode:
    """A bracketed response code, e.g. ``[UIDVALIDITY 3857529045]``.

    ``name`` is upper-cased. ``value`` is parsed for the codes we know:
    int for UIDVALIDITY, UIDNEXT, UNSEEN, HIGHESTMODSEQ; a tuple of strings for
    CAPABILITY, PERMANENTFLAGS and BADCHARSET; AppendUid / CopyUid; None for codes
    without data (ALERT, NOMODSEQ, CLOSED, LIMIT, UNAVAILABLE, AUTHENTICATIONFAILED,
    OVERQUOTA, TRYCREATE, READ-ONLY, READ-WRITE...). Unknown codes keep their data as
    the raw text between the name and ``]`` (or None when there is none).
    """

    name: str
    value: CodeValue = None


@dataclass(frozen=True, slots=True)
class Continuation:
    """``+ text`` — the server waits for more from us (literal data, IDLE, SASL)."""

    text: str
    code: ResponseCode | None = None


@dataclass(frozen=True, slots=True)
class Tagged:
    """The completion of one command: ``tag OK|NO|BAD [code] text``."""

    tag: str
    status: StatusWord
    code: ResponseCode | None
    text: str


@dataclass(frozen=True, slots=True)
class Condition:
    """Untagged status: ``* OK|NO|BAD|BYE|PREAUTH [code] text``."""

    status: ConditionWord
    code: ResponseCode | None
    text: str


@dataclass(frozen=True, slots=True)
class Capability:
    """``* CAPABILITY ...``; capabilities are upper-cased."""

    capabilities: frozenset[str]


@dataclass(frozen=True, slots=True)
class Enabled:
    """``* ENABLED ...`` (RFC 5161); upper-cased."""

    capabilities: frozenset[str]


@dataclass(frozen=True, slots=True)
class ListEntry:
    """``* LIST`` / ``* LSUB``. ``name`` is decoded (modified UTF-7, or UTF-8 when
    UTF8=ACCEPT is enabled); ``raw_name`` holds the octets the server sent, which is
    what must be sent back to address the mailbox. Attributes keep the server's case
    (``\\HasNoChildren``, ``\\Sent``); compare them case-insensitively."""

    attributes: frozenset[str]
    delimiter: str | None
    name: str
    raw_name: bytes
    lsub: bool = False


@dataclass(frozen=True, slots=True)
class Status:
    """``* STATUS mailbox (...)``. Items the server did not send are None."""

    mailbox: str
    messages: int | None = None
    recent: int | None = None
    uidnext: int | None = None
    uidvalidity: int | None = None
    unseen: int | None = None
    highestmodseq: int | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Search:
    """``* SEARCH n n n [(MODSEQ m)]``."""

    ids: tuple[int, ...]
    modseq: int | None = None


@dataclass(frozen=True, slots=True)
class ESearch:
    """``* ESEARCH (TAG "t") [UID] MIN n MAX n COUNT n ALL set MODSEQ m`` (RFC 4731)."""

    tag: str | None
    uid: bool
    min: int | None = None
    max: int | None = None
    count: int | None = None
    all: tuple[int, ...] | None = None
    modseq: int | None = None


@dataclass(frozen=True, slots=True)
class Flags:
    """``* FLAGS (...)`` — the flags defined in the selected mailbox."""

    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Exists:
    count: int


@dataclass(frozen=True, slots=True)
class Recent:
    count: int


@dataclass(frozen=True, slots=True)
class Expunge:
    """``* n EXPUNGE`` — a message sequence number, not a UID."""

    seq: int


@dataclass(frozen=True, slots=True)
class Vanished:
    """``* VANISHED [(EARLIER)] uid-set`` (RFC 7162), UIDs expanded."""

    uids: tuple[int, ...]
    earlier: bool


@dataclass(frozen=True, slots=True)
class Address:
    """One ENVELOPE address. A group start has ``host=None`` and the group name in
    ``mailbox``; a group end has both None (RFC 9051 §7.5.2)."""

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None

    @property
    def email(self) -> str | None:
        if self.mailbox is None or self.host is None:
            return None
        return f"{self.mailbox}@{self.host}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """FETCH ENVELOPE. ``subject`` is the raw header value (RFC 2047 words not decoded)."""

    date: str | None
    subject: str | None
    from_: tuple[Address, ...]
    sender: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    in_reply_to: str | None
    message_id: str | None


@dataclass(frozen=True, slots=True)
class BodyPart:
    """A non-multipart body. ``part`` is its IMAP section number ("1", "2.1"...), computed
    by the parser: a single-part message's body is "1". ``type``/``subtype``, ``encoding``,
    ``disposition`` and parameter names are lower-cased. ``envelope``/``body`` are set for
    message/rfc822."""

    part: str
    type: str
    subtype: str
    params: Mapping[str, str]
    id: str | None
    description: str | None
    encoding: str
    size: int
    lines: int | None = None
    envelope: Envelope | None = None
    body: BodyStructure | None = None
    md5: str | None = None
    disposition: str | None = None
    disposition_params: Mapping[str, str] = field(default_factory=dict)
    language: tuple[str, ...] = ()
    location: str | None = None

    @property
    def mime_type(self) -> str:
        return f"{self.type}/{self.subtype}"

    def walk(self) -> Iterator[BodyPart]:
        yield self


@dataclass(frozen=True, slots=True)
class Multipart:
    """A multipart body. ``part`` is "" for the top level, else its section number."""

    part: str
    parts: tuple[BodyStructure, ...]
    subtype: str
    params: Mapping[str, str] = field(default_factory=dict)
    disposition: str | None = None
    disposition_params: Mapping[str, str] = field(default_factory=dict)
    language: tuple[str, ...] = ()
    location: str | None = None

    @property
    def mime_type(self) -> str:
        return f"multipart/{self.subtype}"

    def walk(self) -> Iterator[BodyPart]:
        """Every leaf part, depth first, in section order."""
        for child in self.parts:
            yield from child.walk()


BodyStructure: TypeAlias = BodyPart | Multipart


@dataclass(frozen=True, slots=True)
class Fetch:
    """``* n FETCH (...)``. Items the server did not send are None.

    ``sections`` maps the section as the server named it, upper-cased and with the
    origin kept — ``"BODY[]"``, ``"BODY[HEADER]"``, ``"BODY[1.2]<0>"``, ``"BINARY[2]"``,
    ``"RFC822.HEADER"`` — to its octets (None for NIL). ``binary_sizes`` maps the section
    part of ``BINARY.SIZE[...]`` (``"1.2"``, ``""`` for the whole message) to its size.
    """

    seq: int
    uid: int | None = None
    flags: tuple[str, ...] | None = None
    internaldate: datetime | None = None
    size: int | None = None
    modseq: int | None = None
    envelope: Envelope | None = None
    bodystructure: BodyStructure | None = None
    sections: Mapping[str, bytes | None] = field(default_factory=dict)
    binary_sizes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unknown:
    """An untagged response we do not model (e.g. ``* ID (...)``, ``* METADATA``),
    kept as its name and the raw bytes of the rest of the response."""

    name: str
    data: bytes


Response: TypeAlias = (
    Continuation
    | Tagged
    | Condition
    | Capability
    | Enabled
    | ListEntry
    | Status
    | Search
    | ESearch
    | Flags
    | Exists
    | Recent
    | Expunge
    | Vanished
    | Fetch
    | Unknown
)
