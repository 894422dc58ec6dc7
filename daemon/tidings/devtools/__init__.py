"""Local stand-ins for the servers Tidings talks to, for tests, benchmarks and
`tidings demo`: a private Dovecot (IMAP, LMTP), an SMTP submission server beside it, and
a generator of realistic mail.

``tidings.devtools`` imports nothing else of ours: the standard library only.
"""

from __future__ import annotations

from .dovecot import (
    DOVECOT_PASSWORD,
    INSTALL_HINT,
    Dovecot,
    DovecotError,
    DovecotUnavailable,
    dovecot_available,
    free_port,
)
from .mailgen import Generated, generate, make_message
from .submission import Submission

__all__ = [
    "DOVECOT_PASSWORD",
    "INSTALL_HINT",
    "Dovecot",
    "DovecotError",
    "DovecotUnavailable",
    "Generated",
    "Submission",
    "dovecot_available",
    "free_port",
    "generate",
    "make_message",
]
