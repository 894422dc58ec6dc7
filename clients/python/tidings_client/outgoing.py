"""What a sender writes: the fields of a new message or draft, and its attachments.

`send_message`, `create_draft` and `update_draft` take the `MessageFields` as keyword
arguments. An `OutgoingAttachment` holds its content as bytes, as a path (read when the
message is sent) or as an open binary file (read from its current position).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import IO, Final, TypedDict

from tidings_client.models import EmailAddress

__all__ = [
    "Addresses",
    "AttachmentContent",
    "Headers",
    "MessageFields",
    "OutgoingAttachment",
    "content_size",
    "header_pairs",
    "parse_address",
    "parse_addresses",
    "read_content",
    "read_content_chunks",
]

AttachmentContent = bytes | os.PathLike[str] | IO[bytes]
# One address or several: "Ann Lee <ann@example.org>, bob@example.org" (RFC 5322 §3.4
# address-list), an `EmailAddress`, or a sequence of either.
Addresses = str | EmailAddress | Iterable[str | EmailAddress]
Headers = Mapping[str, str] | Iterable[tuple[str, str]]

_READ_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutgoingAttachment:
    """A file to send. ``content_type`` None lets the daemon guess it from the file
    name; ``content_id`` names an inline part that the HTML body shows as ``cid:``."""

    filename: str
    content: AttachmentContent
    content_type: str | None = None
    content_id: str | None = None
    is_inline: bool = False

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, content_type: str | None = None,
                  content_id: str | None = None, is_inline: bool = False
                  ) -> OutgoingAttachment:
        """The file at ``path``, named as it is on disk; read only when sent."""
        path = Path(path)
        return cls(path.name, path, content_type=content_type, content_id=content_id,
                   is_inline=is_inline)


class MessageFields(TypedDict, total=False):
    """The parts of a message its sender writes; all optional (sending needs at least one
    recipient, a draft none)."""

    to: Addresses
    cc: Addresses
    bcc: Addresses
    reply_to: Addresses
    subject: str
    body: str  # HTML unless is_plaintext
    is_plaintext: bool
    attachments: Sequence[OutgoingAttachment]
    reply_to_message_id: str  # sets In-Reply-To and References (RFC 5322 §3.6.4)
    custom_headers: Headers  # names starting with "X-", or List-*
    from_: str | EmailAddress  # unset: the grant's address and name


def parse_address(value: str | EmailAddress, field: str) -> EmailAddress:
    """One address; ValueError naming ``field`` when a string holds none."""
    if isinstance(value, EmailAddress):
        return value
    name, email = parseaddr(value)
    if "@" not in email:
        raise ValueError(f"{field}: not an email address: {value!r}")
    return EmailAddress(email=email, name=name)


def parse_addresses(value: Addresses, field: str) -> list[EmailAddress]:
    """Every address in ``value``; strings may hold several, comma-separated."""
    items: Iterable[str | EmailAddress] = (
        [value] if isinstance(value, str | EmailAddress) else value)
    parsed: list[EmailAddress] = []
    for item in items:
        if isinstance(item, EmailAddress):
            parsed.append(item)
            continue
        for name, email in getaddresses([item]):
            if "@" not in email:
                raise ValueError(f"{field}: not an email address: {item!r}")
            parsed.append(EmailAddress(email=email, name=name))
    return parsed


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.items() if isinstance(headers, Mapping) else headers)


def content_size(content: AttachmentContent) -> int | None:
    """Bytes the content will yield, without reading it; None for a file that cannot
    seek (a pipe), whose size is known only once read."""
    if isinstance(content, bytes):
        return len(content)
    if isinstance(content, os.PathLike):
        return os.stat(content).st_size
    if not content.seekable():
        return None
    here = content.tell()
    end = content.seek(0, os.SEEK_END)
    content.seek(here)
    return end - here


def read_content(content: AttachmentContent) -> bytes:
    """All of the content, for a request that carries it whole."""
    if isinstance(content, bytes):
        return content
    if isinstance(content, os.PathLike):
        return Path(content).read_bytes()
    return content.read()


def read_content_chunks(content: AttachmentContent,
                        chunk_bytes: int = _READ_BYTES) -> Iterator[bytes]:
    """The content in pieces of at most ``chunk_bytes``, read as they are asked for:
    a file is never in memory whole."""
    if isinstance(content, bytes):
        for start in range(0, len(content), chunk_bytes):
            yield content[start:start + chunk_bytes]
        return
    if isinstance(content, os.PathLike):
        with Path(content).open("rb") as file:
            yield from _file_chunks(file, chunk_bytes)
        return
    yield from _file_chunks(content, chunk_bytes)


def _file_chunks(file: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    while data := file.read(chunk_bytes):
        yield data
