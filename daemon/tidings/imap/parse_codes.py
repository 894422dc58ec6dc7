"""Response codes and response text (RFC 9051 §7.1, RFC 4315, RFC 7162, RFC 5530)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import ProtocolError
from .lexer import Cursor, decode_text
from .limits import Limits
from .responses import AppendUid, CodeValue, CopyUid, ResponseCode

__all__ = ["parse_resp_text"]

# "[" resp-text-code "]": the name is an atom; its data runs to the first "]".
_CODE = re.compile(rb'\[([^\x00-\x20\x7f(){%*"\\\]]+)(?: ([^\]]*))?\]')


def _number(cur: Cursor) -> int:
    value = cur.number()
    cur.expect_end()
    return value


def _capabilities(cur: Cursor) -> tuple[str, ...]:
    names: list[str] = []
    while not cur.at_end():
        names.append(cur.keyword())
        cur.skip_spaces()
    return tuple(names)


def _flag_list(cur: Cursor) -> tuple[str, ...]:
    cur.expect(b"(")
    flags: list[str] = []
    cur.skip_spaces()
    while not cur.accept(b")"):
        flags.append(cur.flag())
        cur.skip_spaces()
    cur.expect_end()
    return tuple(flags)


def _charsets(cur: Cursor) -> tuple[str, ...]:
    # resp-text-code: "BADCHARSET" [SP "(" charset *(SP charset) ")"]
    charsets: list[str] = []
    cur.expect(b"(")
    cur.skip_spaces()
    while not cur.accept(b")"):
        charsets.append(decode_text(cur.astring()))
        cur.skip_spaces()
    cur.expect_end()
    return tuple(charsets)


def _appenduid(cur: Cursor) -> AppendUid:
    # RFC 4315 §3: "APPENDUID" SP nz-number SP append-uid (a uid-set with MULTIAPPEND)
    uidvalidity = cur.number()
    cur.sp()
    uids = cur.sequence_set()
    cur.expect_end()
    return AppendUid(uidvalidity, uids)


def _copyuid(cur: Cursor) -> CopyUid:
    # RFC 4315 §3: "COPYUID" SP nz-number SP uid-set SP uid-set
    uidvalidity = cur.number()
    cur.sp()
    source = cur.sequence_set()
    cur.sp()
    destination = cur.sequence_set()
    cur.expect_end()
    if len(source) != len(destination):
        raise ProtocolError(
            f"COPYUID maps {len(source)} source UIDs to {len(destination)} destination UIDs"
        )
    return CopyUid(uidvalidity, source, destination)


_WITH_DATA: dict[str, Callable[[Cursor], CodeValue]] = {
    "UIDVALIDITY": _number,
    "UIDNEXT": _number,
    "UNSEEN": _number,
    "HIGHESTMODSEQ": _number,
    "CAPABILITY": _capabilities,
    "PERMANENTFLAGS": _flag_list,
    "BADCHARSET": _charsets,
    "APPENDUID": _appenduid,
    "COPYUID": _copyuid,
}


def _code(name: str, data: bytes | None, limits: Limits) -> ResponseCode:
    if data is not None and not data.strip(b" "):
        data = None
    parse = _WITH_DATA.get(name)
    if parse is None:
        # ALERT, NOMODSEQ, CLOSED, LIMIT, TRYCREATE, READ-ONLY... carry no data; codes
        # we do not model keep their text for whoever wants it.
        return ResponseCode(name, None if data is None else decode_text(data))
    if data is None:
        if name == "BADCHARSET":
            return ResponseCode(name, ())
        raise ProtocolError(f"response code [{name}] is missing its data")
    return ResponseCode(name, parse(Cursor((data,), (), limits)))


def parse_resp_text(cur: Cursor) -> tuple[ResponseCode | None, str]:
    """resp-text = ["[" resp-text-code "]" SP] [text], at the cursor, to the end.

    A "[" that does not open a well-formed code is taken as text; a code we know
    whose data is malformed is a protocol error.
    """
    code: ResponseCode | None = None
    if cur.at(b"["):
        match = cur.match(_CODE)
        if match is not None:
            name = match.group(1).decode("ascii", "replace").upper()
            code = _code(name, match.group(2), cur.limits)
            cur.skip_spaces()
    return code, decode_text(cur.rest())
