"""Folders, messages and threads as the store keeps them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Attachment",
    "EmailAddress",
    "Folder",
    "FolderRole",
    "Location",
    "Message",
    "Thread",
    "has_flag",
]


class FolderRole(StrEnum):
    """What a folder is for, from its SPECIAL-USE attribute (RFC 6154 §2) or its name."""

    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    TRASH = "trash"
    JUNK = "junk"
    ARCHIVE = "archive"
    ALL = "all"
    FLAGGED = "flagged"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class Folder:
    id: str
    grant_id: str
    name: str  # the decoded mailbox name (RFC 3501 §5.1.3 modified UTF-7 undone)
    delimiter: str | None = None
    attributes: tuple[str, ...] = ()
    role: FolderRole = FolderRole.NONE
    parent_id: str | None = None
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None  # RFC 7162 §3.1.1, when the server has CONDSTORE
    total_count: int = 0
    unread_count: int = 0
    sync_state: str = "new"  # "new", "initial", "live"
    uidvalidity_changes: int = 0
    last_uidvalidity_check: float | None = None


@dataclass(frozen=True, slots=True)
class EmailAddress:
    name: str | None
    email: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    id: str
    message_id: str
    part: str  # the BODYSTRUCTURE part number, e.g. "2.1" (RFC 3501 §6.4.5)
    filename: str | None = None
    content_type: str = "application/octet-stream"
    size: int = 0
    content_id: str | None = None
    disposition: str | None = None
    is_inline: bool = False
    encoding: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """Where a copy of a message lives on the server.

    `uid` is None while the folder is being rematched after a UIDVALIDITY change
    (RFC 3501 §2.3.1.1): the message still shows in the folder, its old UID is forgotten.
    """

    folder_id: str
    uid: int | None


def has_flag(flags: Iterable[str], wanted: str) -> bool:
    """Whether `wanted` is among `flags`."""
    # System flags are case-insensitive (RFC 9051 §2.3.2).
    lowered = wanted.lower()
    return any(flag.lower() == lowered for flag in flags)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    id: str
    grant_id: str
    thread_id: str
    message_id_header: str
    synthetic_id: bool = False  # the Message-ID was made from a hash of the headers
    content_hash: str
    subject: str = ""
    from_: tuple[EmailAddress, ...] = ()
    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    bcc: tuple[EmailAddress, ...] = ()
    reply_to: tuple[EmailAddress, ...] = ()
    date: int  # INTERNALDATE in unix seconds: when the server received it
    sent_date: int | None = None  # the Date header
    flags: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()
    snippet: str = ""
    text_body: str | None = None
    html_body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    size: int = 0
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. undecodable bytes that were replaced

    @property
    def unread(self) -> bool:
        return not has_flag(self.flags, "\\Seen")

    @property
    def starred(self) -> bool:
        return has_flag(self.flags, "\\Flagged")

    @property
    def answered(self) -> bool:
        return has_flag(self.flags, "\\Answered")

    @property
    def draft(self) -> bool:
        return has_flag(self.flags, "\\Draft")

    @property
    def has_attachments(self) -> bool:
        return any(not attachment.is_inline for attachment in self.attachments)

    @property
    def folder_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(location.folder_id for location in self.locations))


@dataclass(frozen=True, slots=True, kw_only=True)
class Thread:
    """A conversation; the store computes it from its messages."""

    id: str
    grant_id: str
    subject: str
    participants: tuple[EmailAddress, ...]
    message_ids: tuple[str, ...]  # oldest first
    folder_ids: tuple[str, ...]
    unread: bool
    starred: bool
    has_attachments: bool
    earliest_message_date: int
    latest_message_date: int
    snippet: str  # of the latest message
