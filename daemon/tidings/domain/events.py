"""Change events: what the log holds and what a writer appends to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Event", "EventType", "NewEvent"]


class EventType(StrEnum):
    """Event names as the Nylas v3 notifications spell them."""

    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"
    MESSAGE_DELETED = "message.deleted"
    THREAD_REPLIED = "thread.replied"
    FOLDER_CREATED = "folder.created"
    FOLDER_UPDATED = "folder.updated"
    FOLDER_DELETED = "folder.deleted"
    GRANT_CREATED = "grant.created"
    GRANT_UPDATED = "grant.updated"
    GRANT_DELETED = "grant.deleted"
    GRANT_EXPIRED = "grant.expired"
    GRANT_IMAP_SYNC_COMPLETED = "grant.imap_sync_completed"
    MESSAGE_SEND_SUCCESS = "message.send_success"
    MESSAGE_SEND_FAILED = "message.send_failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event a writer appends; the log gives it a position, an id and a time."""

    grant_id: str | None
    type: EventType
    object_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)  # JSON-able


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    position: int  # the place in the log; a subscriber's cursor
    id: str  # unique, for de-duplication by receivers
    grant_id: str | None
    type: EventType
    object_id: str | None
    payload: Mapping[str, Any]
    created_at: float
