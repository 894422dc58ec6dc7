"""FETCH BODY / BODYSTRUCTURE (RFC 9051 §7.5.2, "body" in §9).

Section numbers follow RFC 9051 §6.4.5: a single-part message's body is "1"; the parts
of a multipart are numbered from 1 below their parent's number; the body of a
message/rfc822 part "N" is numbered as if it were a message of its own, below "N":
its parts are "N.1", "N.2"... when it is a multipart, and "N.1" when it is not.
"""

from __future__ import annotations

from .errors import LimitExceeded
from .lexer import Cursor, decode_text
from .parse_envelope import parse_envelope
from .responses import BodyPart, BodyStructure, Envelope, Multipart

__all__ = ["parse_body"]


def parse_body(cur: Cursor, depth: int) -> BodyStructure:
    """The body at the cursor, at paren depth ``depth`` (the FETCH list is depth 1)."""
    return _body(cur, "", "1", depth + 1)


def _more(cur: Cursor) -> bool:
    """Whether another optional element follows (extension data is optional, in order)."""
    cur.skip_spaces()
    return not cur.at(b")")


def _lower(raw: bytes) -> str:
    return decode_text(raw).lower()


def _nstring(cur: Cursor) -> str | None:
    raw = cur.nstring()
    return None if raw is None else decode_text(raw)


def _body(cur: Cursor, multi_number: str, single_number: str, depth: int) -> BodyStructure:
    if depth > cur.limits.max_depth:
        raise LimitExceeded("nesting depth", depth, cur.limits.max_depth)
    cur.expect(b"(")
    cur.skip_spaces()
    if cur.at(b"("):
        result: BodyStructure = _multipart(cur, multi_number, depth)
    else:
        result = _single(cur, single_number, depth)
    cur.skip_spaces()
    cur.expect(b")")
    return result


def _params(cur: Cursor) -> dict[str, str]:
    # body-fld-param = "(" string SP string *(SP string SP string) ")" / nil; "()" is
    # sent by some servers for "no parameters" and taken as such.
    if cur.nil():
        return {}
    cur.expect(b"(")
    params: dict[str, str] = {}
    cur.skip_spaces()
    while not cur.accept(b")"):
        name = _lower(cur.string())
        cur.sp()
        params[name] = decode_text(cur.string())
        cur.skip_spaces()
    return params


def _disposition(cur: Cursor) -> tuple[str | None, dict[str, str]]:
    # body-fld-dsp = "(" string SP body-fld-param ")" / nil
    if cur.nil():
        return None, {}
    cur.expect(b"(")
    cur.skip_spaces()
    kind = _lower(cur.string())
    cur.sp()
    params = _params(cur)
    cur.skip_spaces()
    cur.expect(b")")
    return kind, params


def _language(cur: Cursor) -> tuple[str, ...]:
    # body-fld-lang = nstring / "(" string *(SP string) ")"
    if cur.at(b"("):
        cur.expect(b"(")
        found: list[str] = []
        cur.skip_spaces()
        while not cur.accept(b")"):
            found.append(decode_text(cur.string()))
            cur.skip_spaces()
        return tuple(found)
    raw = cur.nstring()
    return () if raw is None else (decode_text(raw),)


def _skip_extensions(cur: Cursor, depth: int) -> None:
    # body-extension: later RFCs may add data after the location; it is skipped.
    while _more(cur):
        cur.skip_value(depth)


def _multipart(cur: Cursor, number: str, depth: int) -> Multipart:
    # body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    parts: list[BodyStructure] = []
    while cur.at(b"("):
        child = f"{number}.{len(parts) + 1}" if number else str(len(parts) + 1)
        parts.append(_body(cur, child, child, depth + 1))
        cur.skip_spaces()
    subtype = _lower(cur.astring())
    params: dict[str, str] = {}
    disposition: str | None = None
    disposition_params: dict[str, str] = {}
    language: tuple[str, ...] = ()
    location: str | None = None
    # body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc
    #                  *(SP body-extension)]]]
    if _more(cur):
        params = _params(cur)
        if _more(cur):
            disposition, disposition_params = _disposition(cur)
            if _more(cur):
                language = _language(cur)
                if _more(cur):
                    location = _nstring(cur)
                    _skip_extensions(cur, depth)
    return Multipart(
        number, tuple(parts), subtype, params, disposition, disposition_params, language, location
    )


def _single(cur: Cursor, number: str, depth: int) -> BodyPart:
    # body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
    kind = _lower(cur.string())
    cur.sp()
    subtype = _lower(cur.string())
    cur.sp()
    # body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
    #               body-fld-octets
    params = _params(cur)
    cur.sp()
    content_id = _nstring(cur)
    cur.sp()
    description = _nstring(cur)
    cur.sp()
    # A NIL encoding (seen from old servers) means no Content-Transfer-Encoding header,
    # which RFC 2045 §6.1 defines as 7bit.
    raw_encoding = cur.nstring()
    encoding = "7bit" if raw_encoding is None else _lower(raw_encoding)
    cur.sp()
    size = cur.number()
    lines: int | None = None
    envelope: Envelope | None = None
    body: BodyStructure | None = None
    if kind == "message" and subtype in ("rfc822", "global") and _more(cur) and cur.at(b"("):
        # body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
        envelope = parse_envelope(cur)
        cur.sp()
        body = _body(cur, number, f"{number}.1", depth + 1)
        cur.sp()
        lines = cur.number()
    elif kind == "text" and _more(cur) and 0x30 <= cur.peek() <= 0x39:
        lines = cur.number()
    md5: str | None = None
    disposition: str | None = None
    disposition_params: dict[str, str] = {}
    language: tuple[str, ...] = ()
    location: str | None = None
    # body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc
    #                  *(SP body-extension)]]]
    if _more(cur):
        md5 = _nstring(cur)
        if _more(cur):
            disposition, disposition_params = _disposition(cur)
            if _more(cur):
                language = _language(cur)
                if _more(cur):
                    location = _nstring(cur)
                    _skip_extensions(cur, depth)
    return BodyPart(
        number,
        kind,
        subtype,
        params,
        content_id,
        description,
        encoding,
        size,
        lines,
        envelope,
        body,
        md5,
        disposition,
        disposition_params,
        language,
        location,
    )
