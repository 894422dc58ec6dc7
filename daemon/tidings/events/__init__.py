"""The durable change log seen from outside: cursors, live fan-out, retention."""

from __future__ import annotations

from tidings.events.cursor import decode_cursor, encode_cursor
from tidings.events.errors import CursorExpired, EventsError, InvalidCursor
from tidings.events.follow import follow
from tidings.events.hub import EventHub
from tidings.events.recent import RecentEvents
from tidings.events.retention import purge_expired_events, run_event_retention

__all__ = [
    "CursorExpired",
    "EventHub",
    "EventsError",
    "InvalidCursor",
    "RecentEvents",
    "decode_cursor",
    "encode_cursor",
    "follow",
    "purge_expired_events",
    "run_event_retention",
]
