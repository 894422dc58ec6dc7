"""Server-side serializer: response dataclasses back into IMAP octets.

Used by round-trip properties and by tests that script a fake server. Strings go out
quoted when they can be, else as literals (``literal8`` for octets with NUL); mailbox
names are encoded with modified UTF-7 unless ``utf8_names`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from tidings.imap.mutf7 import encode_mutf7
from tidings.imap.reader import NeedData, ResponseReader
from tidings.imap.responses import (
    Address,
    AppendUid,
    BodyStructure,
    Capability,
    Condition,
    Continuation,
    CopyUid,
    Enabled,
    Envelope,
    ESearch,
    Exists,
    Expunge,
    Fetch,
    Flags,
    ListEntry,
    Multipart,
    Recent,
    Response,
    ResponseCode,
    Search,
    Status,
    Tagged,
    Unknown,
    Vanished,
)

__all__ = [
    "body",
    "date_time",
    "encode",
    "encode_all",
    "envelope",
    "nstring",
    "parse_all",
    "sequence_set",
    "string",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_QUOTED_MAX = 200


def string(value: bytes | str) -> bytes:
    """A quoted string, or a literal when the octets cannot be quoted."""
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) <= _QUOTED_MAX and not any(c in raw for c in b"\r\n\x00"):
        return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    prefix = b"~" if b"\x00" in raw else b""
    return prefix + b"{%d}\r\n" % len(raw) + raw


def nstring(value: bytes | str | None) -> bytes:
    return b"NIL" if value is None else string(value)


def sequence_set(numbers: Sequence[int]) -> bytes:
    """Numbers as a compact set, ranges for consecutive runs, order kept."""
    pieces: list[bytes] = []
    index = 0
    while index < len(numbers):
        first = last = numbers[index]
        while index + 1 < len(numbers) and numbers[index + 1] == last + 1:
            index += 1
            last = numbers[index]
        pieces.append(b"%d" % first if first == last else b"%d:%d" % (first, last))
        index += 1
    return b",".join(pieces)


def _list(items: Iterable[bytes]) -> bytes:
    return b"(" + b" ".join(items) + b")"


def _code(code: ResponseCode) -> bytes:
    name = code.name.encode()
    value = code.value
    if value is None:
        data = b""
    elif isinstance(value, int):
        data = b" %d" % value
    elif isinstance(value, AppendUid):
        data = b" %d %s" % (value.uidvalidity, sequence_set(value.uids))
    elif isinstance(value, CopyUid):
        data = b" %d %s %s" % (
            value.uidvalidity,
            sequence_set(value.source),
            sequence_set(value.destination),
        )
    elif isinstance(value, str):
        data = b" " + value.encode()
    elif code.name == "CAPABILITY":
        data = b" " + b" ".join(v.encode() for v in value)
    elif code.name == "BADCHARSET":
        data = b" " + _list(string(v) for v in value) if value else b""
    else:
        data = b" " + _list(v.encode() for v in value)
    return b"[" + name + data + b"]"


def _resp_text(code: ResponseCode | None, text: str) -> bytes:
    if code is None:
        return text.encode()
    return _code(code) + (b" " + text.encode() if text else b"")


def _mailbox(name: str, utf8_names: bool) -> bytes:
    return string(name.encode() if utf8_names else encode_mutf7(name))


def _params(params: Mapping[str, str]) -> bytes:
    if not params:
        return b"NIL"
    return _list(string(k) + b" " + string(v) for k, v in params.items())


def _address_list(addresses: Sequence[Address]) -> bytes:
    if not addresses:
        return b"NIL"
    return (
        b"("
        + b"".join(_list(nstring(v) for v in (a.name, a.adl, a.mailbox, a.host)) for a in addresses)
        + b")"
    )


def envelope(env: Envelope) -> bytes:
    fields = [nstring(env.date), nstring(env.subject)]
    fields += [
        _address_list(group)
        for group in (env.from_, env.sender, env.reply_to, env.to, env.cc, env.bcc)
    ]
    fields += [nstring(env.in_reply_to), nstring(env.message_id)]
    return _list(fields)


def _extension(
    first: bytes,
    disposition: str | None,
    disposition_params: Mapping[str, str],
    language: Sequence[str],
    location: str | None,
) -> list[bytes]:
    """Extension data, cut after the last element that carries something."""
    dsp = b"NIL"
    if disposition is not None:
        dsp = _list([string(disposition), _params(disposition_params)])
    if not language:
        lang = b"NIL"
    elif len(language) == 1:
        lang = string(language[0])
    else:
        lang = _list(string(v) for v in language)
    items = [first, dsp, lang, nstring(location)]
    while items and items[-1] == b"NIL":
        items.pop()
    return items


def body(structure: BodyStructure) -> bytes:
    if isinstance(structure, Multipart):
        out = b"".join(body(part) for part in structure.parts) + b" " + string(structure.subtype)
        ext = _extension(
            _params(structure.params),
            structure.disposition,
            structure.disposition_params,
            structure.language,
            structure.location,
        )
        return b"(" + b" ".join([out, *ext]) + b")"
    part = structure
    fields = [
        string(part.type),
        string(part.subtype),
        _params(part.params),
        nstring(part.id),
        nstring(part.description),
        string(part.encoding),
        b"%d" % part.size,
    ]
    if part.envelope is not None and part.body is not None:
        fields += [envelope(part.envelope), body(part.body), b"%d" % (part.lines or 0)]
    elif part.lines is not None:
        fields.append(b"%d" % part.lines)
    fields += _extension(
        nstring(part.md5),
        part.disposition,
        part.disposition_params,
        part.language,
        part.location,
    )
    return _list(fields)


def date_time(value: datetime) -> bytes:
    offset = value.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    text = (
        f'"{value.day:2d}-{_MONTHS[value.month - 1]}-{value.year:04d} '
        f'{value.hour:02d}:{value.minute:02d}:{value.second:02d} {sign}{hours:02d}{mins:02d}"'
    )
    return text.encode()


def _fetch(response: Fetch) -> bytes:
    items: list[bytes] = []
    if response.uid is not None:
        items.append(b"UID %d" % response.uid)
    if response.flags is not None:
        items.append(b"FLAGS " + _list(f.encode() for f in response.flags))
    if response.internaldate is not None:
        items.append(b"INTERNALDATE " + date_time(response.internaldate))
    if response.size is not None:
        items.append(b"RFC822.SIZE %d" % response.size)
    if response.modseq is not None:
        items.append(b"MODSEQ (%d)" % response.modseq)
    if response.envelope is not None:
        items.append(b"ENVELOPE " + envelope(response.envelope))
    if response.bodystructure is not None:
        items.append(b"BODYSTRUCTURE " + body(response.bodystructure))
    for key, value in response.sections.items():
        items.append(key.encode() + b" " + nstring(value))
    for section, size in response.binary_sizes.items():
        items.append(b"BINARY.SIZE[%s] %d" % (section.encode(), size))
    return b"* %d FETCH " % response.seq + _list(items)


def encode(response: Response, *, utf8_names: bool = False) -> bytes:
    """One response, CRLF included."""
    return _encode(response, utf8_names) + b"\r\n"


def encode_all(responses: Iterable[Response], *, utf8_names: bool = False) -> bytes:
    return b"".join(encode(r, utf8_names=utf8_names) for r in responses)


def _encode(response: Response, utf8_names: bool) -> bytes:
    match response:
        case Continuation(text=text, code=code):
            return b"+ " + _resp_text(code, text)
        case Tagged(tag=tag, status=status, code=code, text=text):
            return tag.encode() + b" " + status.encode() + b" " + _resp_text(code, text)
        case Condition(status=status, code=code, text=text):
            return b"* " + status.encode() + b" " + _resp_text(code, text)
        case Capability(capabilities=caps):
            return b"* CAPABILITY " + b" ".join(sorted(c.encode() for c in caps))
        case Enabled(capabilities=caps):
            return b" ".join([b"* ENABLED", *sorted(c.encode() for c in caps)])
        case ListEntry():
            word = b"LSUB" if response.lsub else b"LIST"
            delimiter = nstring(response.delimiter)
            attributes = _list(sorted(a.encode() for a in response.attributes))
            return b"* %s %s %s %s" % (word, attributes, delimiter, string(response.raw_name))
        case Status():
            items = [
                b"%s %d" % (name.upper().encode(), getattr(response, name))
                for name in (
                    "messages",
                    "recent",
                    "uidnext",
                    "uidvalidity",
                    "unseen",
                    "highestmodseq",
                    "size",
                )
                if getattr(response, name) is not None
            ]
            return b"* STATUS " + _mailbox(response.mailbox, utf8_names) + b" " + _list(items)
        case Search(ids=ids, modseq=modseq):
            out = b" ".join([b"* SEARCH", *(b"%d" % i for i in ids)])
            return out + (b" (MODSEQ %d)" % modseq if modseq is not None else b"")
        case ESearch():
            parts = [b"* ESEARCH"]
            if response.tag is not None:
                parts.append(b"(TAG " + string(response.tag) + b")")
            if response.uid:
                parts.append(b"UID")
            for name in ("min", "max", "count"):
                if getattr(response, name) is not None:
                    parts.append(b"%s %d" % (name.upper().encode(), getattr(response, name)))
            if response.all is not None:
                parts.append(b"ALL " + sequence_set(response.all))
            if response.modseq is not None:
                parts.append(b"MODSEQ %d" % response.modseq)
            return b" ".join(parts)
        case Flags(flags=flags):
            return b"* FLAGS " + _list(f.encode() for f in flags)
        case Exists(count=count):
            return b"* %d EXISTS" % count
        case Recent(count=count):
            return b"* %d RECENT" % count
        case Expunge(seq=seq):
            return b"* %d EXPUNGE" % seq
        case Vanished(uids=uids, earlier=earlier):
            return b"* VANISHED " + (b"(EARLIER) " if earlier else b"") + sequence_set(uids)
        case Fetch():
            return _fetch(response)
        case Unknown(name=name, data=data):
            return b"* " + name.encode() + (b" " + data if data else b"")
    raise TypeError(f"cannot encode {response!r}")


def parse_all(data: bytes, *, utf8_names: bool = False) -> list[Response]:
    """Every response in ``data`` (which must end on a response boundary)."""
    reader = ResponseReader()
    reader.utf8_names = utf8_names
    reader.receive_data(data)
    found: list[Response] = []
    while not isinstance(event := reader.next_event(), NeedData):
        found.append(event)
    assert reader.buffered == 0, f"{reader.buffered} octets left unparsed"
    return found
