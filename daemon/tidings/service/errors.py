"""The service layer's exception family: what an account operation refuses, and why.

Each error names what a person must change: the request field, the object, or the mail
server side ("imap" or "smtp") that failed and the reason it gave. The API and the web
pages translate them at their own boundary.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "Conflict",
    "CredentialsRejected",
    "InvalidField",
    "LimitExceeded",
    "NotFound",
    "PreconditionFailed",
    "ServiceError",
    "Side",
    "TlsFailed",
    "Unreachable",
]

Side = Literal["imap", "smtp"]


def _side_name(side: Side) -> str:
    return side.upper()


class ServiceError(Exception):
    """Base of everything the service layer raises itself."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidField(ServiceError):
    """A request field is missing or malformed."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NotFound(ServiceError):
    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id!r} not found")
        self.kind = kind
        self.object_id = object_id


class Conflict(ServiceError):
    """The request clashes with an object that exists (a second grant for one mailbox)."""


class PreconditionFailed(ServiceError):
    """The request is valid but the current state does not allow it."""


class LimitExceeded(ServiceError):
    """The request is beyond a limit (a provider's message size, a request size)."""


class CredentialsRejected(ServiceError):
    """The mail server refused the login: wrong password, or an app password is needed."""

    def __init__(self, side: Side, reason: str) -> None:
        super().__init__(f"{_side_name(side)} login refused: {reason}")
        self.side = side
        self.reason = reason


class Unreachable(ServiceError):
    """The mail server could not be reached or did not answer in time."""

    def __init__(self, side: Side, reason: str) -> None:
        super().__init__(f"{_side_name(side)} server unreachable: {reason}")
        self.side = side
        self.reason = reason


class TlsFailed(ServiceError):
    """TLS could not be set up (certificate not trusted, no STARTTLS offered) or the
    login would have gone over clear text; retrying as-is will fail the same way."""

    def __init__(self, side: Side, reason: str) -> None:
        super().__init__(f"{_side_name(side)} TLS failed: {reason}")
        self.side = side
        self.reason = reason
