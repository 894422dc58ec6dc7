"""FETCH ENVELOPE (RFC 9051 §7.5.2, "envelope" in §9)."""

from __future__ import annotations

from .lexer import Cursor, decode_text
from .responses import Address, Envelope

__all__ = ["parse_envelope"]


def _nstring(cur: Cursor) -> str | None:
    raw = cur.nstring()
    return None if raw is None else decode_text(raw)


def _address(cur: Cursor) -> Address:
    # address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
    cur.expect(b"(")
    cur.skip_spaces()
    name = _nstring(cur)
    cur.sp()
    adl = _nstring(cur)
    cur.sp()
    mailbox = _nstring(cur)
    cur.sp()
    host = _nstring(cur)
    cur.skip_spaces()
    cur.expect(b")")
    return Address(name, adl, mailbox, host)


def _addresses(cur: Cursor) -> tuple[Address, ...]:
    # "(" 1*address ")" / nil; group start/end markers (host NIL) are kept as they come,
    # so a reader can rebuild "group: a, b;" (RFC 9051 §7.5.2). Some servers put spaces
    # between addresses or send "()" for an empty list: both are accepted.
    if cur.nil():
        return ()
    cur.expect(b"(")
    cur.skip_spaces()
    found: list[Address] = []
    while not cur.accept(b")"):
        found.append(_address(cur))
        cur.skip_spaces()
    return tuple(found)


def parse_envelope(cur: Cursor) -> Envelope:
    """envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to
    SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"."""
    cur.expect(b"(")
    cur.skip_spaces()
    date = _nstring(cur)
    cur.sp()
    subject = _nstring(cur)
    lists: list[tuple[Address, ...]] = []
    for _ in range(6):
        cur.sp()
        lists.append(_addresses(cur))
    cur.sp()
    in_reply_to = _nstring(cur)
    cur.sp()
    message_id = _nstring(cur)
    cur.skip_spaces()
    cur.expect(b")")
    from_, sender, reply_to, to, cc, bcc = lists
    return Envelope(date, subject, from_, sender, reply_to, to, cc, bcc, in_reply_to, message_id)
