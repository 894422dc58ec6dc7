"""What the client returns: plain frozen values, no protobuf.

Field names follow the tidings.v1 messages (and so Nylas API v3); Unix seconds on the
wire become timezone-aware `datetime`s here, and a time the server leaves unset is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "Attachment",
    "Connector",
    "ConnectorSettings",
    "Draft",
    "DraftPage",
    "EmailAddress",
    "Event",
    "EventObject",
    "Folder",
    "FolderRole",
    "Grant",
    "GrantPage",
    "GrantStatus",
    "Message",
    "MessagePage",
    "Security",
    "SentMessage",
    "ServerSettings",
    "SyncProgress",
    "SyncState",
    "Thread",
    "ThreadPage",
]


class Security(StrEnum):
    """How a connection to the mail server is secured (common.proto SecurityMode)."""

    TLS = "tls"  # implicit TLS, RFC 8314 §3
    STARTTLS = "starttls"
    PLAIN = "plain"  # only with allow_plaintext


class GrantStatus(StrEnum):
    """Whether the grant's credentials work."""

    UNSPECIFIED = "unspecified"
    VALID = "valid"
    INVALID = "invalid"


class SyncState(StrEnum):
    """What the grant's sync is doing."""

    UNSPECIFIED = "unspecified"
    PENDING = "pending"
    INITIAL_SYNC = "initial_sync"
    RUNNING = "running"
    DEGRADED = "degraded"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class FolderRole(StrEnum):
    """Special use of a folder (RFC 6154 §2, plus the inbox); NONE for ordinary ones."""

    NONE = "none"
    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    TRASH = "trash"
    JUNK = "junk"
    ARCHIVE = "archive"
    ALL = "all"
    FLAGGED = "flagged"
    IMPORTANT = "important"


@dataclass(frozen=True, slots=True)
class ConnectorSettings:
    sync_window_days: int
    strict_message_id: bool
    poll_interval_seconds: int
    allowed_redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Connector:
    id: str
    name: str
    provider: str
    settings: ConnectorSettings
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """One side (IMAP or SMTP) of a grant, as in effect."""

    host: str
    port: int
    security: Security | None
    username: str


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Progress of the initial sync; all zero once it has ended."""

    folders_done: int = 0
    folders_total: int = 0
    messages_done: int = 0
    messages_total: int = 0

    @property
    def fraction(self) -> float:
        """Messages done over messages found so far, 0.0 to 1.0 (0.0 before any)."""
        if self.messages_total == 0:
            return 0.0
        return min(1.0, self.messages_done / self.messages_total)


@dataclass(frozen=True, slots=True)
class Grant:
    """A connected mailbox. Passwords are write-only: never part of a Grant."""

    id: str
    connector_id: str
    provider: str
    provider_type: str
    email: str
    name: str
    grant_status: GrantStatus
    state: str  # the caller's opaque string given at creation (Nylas `state`)
    imap: ServerSettings
    smtp: ServerSettings
    allow_plaintext: bool
    sync_window_days: int
    sync_state: SyncState
    sync_state_reason: str
    sync_progress: SyncProgress
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GrantPage:
    grants: tuple[Grant, ...]
    total: int  # grants matching the filters in all, not just this page


@dataclass(frozen=True, slots=True)
class EmailAddress:
    email: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    grant_id: str
    message_id: str
    filename: str
    content_type: str
    size: int
    content_id: str
    content_disposition: str
    is_inline: bool


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    grant_id: str
    thread_id: str
    subject: str
    from_: tuple[EmailAddress, ...]
    to: tuple[EmailAddress, ...]
    cc: tuple[EmailAddress, ...]
    bcc: tuple[EmailAddress, ...]
    reply_to: tuple[EmailAddress, ...]
    date: datetime  # when the server received it (INTERNALDATE), not the Date header
    unread: bool
    starred: bool
    snippet: str
    body: str
    folders: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    synthetic_id: bool
    message_id_header: str
    decoding_warnings: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    raw_mime: bytes | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: tuple[Message, ...]
    next_cursor: str  # pass as page_token for the next page; empty on the last page


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What a send returns: the message as stored (in Sent when the grant has it)."""

    message: Message
    idempotent_replay: bool  # a repeated idempotency key: this is the first send's reply


@dataclass(frozen=True, slots=True)
class Draft:
    """A draft in the grant's Drafts folder; its id stays the same across updates."""

    id: str
    grant_id: str
    thread_id: str
    subject: str
    from_: tuple[EmailAddress, ...]
    to: tuple[EmailAddress, ...]
    cc: tuple[EmailAddress, ...]
    bcc: tuple[EmailAddress, ...]
    reply_to: tuple[EmailAddress, ...]
    date: datetime  # the last save
    body: str
    is_plaintext: bool
    snippet: str
    attachments: tuple[Attachment, ...]
    reply_to_message_id: str
    custom_headers: tuple[tuple[str, str], ...]
    folders: tuple[str, ...]
    starred: bool


@dataclass(frozen=True, slots=True)
class DraftPage:
    drafts: tuple[Draft, ...]
    next_cursor: str  # pass as page_token for the next page; empty on the last page


@dataclass(frozen=True, slots=True)
class Folder:
    id: str
    grant_id: str
    name: str
    path: str
    parent_id: str | None
    role: FolderRole
    attributes: tuple[str, ...]
    total_count: int
    unread_count: int
    child_count: int


@dataclass(frozen=True, slots=True)
class Thread:
    """A thread. Its newest item is either `latest_message` or, when that is a draft,
    `latest_draft`; the other is None."""

    id: str
    grant_id: str
    subject: str
    snippet: str
    participants: tuple[EmailAddress, ...]
    message_ids: tuple[str, ...]
    draft_ids: tuple[str, ...]
    folders: tuple[str, ...]
    has_attachments: bool
    has_drafts: bool
    unread: bool
    starred: bool
    earliest_message_date: datetime
    latest_message_received_date: datetime | None
    latest_message_sent_date: datetime | None
    latest_message: Message | None = None
    latest_draft: Draft | None = None


@dataclass(frozen=True, slots=True)
class ThreadPage:
    threads: tuple[Thread, ...]
    next_cursor: str  # pass as page_token for the next page; empty on the last page


EventObject = Message | Folder | Grant | Thread


@dataclass(frozen=True, slots=True)
class Event:
    """One change. `object` is the object after the change; None for deletions."""

    cursor: str  # resume after this event: watch_events(cursor=event.cursor)
    id: str
    type: str  # Nylas v3 name: message.created, folder.deleted, grant.imap_sync_completed...
    grant_id: str
    object_id: str
    created_at: datetime
    object: EventObject | None = field(default=None)
    truncated: bool = False  # a message event sent without its body (too large)

    @property
    def subject(self) -> str | None:
        """The subject of a message or thread event, else None."""
        if isinstance(self.object, Message | Thread):
            return self.object.subject
        return None
