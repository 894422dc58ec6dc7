"""Values the client returns for commands, built from their responses (sans-IO)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ProtocolError
from .responses import Condition, Exists, Fetch, Flags, Response, Tagged, Vanished
from .seqset import SeqSet

__all__ = ["Qresync", "SelectResult", "StoreResult", "build_select_result", "parse_id_data"]


@dataclass(frozen=True, slots=True)
class Qresync:
    """SELECT ``(QRESYNC (uidvalidity modseq [known-uids]))`` (RFC 7162 §3.2.5)."""

    uidvalidity: int
    modseq: int
    known_uids: SeqSet | None = None


@dataclass(frozen=True, slots=True)
class SelectResult:
    """What SELECT / EXAMINE reported about the mailbox.

    ``highestmodseq`` is None when the server does not keep mod-sequences for it
    (``[NOMODSEQ]``, RFC 7162 §3.1.2.2) or CONDSTORE was not asked for. With QRESYNC,
    ``vanished`` holds the UIDs expunged since the given modseq and ``changed`` the
    FETCH responses for messages changed since then (RFC 7162 §3.2.5.1).
    """

    mailbox: str
    exists: int
    uidvalidity: int
    uidnext: int | None
    highestmodseq: int | None
    flags: tuple[str, ...]
    permanentflags: tuple[str, ...]
    readonly: bool
    vanished: tuple[int, ...] = ()
    changed: tuple[Fetch, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreResult:
    """UID STORE outcome: FETCH responses for the stored messages (also sent with
    ``.SILENT`` when CONDSTORE is on, carrying MODSEQ) and the UIDs that failed an
    UNCHANGEDSINCE test (``[MODIFIED set]``, RFC 7162 §3.1.3)."""

    fetches: tuple[Fetch, ...]
    modified: tuple[int, ...]


def build_select_result(
    mailbox: str, responses: Iterable[Response], tagged: Tagged, examine: bool
) -> tuple[SelectResult, list[Response]]:
    """Fold SELECT's responses into a result; returns it and the responses that
    belong to the previously selected mailbox (everything before ``[CLOSED]``,
    RFC 7162 §3.2.11), which the caller treats as unsolicited."""
    exists = 0
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None
    nomodseq = False
    flags: tuple[str, ...] = ()
    permanentflags: tuple[str, ...] | None = None
    vanished: list[int] = []
    changed: list[Fetch] = []
    earlier: list[Response] = []
    seen: list[Response] = []
    for resp in responses:
        seen.append(resp)
        if isinstance(resp, Condition) and resp.code is not None:
            name, value = resp.code.name, resp.code.value
            if name == "CLOSED":
                # Everything so far was about the mailbox being closed.
                earlier.extend(seen[:-1])
                seen.clear()
                exists, vanished, changed, flags = 0, [], [], ()
                uidvalidity = uidnext = highestmodseq = permanentflags = None
            elif name == "UIDVALIDITY" and isinstance(value, int):
                uidvalidity = value
            elif name == "UIDNEXT" and isinstance(value, int):
                uidnext = value
            elif name == "HIGHESTMODSEQ" and isinstance(value, int):
                highestmodseq = value
            elif name == "NOMODSEQ":
                nomodseq = True
            elif name == "PERMANENTFLAGS" and isinstance(value, tuple):
                permanentflags = value
        elif isinstance(resp, Exists):
            exists = resp.count
        elif isinstance(resp, Flags):
            flags = resp.flags
        elif isinstance(resp, Vanished):
            vanished.extend(resp.uids)
        elif isinstance(resp, Fetch):
            changed.append(resp)
    if uidvalidity is None:
        # RFC 9051 §6.3.2: the server MUST send UIDVALIDITY; without it UIDs mean nothing.
        raise ProtocolError(f"SELECT {mailbox!r} succeeded without a UIDVALIDITY")
    code = tagged.code.name if tagged.code is not None else None
    readonly = examine if code not in ("READ-ONLY", "READ-WRITE") else code == "READ-ONLY"
    result = SelectResult(
        mailbox=mailbox,
        exists=exists,
        uidvalidity=uidvalidity,
        uidnext=uidnext,
        highestmodseq=None if nomodseq else highestmodseq,
        flags=flags,
        # RFC 9051 §7.1: without PERMANENTFLAGS, all flags can be changed permanently.
        permanentflags=flags if permanentflags is None else permanentflags,
        readonly=readonly,
        vanished=tuple(vanished),
        changed=tuple(changed),
    )
    return result, earlier


_ID_TOKEN = re.compile(
    rb'\s*(?:"((?:[^"\\]|\\.)*)"|\{(\d+)\+?\}\r\n|(NIL)(?![^\s()])|([()]))', re.IGNORECASE
)
_ESCAPE = re.compile(rb"\\(.)")


def parse_id_data(data: bytes) -> dict[str, str | None]:
    """The server's ``* ID`` parameters (RFC 2971 §3.2): ``NIL`` or a list of
    ``string nstring`` pairs. Names are lower-cased (they are case-insensitive)."""
    values: list[str | None] = []
    pos = 0
    depth = 0
    while pos < len(data):
        match = _ID_TOKEN.match(data, pos)
        if match is None:
            if not data[pos:].strip():
                break
            raise ProtocolError(f"malformed ID response: {data[:200]!r}")
        pos = match.end()
        quoted, size, nil, paren = match.groups()
        if quoted is not None:
            values.append(_ESCAPE.sub(rb"\1", quoted).decode("utf-8", "replace"))
        elif size is not None:
            end = pos + int(size)
            values.append(data[pos:end].decode("utf-8", "replace"))
            pos = end
        elif nil is not None:
            values.append(None)
        else:
            depth += 1 if paren == b"(" else -1
    if depth != 0:
        raise ProtocolError(f"malformed ID response: {data[:200]!r}")
    if values == [None]:
        return {}
    if len(values) % 2:
        raise ProtocolError(f"ID response has an odd number of items: {data[:200]!r}")
    out: dict[str, str | None] = {}
    for key, value in zip(values[::2], values[1::2], strict=True):
        if key is None:
            raise ProtocolError("ID response has a NIL field name")
        out[key.lower()] = value
    return out
