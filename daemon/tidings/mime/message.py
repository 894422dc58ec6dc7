"""A whole raw message → bodies, attachments and headers (:func:`parse_message`).

Which parts are bodies follows what mail readers show:

- multipart/alternative: the last text/plain and the last text/html alternative
  (RFC 2046 §5.1.4 puts the richest last); attachments of every alternative are kept.
- multipart/related: the bodies come from the root part (RFC 2387 §3.2: ``start`` or
  the first part); the other parts are attachments, inline when the HTML uses them.
- multipart/mixed and every other multipart: the body parts of all children, in order.
  When some children have HTML and others only text, the text is converted so the HTML
  body is complete (and the other way round).
- message/rfc822 parts are attachments; their bodies are not ours.

A part is an attachment when its disposition is ``attachment``, when it is a leaf that
is not text/plain or text/html, or when it is text with a filename.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from email.errors import MessageDefect, MessageError
from email.message import Message

from tidings.mime.body import decode_part
from tidings.mime.errors import PartNotFound
from tidings.mime.fields import header_section
from tidings.mime.headers import HeaderSummary, parse_headers
from tidings.mime.htmltext import html_to_text, text_to_html
from tidings.mime.structure import (
    ENCAPSULATED_TYPES,
    MAX_DEPTH,
    NumberedPart,
    children,
    find_part,
    is_multipart,
    leaf_content,
    parse_structure,
    part_headers,
    raw_payload,
    top_level_parts,
)

__all__ = ["AttachmentInfo", "ParsedMessage", "iter_part_bytes", "parse_message"]

_BODY_TYPES = frozenset({"text/plain", "text/html"})


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """One attachment. ``part`` is its IMAP section number; ``size`` counts decoded bytes.

    ``content_id`` is given without its angle brackets, as ``cid:`` URLs use it.
    """

    part: str
    filename: str | None
    content_type: str
    size: int
    content_id: str | None
    disposition: str | None
    is_inline: bool
    encoding: str | None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A parsed message. ``warnings`` holds the header warnings and those of the body."""

    headers: HeaderSummary
    text: str | None
    html: str | None
    attachments: tuple[AttachmentInfo, ...]
    warnings: tuple[str, ...]


@dataclass(slots=True)
class _Bodies:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)


def _defect_text(defect: MessageDefect) -> str:
    doc = (type(defect).__doc__ or type(defect).__name__).strip().splitlines()[0]
    return doc.rstrip(".")


class _Walker:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.attachments: list[AttachmentInfo] = []

    def note_defects(self, where: str, entity: Message) -> None:
        for defect in entity.defects:
            self.warnings.append(f"{where}: {_defect_text(defect)}")

    def visit(self, part: NumberedPart, *, force_attachment: bool = False) -> _Bodies:
        self.note_defects(f"part {part.number}", part.entity)
        if part.depth >= MAX_DEPTH:
            self.warnings.append(f"part {part.number}: nested deeper than {MAX_DEPTH}; not read")
            return _Bodies()
        if is_multipart(part.entity):
            return self.visit_children(part.entity, children(part), force_attachment)
        return self.visit_leaf(part, force_attachment=force_attachment)

    def visit_root(self, root: Message) -> _Bodies:
        self.note_defects("message", root)
        if is_multipart(root):
            return self.visit_children(root, top_level_parts(root), force_attachment=False)
        # The message itself is part 1; its defects were noted just above.
        return self.visit_leaf(top_level_parts(root)[0], force_attachment=False)

    def visit_children(
        self, entity: Message, parts: list[NumberedPart], force_attachment: bool
    ) -> _Bodies:
        """The bodies of a multipart; ``force_attachment`` lists every leaf as attachment."""
        subtype = entity.get_content_subtype()
        if subtype == "alternative":
            results = [self.visit(child, force_attachment=force_attachment) for child in parts]
            texts = next((r.texts for r in reversed(results) if r.texts), [])
            htmls = next((r.htmls for r in reversed(results) if r.htmls), [])
            return _Bodies(texts, htmls)
        if subtype == "related" and parts:
            root = self.related_root(entity, parts)
            bodies = _Bodies()
            for child in parts:
                if child is root:
                    bodies = self.visit(child, force_attachment=force_attachment)
                else:
                    self.visit(child, force_attachment=True)
            return bodies
        return _merge([self.visit(c, force_attachment=force_attachment) for c in parts])

    def related_root(self, entity: Message, parts: list[NumberedPart]) -> NumberedPart:
        start = part_headers(entity).params.get("start")
        if start:
            wanted = start.strip().strip("<>")
            for child in parts:
                if part_headers(child.entity).content_id == wanted:
                    return child
        return parts[0]

    def visit_leaf(self, part: NumberedPart, *, force_attachment: bool) -> _Bodies:
        info = part_headers(part.entity)
        self.warnings.extend(f"part {part.number}: {w}" for w in info.warnings)
        is_body = (
            not force_attachment
            and info.content_type in _BODY_TYPES
            and info.disposition != "attachment"
            and info.filename is None
        )
        if is_body:
            decoded = decode_part(
                raw_payload(part.entity), info.transfer_encoding, info.params.get("charset")
            )
            self.warnings.extend(f"part {part.number}: {w}" for w in decoded.warnings)
            if info.content_type == "text/html":
                return _Bodies(htmls=[decoded.text])
            return _Bodies(texts=[decoded.text])
        content, content_warnings = leaf_content(part.entity)
        self.warnings.extend(f"part {part.number}: {w}" for w in content_warnings)
        self.attachments.append(
            AttachmentInfo(
                part=part.number,
                filename=info.filename,
                content_type=info.content_type,
                size=len(content),
                content_id=info.content_id,
                disposition=info.disposition,
                is_inline=False,
                encoding=info.transfer_encoding,
            )
        )
        return _Bodies()


