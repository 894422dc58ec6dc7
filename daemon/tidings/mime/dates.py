"""The Date header (RFC 5322 §3.3) → a timezone-aware datetime, tolerantly."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

__all__ = ["parse_date"]

_MAX_DATE_LENGTH = 256
_MAX_OFFSET = 24 * 3600 - 1
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, start=1)}
# RFC 5322 §3.3 date-time as nearly every mailer writes it: "Sun, 06 Sep 2026 19:53:04
# +0000", maybe with a trailing zone comment. Read directly, it gives what the stdlib
# parser gives; anything else goes to that parser.
_CANONICAL = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) "
    rf"({'|'.join(_MONTHS)}) ([0-9]{{4}}) ([0-9]{{2}}):([0-9]{{2}}):([0-9]{{2}}) "
    r"([+-][0-9]{4})(?: \([^()]*\))?",
    re.ASCII,
)


# A mailbox holds dates in a handful of zones; each zone object is made once.
@functools.lru_cache(maxsize=256)
def _zone(offset: int) -> timezone:
    return timezone(timedelta(seconds=offset)) if abs(offset) <= _MAX_OFFSET else UTC


def _canonical(match: re.Match[str]) -> datetime | None:
    day, month, year, hour, minute, second, zone = match.groups()
    numeric_year = int(year)
    if numeric_year < 100:  # as email.utils reads a two-digit year (POSIX)
        numeric_year += 1900 if numeric_year > 68 else 2000
    # email.utils: "+hhmm" → seconds, where mm may exceed 59 and "-0000" means 0.
    hhmm = int(zone[1:])
    offset = (hhmm // 100) * 3600 + (hhmm % 100) * 60
    try:
        return datetime(numeric_year, _MONTH_NUMBERS[month], int(day), int(hour),
                        int(minute), min(int(second), 59),
                        tzinfo=_zone(-offset if zone[0] == "-" else offset))
    except (ValueError, OverflowError):
        return None


def parse_date(value: str) -> datetime | None:
    """Parse a Date value; None when it names no real moment.

    A missing zone or ``-0000`` (RFC 5322 §3.3: "no information about the local time
    zone") is read as UTC. Leap seconds become :59; zones beyond ±24h are dropped.
    """
    value = value.strip()
    if not value or len(value) > _MAX_DATE_LENGTH:
        return None
    match = _CANONICAL.fullmatch(value)
    if match is not None:
        return _canonical(match)
    try:
        parsed = parsedate_tz(value)
    except (ValueError, IndexError, TypeError, OverflowError):
        return None
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    offset = parsed[9] or 0
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=_zone(offset))
    except (ValueError, OverflowError):
        return None
