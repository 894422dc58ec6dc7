"""Content fingerprints, part decoding and snippets as they were before their fast
paths, kept as the oracle that the fast paths are tested against.

A verbatim copy of the fingerprint and synthetic id helpers (identity.py), the charset
label lookup and ``decode_text`` (charsets.py), ``decode_part`` (body.py) and
``make_snippet`` (htmltext.py). Functions that were not changed are imported.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from datetime import UTC

from tidings.mime.addresses import EmailAddress
from tidings.mime.body import DecodedText
from tidings.mime.charsets import (
    _ASCII,
    _C1_HANDLER,
    _EXTRA_LABELS,
    _MAX_LABEL,
    _NOT_CHARSETS,
    _SUPERSETS,
    _UNKNOWN_LABELS,
    _display_name,
    _finish,
    _guess,
    _normalize_label,
    _strict,
    scrub_text,
)
from tidings.mime.headers import HeaderSummary
from tidings.mime.htmltext import _SNIPPET_HTML_CHARS, html_to_text
from tidings.mime.identity import SYNTHETIC_DOMAIN
from tidings.mime.transfer import decode_transfer_encoding

__all__ = ["codec_chain", "content_fingerprint_of", "decode_part", "decode_text",
           "make_snippet", "synthesize_message_id_of"]

# identity.py

_WHITESPACE = re.compile(r"\s+")
_SEPARATOR = "\x1f"


def _collapse(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()


def _addresses(addresses: tuple[EmailAddress, ...]) -> str:
    return ",".join(a.email.lower() for a in addresses)


def _date(summary: HeaderSummary) -> str:
    if summary.date is not None:
        return summary.date.astimezone(UTC).isoformat()
    return _collapse(" ".join(summary.get_all("date")[:1]))


def _digest(fields: list[tuple[str, str]]) -> str:
    text = "\n".join(f"{name}{_SEPARATOR}{value.replace(chr(10), ' ')}" for name, value in fields)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def synthesize_message_id_of(summary: HeaderSummary) -> str:
    """The synthetic Message-ID of parsed headers; see :func:`synthesize_message_id`."""
    received = summary.get_all("received")
    fields = [
        ("date", _date(summary)),
        ("from", _addresses(summary.from_)),
        ("to", _addresses(summary.to)),
        ("subject", _collapse(summary.subject)),
        # The topmost Received was added by the server that delivered this copy.
        ("received", _collapse(received[0]) if received else ""),
    ]
    return f"<{_digest(fields)}@{SYNTHETIC_DOMAIN}>"


def content_fingerprint_of(summary: HeaderSummary, size: int) -> str:
    """The content fingerprint of parsed headers; see :func:`content_fingerprint`."""
    message_ids = summary.get_all("message-id")
    fields = [
        ("message-id", summary.message_id or _collapse(" ".join(message_ids[:1]))),
        ("date", _date(summary)),
        ("from", _addresses(summary.from_)),
        ("to", _addresses(summary.to)),
        ("cc", _addresses(summary.cc)),
        ("subject", _collapse(summary.subject)),
        ("size", str(size)),
    ]
    return _digest(fields)


# charsets.py

def _codec_chain(charset: str | None) -> tuple[str, ...] | None:
    """The codecs to try for a label, best first; ``()`` for ASCII, None when unknown."""
    if charset is None:
        return ()
    label = _normalize_label(charset)
    if not label or len(label) > _MAX_LABEL or label in _UNKNOWN_LABELS:
        return None
    label = _EXTRA_LABELS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    if info.name == _ASCII:
        return ()
    return _SUPERSETS.get(info.name, (info.name,))


def decode_text(data: bytes, charset: str | None) -> tuple[str, str, tuple[str, ...]]:
    """Decode ``data`` declared as ``charset``; returns (text, charset used, warnings).

    ``charset`` None means undeclared (RFC 2045 §5.2 defaults to US-ASCII). 8-bit data
    that is undeclared, declared ASCII or declared in a charset nobody knows is read as
    UTF-8 when it is valid UTF-8, else as windows-1252, and a warning says so.
    """
    chain = _codec_chain(charset)
    warnings: list[str] = []
    if chain is None:
        shown = (charset or "")[:_MAX_LABEL]
        text, used = _guess(data)
        warnings.append(f"unknown charset {shown!r}; decoded as {used}")
        return _finish(text), used, tuple(warnings)
    if not chain:
        if data.isascii():
            return scrub_text(data.decode(_ASCII)), "us-ascii", ()
        text, used = _guess(data)
        declared = "no charset" if charset is None else f"charset {charset[:_MAX_LABEL]!r}"
        warnings.append(f"8-bit text with {declared}; decoded as {used}")
        return _finish(text), used, tuple(warnings)
    for codec in chain:
        if codec == "cp1252":
            return _finish(data.decode(codec, _C1_HANDLER)), "windows-1252", ()
        text_or_none = _strict(data, codec)
        if text_or_none is not None:
            return _finish(text_or_none), _display_name(codec), ()
    codec = chain[0]
    text = data.decode(codec, "replace")
    warnings.append(f"undecodable bytes in {_display_name(codec)} text replaced")
    return _finish(text), _display_name(codec), tuple(warnings)


# body.py

def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF (RFC 2046 §4.1.1: CRLF is the line break in text)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_part(data: bytes, transfer_encoding: str | None, charset: str | None) -> DecodedText:
    """Decode a text part as fetched with ``BODY.PEEK[n]`` (still transfer-encoded).

    ``transfer_encoding`` and ``charset`` come from the part's BODYSTRUCTURE; None
    when absent. Never raises: undecodable bytes become U+FFFD and a warning.
    """
    decoded, transfer_warnings = decode_transfer_encoding(data, transfer_encoding)
    text, used, charset_warnings = decode_text(decoded, charset)
    return DecodedText(
        text=normalize_newlines(text),
        charset=used,
        warnings=transfer_warnings + charset_warnings,
    )


# htmltext.py

_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")


def make_snippet(text: str | None, html_body: str | None, length: int = 100) -> str:
    """The first ``length`` characters of the body, whitespace collapsed, no markup.

    Plain text is used when it has any; the HTML body otherwise.
    """
    if length <= 0:
        return ""
    source = text if text and text.strip() else None
    if source is None and html_body:
        source = html_to_text(html_body[:_SNIPPET_HTML_CHARS])
    if not source:
        return ""
    # Only the start of a long body matters; collapsing it all would waste time. A
    # short prefix usually suffices: collapsing a prefix gives a prefix of the longer
    # collapse, so once it holds more than ``length`` characters the answer is final.
    for end in (length * 2 + 64, length * 8 + 1024):
        head = _SPACES.sub(" ", source[:end]).strip()
        if len(head) > length or end >= len(source):
            break
    return head[:length].rstrip()


codec_chain = _codec_chain