def _merge(results: list[_Bodies]) -> _Bodies:
    """Bodies of consecutive parts; a part with only one kind fills in the other."""
    any_text = any(r.texts for r in results)
    any_html = any(r.htmls for r in results)
    merged = _Bodies()
    for result in results:
        merged.texts.extend(result.texts)
        merged.htmls.extend(result.htmls)
        if any_html and result.texts and not result.htmls:
            merged.htmls.extend(text_to_html(t) for t in result.texts)
        if any_text and result.htmls and not result.texts:
            merged.texts.extend(html_to_text(h) for h in result.htmls)
    return merged


def _is_inline(attachment: AttachmentInfo, html: str | None) -> bool:
    """Inline when it has a Content-ID and is not marked attachment, or the HTML uses it.

    Some mailers mark images the HTML shows through ``cid:`` as attachments anyway.
    """
    if attachment.content_id is None:
        return False
    if attachment.disposition != "attachment":
        return True
    return html is not None and f"cid:{attachment.content_id}".lower() in html.lower()


def _sort_key(attachment: AttachmentInfo) -> tuple[int, ...]:
    return tuple(int(n) for n in attachment.part.split("."))


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a whole message (a raw MIME download, a draft). Never raises on bad input."""
    header_bytes, _ = header_section(raw)
    headers = parse_headers(header_bytes)
    walker = _Walker()
    try:
        root = parse_structure(raw)
        bodies = walker.visit_root(root)
    except (RecursionError, MessageError, ValueError, LookupError, UnicodeError) as exc:
        walker.warnings.append(f"message structure unreadable: {type(exc).__name__}")
        bodies = _Bodies()
    if headers.get_all("content-type") and not headers.get_all("mime-version"):
        walker.warnings.append("no MIME-Version header; read as MIME anyway")
    text = "\n".join(bodies.texts) if bodies.texts else None
    html = "\n".join(bodies.htmls) if bodies.htmls else None
    attachments = sorted(
        (replace(a, is_inline=_is_inline(a, html)) for a in walker.attachments), key=_sort_key
    )
    return ParsedMessage(
        headers=headers,
        text=text,
        html=html,
        attachments=tuple(attachments),
        warnings=tuple(dict.fromkeys([*headers.warnings, *walker.warnings])),
    )


def iter_part_bytes(raw: bytes, part: str) -> bytes:
    """The decoded content of the part with IMAP section number ``part``.

    An encapsulated message (message/rfc822) comes back as its bytes, regenerated by
    the stdlib (bodies unchanged, header lines possibly refolded). Raises
    :class:`PartNotFound` for a number the message does not have, or a multipart.
    """
    try:
        root = parse_structure(raw)
        entity = find_part(root, part)
    except (RecursionError, MessageError, ValueError, LookupError, UnicodeError) as exc:
        raise PartNotFound(part, f"message structure unreadable: {type(exc).__name__}") from exc
    if entity is None:
        raise PartNotFound(part, "no such section number")
    if is_multipart(entity) and entity.get_content_type() not in ENCAPSULATED_TYPES:
        raise PartNotFound(part, "it is a multipart container, not content")
    content, _ = leaf_content(entity)
    return content
