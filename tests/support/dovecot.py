"""The private Dovecot for tests; it lives in `tidings.devtools.dovecot` (the demo uses it
too)."""

from __future__ import annotations

from tidings.devtools.dovecot import (
    DOVECOT_PASSWORD,
    SPECIAL_FOLDERS,
    Dovecot,
    DovecotError,
    DovecotUnavailable,
    dovecot_available,
    free_port,
)

__all__ = [
    "DOVECOT_PASSWORD",
    "SPECIAL_FOLDERS",
    "Dovecot",
    "DovecotError",
    "DovecotUnavailable",
    "dovecot_available",
    "free_port",
]
