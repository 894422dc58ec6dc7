"""MIME structure as IMAP sees it: section numbers, part headers and part content.

Parts are numbered as IMAP BODYSTRUCTURE and ``BODY[n]`` number them (RFC 9051 §6.4.5):
the children of a multipart are ``1``, ``2``...; a message that is not multipart has
one part, ``1``; the body of an encapsulated message/rfc822 part ``N`` is ``N.1`` when it
is not multipart, and its children are ``N.1``, ``N.2``... when it is. Multiparts have
numbers too (``4`` for a nested multipart/mixed), so a leaf's number never depends on how
we walk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from io import BytesIO

from tidings.mime.fields import decode_field_bytes
from tidings.mime.msgids import MAX_ID_LENGTH
from tidings.mime.params import Parameterized, parse_parameterized
from tidings.mime.transfer import decode_transfer_encoding, normalize_transfer_encoding

__all__ = [
    "ENCAPSULATED_TYPES",
    "MAX_DEPTH",
    "NumberedPart",
    "PartHeaders",
    "children",
    "find_part",
    "header_text",
    "is_encapsulated",
    "is_multipart",
    "leaf_content",
    "parse_structure",
    "part_headers",
    "raw_payload",
    "top_level_parts",
    "walk_parts",
]

# Deeper nesting than this is an attack, not mail; parts below it are not read.
MAX_DEPTH = 64
# RFC 6532 §3.7 gives message/global the same structure as message/rfc822.
ENCAPSULATED_TYPES = frozenset({"message/rfc822", "message/global"})
_PART_NUMBER = re.compile(r"[1-9][0-9]{0,5}(?:\.[1-9][0-9]{0,5})*")
_LINE_BREAKS = re.compile(rb"\r?\n")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
# No refolding: header lines come out as long as they came in.
_REGENERATE = policy.compat32.clone(linesep="\r\n", max_line_length=None)


@dataclass(frozen=True, slots=True)
class NumberedPart:
    """A MIME entity and its IMAP section number; ``depth`` counts the dots."""

    number: str
    entity: Message
    depth: int


@dataclass(frozen=True, slots=True)
class PartHeaders:
    """The MIME headers of one part, decoded."""

    content_type: str
    params: Parameterized
    disposition: str | None
    filename: str | None
    content_id: str | None
    transfer_encoding: str | None
    warnings: tuple[str, ...]


def is_multipart(entity: Message) -> bool:
    """A multipart with parts (one without a boundary is read as a single leaf)."""
    return entity.get_content_maintype() == "multipart" and isinstance(entity.get_payload(), list)


def is_encapsulated(entity: Message) -> bool:
    """A message/rfc822 part whose message the parser read."""
    payload = entity.get_payload()
    return (
        entity.get_content_type() in ENCAPSULATED_TYPES
        and isinstance(payload, list)
        and len(payload) == 1
        and isinstance(payload[0], Message)
    )


def _sub_parts(entity: Message) -> list[Message]:
    payload = entity.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def top_level_parts(root: Message) -> list[NumberedPart]:
    """The parts numbered ``1``, ``2``...: a multipart's children, else the message itself."""
    if is_multipart(root):
        return [NumberedPart(str(i), p, 0) for i, p in enumerate(_sub_parts(root), start=1)]
    return [NumberedPart("1", root, 0)]


def children(part: NumberedPart) -> list[NumberedPart]:
    """The numbered children of a part (RFC 9051 §6.4.5); empty for a leaf."""
    if is_multipart(part.entity):
        entities = _sub_parts(part.entity)
    elif is_encapsulated(part.entity):
        inner = _sub_parts(part.entity)[0]
        entities = _sub_parts(inner) if is_multipart(inner) else [inner]
    else:
        return []
    return [
        NumberedPart(f"{part.number}.{i}", entity, part.depth + 1)
        for i, entity in enumerate(entities, start=1)
    ]


def walk_parts(root: Message) -> Iterator[NumberedPart]:
    """Every numbered part in section-number order, down to :data:`MAX_DEPTH`."""
    stack = list(reversed(top_level_parts(root)))
    while stack:
        part = stack.pop()
        yield part
        if part.depth < MAX_DEPTH:
            stack.extend(reversed(children(part)))


def find_part(root: Message, number: str) -> Message | None:
    """The entity with IMAP section number ``number``, or None."""
    if not _PART_NUMBER.fullmatch(number):
        return None
    candidates = top_level_parts(root)
    wanted = ""
    for index in number.split("."):
        wanted = f"{wanted}.{index}" if wanted else index
        found = next((p for p in candidates if p.number == wanted), None)
        if found is None:
            return None
        if wanted == number:
            return found.entity
        candidates = children(found)
    return None


