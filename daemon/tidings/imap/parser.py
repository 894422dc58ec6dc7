"""Turn one framed server response into a typed response (RFC 9051 §7, §9).

``parse_response`` takes what :class:`~tidings.imap.reader.ResponseReader` framed: the
segments of the response (text between literals, CRLF removed) and its literals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import cast

from .errors import LimitExceeded, ProtocolError
from .lexer import Cursor, decode_text
from .limits import Limits
from .mutf7 import MUtf7Error, decode_mutf7
from .parse_codes import parse_resp_text
from .parse_fetch import parse_fetch, parse_fetch_items
from .responses import (
    Capability,
    Condition,
    ConditionWord,
    Continuation,
    Enabled,
    ESearch,
    Exists,
    Expunge,
    Flags,
    ListEntry,
    Recent,
    Response,
    Search,
    Status,
    StatusWord,
    Tagged,
    Unknown,
    Vanished,
)

__all__ = ["decode_mailbox", "parse_response"]

# message-data / mailbox-data of the form "n WORD" (RFC 9051 §7.3.1, §7.3.2, §7.5.1).
_COUNTED: dict[str, Callable[[int], Response]] = {
    "EXISTS": Exists,
    "RECENT": Recent,
    "EXPUNGE": Expunge,
}
_STATUS_WORDS = frozenset({"OK", "NO", "BAD"})
_CONDITION_WORDS = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
# "* n FETCH (" in its usual shape, the start of most responses during a sync; any other
# shape (doubled spaces, a number too long) takes the general path of _untagged.
_FETCH_START = re.compile(rb"\* (\d{1,20}) (?i:FETCH) \(")
# Parens outside quoted strings, for the nesting check on responses kept raw.
_PAREN_OR_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"|[()]', re.DOTALL)


def decode_mailbox(raw: bytes, utf8_names: bool) -> str:
    """A mailbox name as text. Modified UTF-7 (RFC 9051 §5.1.3) unless UTF8=ACCEPT is
    enabled (RFC 9051 §6.3.1 / RFC 6855 §3); names that are not valid modified UTF-7
    are read as UTF-8 rather than refused. INBOX is case-insensitive (§5.1)."""
    if raw.upper() == b"INBOX":
        return "INBOX"
    if utf8_names:
        return decode_text(raw)
    try:
        return decode_mutf7(raw)
    except MUtf7Error:
        return decode_text(raw)


class _Context:
    __slots__ = ("limits", "utf8_names")

    def __init__(self, limits: Limits, utf8_names: bool) -> None:
        self.limits = limits
        self.utf8_names = utf8_names


def parse_response(
    segments: Sequence[bytes], literals: Sequence[bytes], limits: Limits, utf8_names: bool
) -> Response:
    cur = Cursor(segments, literals, limits)
    fetch = _FETCH_START.match(cur.line)
    if fetch is not None:
        cur.pos = fetch.end()
        return parse_fetch_items(cur, int(fetch.group(1)))
    ctx = _Context(limits, utf8_names)
    if cur.accept(b"+"):
        # continue-req = "+" SP (resp-text / base64); a bare "+" is accepted too.
        cur.skip_spaces()
        code, text = parse_resp_text(cur)
        return Continuation(text, code)
    if cur.accept(b"* "):
        return _untagged(cur, ctx)
    tag = decode_text(cur.tag())
    cur.sp()
    word = cur.keyword()
    if word not in _STATUS_WORDS:
        raise ProtocolError(f"tagged response {tag} has status {word!r}, not OK/NO/BAD")
    cur.skip_spaces()
    code, text = parse_resp_text(cur)
    return Tagged(tag, cast(StatusWord, word), code, text)


def _untagged(cur: Cursor, ctx: _Context) -> Response:
    cur.skip_spaces()
    if 0x30 <= cur.peek() <= 0x39:
        return _numbered(cur, ctx)
    word = cur.keyword()
    if word in _CONDITION_WORDS:
        cur.skip_spaces()
        code, text = parse_resp_text(cur)
        return Condition(cast(ConditionWord, word), code, text)
    handler = _UNTAGGED.get(word)
    if handler is None:
        return _unknown(cur, ctx, word, b"")
    return handler(cur, ctx, word)


def _numbered(cur: Cursor, ctx: _Context) -> Response:
    number = cur.number()
    cur.sp()
    word = cur.keyword()
    if word == "FETCH":
        cur.sp()
        return parse_fetch(cur, number)
    kind = _COUNTED.get(word)
    if kind is None:
        return _unknown(cur, ctx, word, str(number).encode())
    cur.expect_end()
    return kind(number)


def _unknown(cur: Cursor, ctx: _Context, word: str, prefix: bytes) -> Unknown:
    """Keep a response we do not model, after checking it nests within the limit."""
    cur.skip_spaces()
    data = cur.rest()
    if prefix:
        data = prefix + b" " + data if data else prefix
    depth = 0
    maximum = ctx.limits.max_depth
    for match in _PAREN_OR_QUOTED.finditer(data):
        token = match.group()
        if token == b"(":
            depth += 1
            if depth > maximum:
                raise LimitExceeded("nesting depth", depth, maximum)
        elif token == b")":
            depth = max(0, depth - 1)
    return Unknown(word, data)


def _atoms(cur: Cursor) -> frozenset[str]:
    names: set[str] = set()
    cur.skip_spaces()
    while not cur.at_end():
        names.add(cur.keyword())
        cur.skip_spaces()
    return frozenset(names)


def _capability(cur: Cursor, ctx: _Context, word: str) -> Response:
    return Capability(_atoms(cur))


def _enabled(cur: Cursor, ctx: _Context, word: str) -> Response:
    return Enabled(_atoms(cur))


def _list(cur: Cursor, ctx: _Context, word: str) -> Response:
    # mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP
    #                mailbox [SP mbox-list-extended]
    cur.sp()
    cur.expect(b"(")
    attributes: set[str] = set()
    cur.skip_spaces()
    while not cur.accept(b")"):
        attributes.add(cur.flag())
        cur.skip_spaces()
    cur.sp()
    delimiter: str | None = None
    if not cur.nil():
        raw_delimiter = cur.string()
        if len(raw_delimiter) != 1:
            raise cur.error("a one-character hierarchy delimiter")
        delimiter = decode_text(raw_delimiter)
    cur.sp()
    raw_name = cur.mailbox()
    # mbox-list-extended (RFC 5258 §9): CHILDINFO, OLDNAME...: accepted and skipped.
    if cur.skip_spaces() and not cur.at_end():
        cur.skip_list(1)
    cur.expect_end()
    name = decode_mailbox(raw_name, ctx.utf8_names)
    return ListEntry(frozenset(attributes), delimiter, name, raw_name, lsub=word == "LSUB")


_STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"}
)


def _status(cur: Cursor, ctx: _Context, word: str) -> Response:
    # mailbox-data =/ "STATUS" SP mailbox SP "(" [status-att-list] ")"
    cur.sp()
    mailbox = decode_mailbox(cur.mailbox(), ctx.utf8_names)
    cur.sp()
    cur.expect(b"(")
    values: dict[str, int] = {}
    cur.skip_spaces()
    while not cur.accept(b")"):
        item = cur.keyword()
        cur.sp()
        if item in _STATUS_ITEMS:
            values[item.lower()] = cur.number()
        else:
            cur.skip_value(1)  # DELETED, MAILBOXID... not modelled
        cur.skip_spaces()
    cur.expect_end()
    return Status(mailbox, **values)


def _search(cur: Cursor, ctx: _Context, word: str) -> Response:
    # mailbox-data =/ "SEARCH" *(SP nz-number) [SP search-sort-mod-seq] (RFC 7162 §7)
    ids: list[int] = []
    modseq: int | None = None
    cur.skip_spaces()
    while not cur.at_end():
        if cur.accept(b"("):
            cur.skip_spaces()
            if cur.keyword() != "MODSEQ":
                raise cur.error("MODSEQ")
            cur.sp()
            modseq = cur.number()
            cur.skip_spaces()
            cur.expect(b")")
        else:
            ids.append(cur.number())
        cur.skip_spaces()
    return Search(tuple(ids), modseq)


def _esearch(cur: Cursor, ctx: _Context, word: str) -> Response:
    # esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
    # (RFC 4731 §3.1); the correlator may carry more than TAG (RFC 7377).
    tag: str | None = None
    uid = False
    found: dict[str, int] = {}
    ids: tuple[int, ...] | None = None
    cur.skip_spaces()
    if cur.accept(b"("):
        cur.skip_spaces()
        while not cur.accept(b")"):
            key = cur.keyword()
            cur.sp()
            value = decode_text(cur.astring())
            if key == "TAG":
                tag = value
            cur.skip_spaces()
        cur.skip_spaces()
    while not cur.at_end():
        key = cur.keyword()
        if key == "UID":
            uid = True
        else:
            cur.sp()
            if key in ("MIN", "MAX", "COUNT", "MODSEQ"):
                found[key.lower()] = cur.number()
            elif key == "ALL":
                ids = cur.sequence_set()
            else:
                cur.skip_value(0)  # PARTIAL, RELEVANCY...: not modelled
        cur.skip_spaces()
    return ESearch(tag, uid, all=ids, **found)


def _flags(cur: Cursor, ctx: _Context, word: str) -> Response:
    cur.sp()
    cur.expect(b"(")
    flags: list[str] = []
    cur.skip_spaces()
    while not cur.accept(b")"):
        flags.append(cur.flag())
        cur.skip_spaces()
    cur.expect_end()
    return Flags(tuple(flags))


def _vanished(cur: Cursor, ctx: _Context, word: str) -> Response:
    # message-data =/ "VANISHED" [SP "(EARLIER)"] SP known-uids (RFC 7162 §3.2.10)
    cur.sp()
    earlier = False
    if cur.accept(b"("):
        if cur.keyword() != "EARLIER":
            raise cur.error("EARLIER")
        cur.expect(b")")
        cur.sp()
        earlier = True
    uids = cur.sequence_set()
    cur.expect_end()
    return Vanished(uids, earlier)


_UNTAGGED: dict[str, Callable[[Cursor, _Context, str], Response]] = {
    "CAPABILITY": _capability,
    "ENABLED": _enabled,
    "LIST": _list,
    "LSUB": _list,
    "STATUS": _status,
    "SEARCH": _search,
    "ESEARCH": _esearch,
    "FLAGS": _flags,
    "VANISHED": _vanished,
}
