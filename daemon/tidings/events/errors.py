"""The event layer's exception family."""

from __future__ import annotations

__all__ = ["CursorExpired", "EventsError", "InvalidCursor"]


class EventsError(Exception):
    """Base of everything the event layer raises."""


class InvalidCursor(EventsError):
    """The cursor was not issued by this server (garbage, or from another database)."""


class CursorExpired(EventsError):
    """Events after the cursor were purged by retention: the subscriber must resync."""

    def __init__(self, position: int, first_position: int) -> None:
        super().__init__(
            f"cursor {position} is older than the retained log (it starts at {first_position});"
            " resync and subscribe from now"
        )
        self.position = position
        self.first_position = first_position
