"""The Date header (RFC 5322 §3.3) → a timezone-aware datetime, tolerantly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

__all__ = ["parse_date"]

_MAX_DATE_LENGTH = 256
_MAX_OFFSET = 24 * 3600 - 1


def parse_date(value: str) -> datetime | None:
    """Parse a Date value; None when it names no real moment.

    A missing zone or ``-0000`` (RFC 5322 §3.3: "no information about the local time
    zone") is read as UTC. Leap seconds become :59; zones beyond ±24h are dropped.
    """
    value = value.strip()
    if not value or len(value) > _MAX_DATE_LENGTH:
        return None
    try:
        parsed = parsedate_tz(value)
    except (ValueError, IndexError, TypeError, OverflowError):
        return None
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    offset = parsed[9] or 0
    zone = timezone(timedelta(seconds=offset)) if abs(offset) <= _MAX_OFFSET else UTC
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
    except (ValueError, OverflowError):
        return None
