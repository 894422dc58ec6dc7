"""FETCH BODY / BODYSTRUCTURE (RFC 9051 §7.5.2, "body" in §9).

Section numbers follow RFC 9051 §6.4.5: a single-part message's body is "1"; the parts
of a multipart are numbered from 1 below their parent's number; the body of a
message/rfc822 part "N" is numbered as if it were a message of its own, below "N":
its parts are "N.1", "N.2"... when it is a multipart, and "N.1" when it is not.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import LimitExceeded
from .lexer import Cursor, decode_text, remember
from .parse_envelope import parse_envelope
from .responses import BodyPart, BodyStructure, Envelope, Multipart

__all__ = ["parse_body"]

# Fast paths. Servers send nearly every body part in one shape: quoted strings without
# escapes, NIL, numbers, single spaces, no literals. A leaf part ("body-type-basic" or
# "body-type-text" with its extension data) and a multipart's tail after its parts are
# then read with one regex match each. The patterns accept a strict subset of what the
# general path below accepts, and read it the same way; anything else (a literal, an
# escape, a lower-case nil, doubled spaces, message/rfc822, extension data past the
# location) does not match and takes the general path, which also reports the errors.
_Q: Final = rb'"([^"\\\r\n]*)"'  # quoted string, captured without its quotes
_QN: Final = rb'"[^"\\\r\n]*"'
_NSTRING: Final = rb"(?:NIL|" + _Q + rb")"  # NIL leaves the group None
_PAIR: Final = _QN + rb" " + _QN
_PARAMS: Final = rb"(?:NIL|\(((?:" + _PAIR + rb"(?: " + _PAIR + rb")*)?)\))"  # "()" is b""
_DISPOSITION: Final = rb"(?:NIL|\(" + _Q + rb" " + _PARAMS + rb"\))"
_LANGUAGE: Final = rb"(?:NIL|" + _Q + rb"|\(((?:" + _QN + rb"(?: " + _QN + rb")*)?)\))"
_EXTENSION: Final = (  # md5 or multipart params, then disposition, language, location
    rb"(?: " + _DISPOSITION + rb"(?: " + _LANGUAGE + rb"(?: " + _NSTRING + rb")?)?)?"
)
# Groups: 1 type, 2 subtype, 3 params, 4 id, 5 description, 6 encoding, 7 size, 8 lines,
# 9 md5, 10 disposition, 11 its params, 12 one language, 13 a language list, 14 location.
_BODY_FIELDS: Final = b" ".join([_Q, _Q, _PARAMS, _NSTRING, _NSTRING, _NSTRING, rb"(\d{1,20})"])
_LEAF: Final = re.compile(
    rb"\(" + _BODY_FIELDS + rb"(?: (\d{1,20}))?(?: " + _NSTRING + _EXTENSION + rb")?\)"
)
# After a multipart's parts. Groups: 1 subtype, 2 params, 3 disposition, 4 its params,
# 5 one language, 6 a language list, 7 location. The closing paren is left to _body.
_MULTIPART_TAIL: Final = re.compile(_Q + rb"(?: " + _PARAMS + _EXTENSION + rb")?(?=\))")
_QUOTED_VALUES: Final = re.compile(_Q)
# Lower-cased names (types, subtypes, encodings, parameter names) and parameter lists
# ('"charset" "utf-8"') repeat across messages: each is worked out once (lexer.remember).
_LOWERED: dict[bytes, str] = {}
_PARAMS_SEEN: dict[bytes, dict[str, str]] = {}


def parse_body(cur: Cursor, depth: int) -> BodyStructure:
    """The body at the cursor, at paren depth ``depth`` (the FETCH list is depth 1)."""
    return _body(cur, "", "1", depth + 1)


def _more(cur: Cursor) -> bool:
    """Whether another optional element follows (extension data is optional, in order)."""
    cur.skip_spaces()
    return not cur.at(b")")


def _lower(raw: bytes) -> str:
    text = _LOWERED.get(raw)
    if text is None:
        text = decode_text(raw).lower()
        remember(_LOWERED, raw, text)
    return text


def _fast_params(raw: bytes | None) -> dict[str, str]:
    """Parameters matched by _PARAMS: None for NIL, b"" for "()"."""
    if not raw:
        return {}
    params = _PARAMS_SEEN.get(raw)
    if params is None:
        values = _QUOTED_VALUES.findall(raw)  # name, value, name, value... (_PARAMS)
        params = {
            _lower(name): decode_text(value)
            for name, value in zip(values[::2], values[1::2], strict=True)
        }
        remember(_PARAMS_SEEN, raw, params)
    return params.copy()  # each part owns its mapping


def _fast_language(one: bytes | None, listed: bytes | None) -> tuple[str, ...]:
    if one is not None:
        return (decode_text(one),)
    if listed:
        return tuple(decode_text(value) for value in _QUOTED_VALUES.findall(listed))
    return ()


def _fast_leaf(match: re.Match[bytes], number: str) -> BodyPart | None:
    """The part matched by _LEAF, or None when the general path must read it."""
    (
        kind,
        subtype,
        params,
        content_id,
        description,
        encoding,
        size,
        lines,
        md5,
        disposition,
        disposition_params,
        one_language,
        languages,
        location,
    ) = match.groups()
    lowered = _LOWERED
    kind_text = lowered.get(kind) or _lower(kind)
    if lines is not None and kind_text != "text":
        return None  # only body-type-text has a line count here: the general path fails
    return BodyPart(
        number,
        kind_text,
        lowered.get(subtype) or _lower(subtype),
        _fast_params(params) if params else {},
        None if content_id is None else decode_text(content_id),
        None if description is None else decode_text(description),
        "7bit" if encoding is None else lowered.get(encoding) or _lower(encoding),
        int(size),
        None if lines is None else int(lines),
        None,
        None,
        None if md5 is None else decode_text(md5),
        None if disposition is None else _lower(disposition),
        _fast_params(disposition_params) if disposition_params else {},
        () if one_language is None and not languages else _fast_language(one_language, languages),
        None if location is None else decode_text(location),
    )


def _fast_multipart(cur: Cursor, number: str, parts: list[BodyStructure]) -> Multipart | None:
    """The multipart whose tail _MULTIPART_TAIL matches at the cursor, else None."""
    match = _MULTIPART_TAIL.match(cur.line, cur.pos)
    if match is None:
        return None
    cur.pos = match.end()
    (subtype, params, disposition, disposition_params, one_language, languages, location) = (
        match.groups()
    )
    return Multipart(
        number,
        tuple(parts),
        _lower(subtype),
        _fast_params(params),
        None if disposition is None else _lower(disposition),
        _fast_params(disposition_params),
        _fast_language(one_language, languages),
        None if location is None else decode_text(location),
    )


def _nstring(cur: Cursor) -> str | None:
    raw = cur.nstring()
    return None if raw is None else decode_text(raw)


def _body(cur: Cursor, multi_number: str, single_number: str, depth: int) -> BodyStructure:
    if depth > cur.limits.max_depth:
        raise LimitExceeded("nesting depth", depth, cur.limits.max_depth)
    leaf = _LEAF.match(cur.line, cur.pos)
    if leaf is not None:
        part = _fast_leaf(leaf, single_number)
        if part is not None:
            cur.pos = leaf.end()
            return part
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
    fast = _fast_multipart(cur, number, parts)
    if fast is not None:
        return fast
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
