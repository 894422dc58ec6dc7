"""The one exception family of the MIME layer.

Parsing never raises on bad input: it returns what it could read and a tuple of
warnings. Errors are kept for requests that cannot be answered, such as a part
number the message does not have.
"""

from __future__ import annotations

__all__ = ["MimeError", "PartNotFound"]


class MimeError(Exception):
    """Base of every error raised by :mod:`tidings.mime`."""


class PartNotFound(MimeError):
    """The message has no part with this IMAP section number."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"no part {part!r} in this message: {reason}")
        self.part = part
        self.reason = reason
