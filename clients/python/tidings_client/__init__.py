"""Typed Python client for the Tidings daemon.

`Tidings` for blocking code, `AsyncTidings` for asyncio. Both return the frozen values
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
from tidings_client.models import (
    Attachment,
    Connector,
    ConnectorSettings,
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
    ServerSettings,
    SyncProgress,
    SyncState,
    Thread,
)

__all__ = [
    "AlreadyExists",
    "AsyncEventStream",
    "AsyncTidings",
    "Attachment",
    "Connector",
    "ConnectorSettings",
    "DeadlineExceeded",
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
    "MessagePage",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Security",
    "ServerSettings",
    "SyncProgress",
    "SyncState",
    "Thread",
    "Tidings",
    "TidingsError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
]
