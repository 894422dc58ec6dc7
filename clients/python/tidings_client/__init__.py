"""Typed Python client for the Tidings daemon.

`Tidings` for blocking code, `AsyncTidings` for asyncio: connectors, grants, hosted
auth, events, and the mail of each grant (folders, messages, threads, attachments,
drafts, sending). Both return the frozen values
of `tidings_client.models` and raise the `TidingsError` family of
`tidings_client.errors`; `watch_events` follows the change stream across disconnects
and daemon restarts without missing or repeating an event.
"""

from __future__ import annotations

from tidings_client.aio import AsyncTidings
from tidings_client.client import Tidings
from tidings_client.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TidingsError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from tidings_client.events import AsyncEventStream, EventStream
from tidings_client.mail import TOP_LEVEL
from tidings_client.models import (
    Attachment,
    Connector,
    ConnectorSettings,
    Draft,
    DraftPage,
    EmailAddress,
    Event,
    EventObject,
    Folder,
    FolderRole,
    Grant,
    GrantPage,
    GrantStatus,
    Message,
    MessagePage,
    Security,
    SentMessage,
    ServerSettings,
    SyncProgress,
    SyncState,
    Thread,
    ThreadPage,
)
from tidings_client.outgoing import MessageFields, OutgoingAttachment

__all__ = [
    "TOP_LEVEL",
    "AlreadyExists",
    "AsyncEventStream",
    "AsyncTidings",
    "Attachment",
    "Connector",
    "ConnectorSettings",
    "DeadlineExceeded",
    "Draft",
    "DraftPage",
    "EmailAddress",
    "Event",
    "EventObject",
    "EventStream",
    "FailedPrecondition",
    "Folder",
    "FolderRole",
    "Grant",
    "GrantPage",
    "GrantStatus",
    "InvalidArgument",
    "Message",
    "MessageFields",
    "MessagePage",
    "NotFound",
    "OutgoingAttachment",
    "PermissionDenied",
    "ResourceExhausted",
    "Security",
    "SentMessage",
    "ServerSettings",
    "SyncProgress",
    "SyncState",
    "Thread",
    "ThreadPage",
    "Tidings",
    "TidingsError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
]