def _raw_text(value: object) -> str:
    """A compat32 header value (str with surrogate-escaped 8-bit bytes) as text."""
    text = value if isinstance(value, str) else str(value)
    raw = text.encode("utf-8", "surrogateescape")
    decoded, _ = decode_field_bytes(_LINE_BREAKS.sub(b"", raw).strip(b" \t"), None)
    return decoded


def header_text(entity: Message, name: str) -> str | None:
    """The first ``name`` header of a part, unfolded and decoded from 8-bit; None if absent."""
    wanted = name.lower()
    for key, value in entity.raw_items():
        if key.lower() == wanted:
            return _raw_text(value)
    return None


def _clean_filename(value: str | None) -> str | None:
    if value is None:
        return None
    value = _CONTROLS.sub("", value).strip()
    return value or None


def part_headers(entity: Message) -> PartHeaders:
    """Decode the Content-* headers of one part (RFC 2045, RFC 2183, RFC 2231)."""
    warnings: list[str] = []
    params = parse_parameterized(header_text(entity, "content-type") or "")
    warnings.extend(params.warnings)
    disposition: str | None = None
    filename: str | None = None
    disposition_value = header_text(entity, "content-disposition")
    if disposition_value is not None:
        parsed = parse_parameterized(disposition_value)
        warnings.extend(parsed.warnings)
        disposition = parsed.value.strip().lower() or None
        filename = _clean_filename(parsed.get("filename"))
    if filename is None:
        # RFC 2046 §4.5.1 deprecated "name", but it is the only name many parts have.
        filename = _clean_filename(params.get("name"))
    content_id = header_text(entity, "content-id")
    if content_id is not None:
        content_id = content_id.strip().strip("<>").strip()
        if not content_id or len(content_id) > MAX_ID_LENGTH:
            content_id = None
    encoding = header_text(entity, "content-transfer-encoding")
    return PartHeaders(
        content_type=entity.get_content_type(),
        params=params,
        disposition=disposition,
        filename=filename,
        content_id=content_id,
        transfer_encoding=normalize_transfer_encoding(encoding) or None,
        warnings=tuple(warnings),
    )


class _RawMessage(Message):
    """A compat32 message that also hands out its body as the parser stored it.

    ``get_payload()`` re-decodes 8-bit bodies with the declared charset and
    ``errors="replace"``; the raw form is needed to decode them ourselves.
    """

    def stored_payload(self) -> object:
        return vars(self).get("_payload")


def parse_structure(raw: bytes) -> Message:
    """Parse a whole message with the stdlib's tolerant compat32 parser."""
    return BytesParser(_RawMessage, policy=policy.compat32).parsebytes(raw)


def raw_payload(entity: Message) -> bytes:
    """The still transfer-encoded body of a leaf part, byte for byte."""
    stored = entity.stored_payload() if isinstance(entity, _RawMessage) else entity.get_payload()
    if isinstance(stored, str):
        return stored.encode("utf-8", "surrogateescape")
    if isinstance(stored, bytes):
        return stored
    return b""


def _generate(entity: Message) -> bytes:
    """Bytes of an entity the parser split into sub-messages (message/rfc822 and kin).

    The stdlib keeps no byte offsets, so these are regenerated: bodies are kept as
    they were, header lines may be refolded.
    """
    out = BytesIO()
    generator = BytesGenerator(out, mangle_from_=False, policy=_REGENERATE)
    try:
        generator.flatten(entity, unixfrom=False)
    except (ValueError, LookupError, UnicodeError, TypeError, RecursionError):
        return b""
    return out.getvalue()


def leaf_content(entity: Message) -> tuple[bytes, tuple[str, ...]]:
    """The decoded content of a leaf part; an encapsulated message as its bytes."""
    payload = entity.get_payload()
    if isinstance(payload, list):
        inner = [p for p in payload if isinstance(p, Message)]
        if len(inner) == 1 and entity.get_content_type() in ENCAPSULATED_TYPES:
            return _generate(inner[0]), ()
        # message/delivery-status is read as a list of header blocks (RFC 3464 §2.1).
        return b"\r\n".join(_generate(p) for p in inner), ()
    encoding = header_text(entity, "content-transfer-encoding")
    return decode_transfer_encoding(raw_payload(entity), encoding)
