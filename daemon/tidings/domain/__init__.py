"""Domain values shared by every layer: plain frozen dataclasses, no I/O."""

from __future__ import annotations

from tidings.domain.accounts import (
    Connector,
    ConnectorSettings,
    Credentials,
    Endpoint,
    Grant,
    GrantState,
    Security,
    SyncProgress,
)
from tidings.domain.events import Event, EventType, NewEvent
from tidings.domain.ids import new_id
from tidings.domain.mail import (
    Attachment,
    EmailAddress,
    Folder,
    FolderRole,
    Location,
    Message,
    Thread,
    has_flag,
)
from tidings.domain.subject import normalize_subject

__all__ = [
    "Attachment",
    "Connector",
    "ConnectorSettings",
    "Credentials",
    "EmailAddress",
    "Endpoint",
    "Event",
    "EventType",
    "Folder",
    "FolderRole",
    "Grant",
    "GrantState",
    "Location",
    "Message",
    "NewEvent",
    "Security",
    "SyncProgress",
    "Thread",
    "has_flag",
    "new_id",
    "normalize_subject",
]
