"""Stable identities for messages: synthesized Message-IDs and content fingerprints.

Both hash normalized header values, not raw bytes, so that a server that refolds
headers or re-encodes a subject when it copies a message still gives the same answer.
Normalization: decoded text, whitespace collapsed, addresses lower-cased, dates in UTC.
"""

from __future__ import annotations

import hashlib
from datetime import UTC

from tidings.mime.addresses import EmailAddress
from tidings.mime.headers import HeaderSummary, parse_headers
from tidings.mime.spaces import RunCollapser

__all__ = [
    "SYNTHETIC_DOMAIN",
    "content_fingerprint",
    "content_fingerprint_of",
    "synthesize_message_id",
    "synthesize_message_id_of",
]

# RFC 2606 §2 reserves ".invalid": the id can never collide with a real one.
SYNTHETIC_DOMAIN = "tidings.invalid"
_WHITESPACE = RunCollapser.of(r"\s")
_SEPARATOR = "\x1f"


def _collapse(value: str) -> str:
    return _WHITESPACE(value).strip()


def _addresses(addresses: tuple[EmailAddress, ...]) -> str:
    if not addresses:
        return ""
    return ",".join([a.email.lower() for a in addresses])


def _date(summary: HeaderSummary) -> str:
    if summary.date is not None:
        return summary.date.astimezone(UTC).isoformat()
    return _collapse(" ".join(summary.get_all("date")[:1]))


def _digest(fields: list[tuple[str, str]]) -> str:
    text = "\n".join([f"{name}{_SEPARATOR}{value.replace(chr(10), ' ')}"
                      for name, value in fields])
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


def synthesize_message_id(raw_header: bytes) -> str:
    """A deterministic ``<sha256@tidings.invalid>`` for a message without a usable id.

    Built from Date, From, To, Subject and the first Received header, so refetching
    the message (or finding it in another folder) gives the same id.
    """
    return synthesize_message_id_of(parse_headers(raw_header))


def content_fingerprint_of(summary: HeaderSummary, size: int) -> str:
    """The content fingerprint of parsed headers; see :func:`content_fingerprint`."""
    # The raw Message-ID field is read only when no usable id was parsed from it.
    message_id = summary.message_id or _collapse(" ".join(summary.get_all("message-id")[:1]))
    fields = [
        ("message-id", message_id),
        ("date", _date(summary)),
        ("from", _addresses(summary.from_)),
        ("to", _addresses(summary.to)),
        ("cc", _addresses(summary.cc)),
        ("subject", _collapse(summary.subject)),
        ("size", str(size)),
    ]
    return _digest(fields)


def content_fingerprint(raw_header: bytes, size: int) -> str:
    """Hex SHA-256 over Message-ID, Date, From, To, Cc, Subject and the RFC822.SIZE.

    The same message in two folders, or after a UIDVALIDITY reset, gives the same
    value; messages that differ in any of these give different values. It tells apart
    messages that share a Message-ID (resent copies, buggy mailers).
    """
    return content_fingerprint_of(parse_headers(raw_header), size)
