"""One exception family for everything the daemon refuses.

Every gRPC failure becomes a `TidingsError` subclass chosen by its status code, carrying
the server's message (which names the field or object at fault). Codes without a class
of their own (INTERNAL, UNKNOWN...) raise `TidingsError` itself, with `code` set.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import grpc

__all__ = [
    "AlreadyExists",
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "TidingsError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "error_from_rpc",
]


class TidingsError(Exception):
    """A call failed. `code` is the gRPC status name, `message` the server's text."""

    status: ClassVar[str] = "UNKNOWN"

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code or self.status
        self.message = message
        super().__init__(f"{self.code}: {message}" if message else self.code)


class InvalidArgument(TidingsError):
    """A request field is missing or malformed; the message names it."""

    status = "INVALID_ARGUMENT"


class NotFound(TidingsError):
    """The connector, grant or other object named does not exist."""

    status = "NOT_FOUND"


class AlreadyExists(TidingsError):
    """The object to create exists already."""

    status = "ALREADY_EXISTS"


class Unauthenticated(TidingsError):
    """No API key, or one the daemon does not know or has revoked."""

    status = "UNAUTHENTICATED"


class PermissionDenied(TidingsError):
    """The API key may not do this."""

    status = "PERMISSION_DENIED"


class FailedPrecondition(TidingsError):
    """Valid, but not possible now: the mail server refused the credentials, a connector
    still has grants, a cursor is older than the retained log..."""

    status = "FAILED_PRECONDITION"


class ResourceExhausted(TidingsError):
    """A limit was reached; retry later or ask for less."""

    status = "RESOURCE_EXHAUSTED"


class Unavailable(TidingsError):
    """The daemon (or the mail server behind it) cannot serve the call now; retrying
    later may work."""

    status = "UNAVAILABLE"


class DeadlineExceeded(TidingsError):
    """The call did not finish within the client's timeout."""

    status = "DEADLINE_EXCEEDED"


class Unimplemented(TidingsError):
    """This daemon does not serve the method (an older version, or a feature it has
    switched off, such as hosted auth without its web server)."""

    status = "UNIMPLEMENTED"


_BY_CODE: Final[dict[str, type[TidingsError]]] = {
    cls.status: cls
    for cls in (InvalidArgument, NotFound, AlreadyExists, Unauthenticated, PermissionDenied,
                FailedPrecondition, ResourceExhausted, Unavailable, DeadlineExceeded,
                Unimplemented)
}


def error_from_rpc(exc: Any) -> TidingsError:
    """The `TidingsError` for a failed call (a `grpc.RpcError` or `grpc.aio.AioRpcError`,
    both of which have ``code()`` and ``details()``)."""
    status: Any = exc.code() if callable(getattr(exc, "code", None)) else None
    name = status.name if isinstance(status, grpc.StatusCode) else "UNKNOWN"
    details = exc.details() if callable(getattr(exc, "details", None)) else None
    message = str(details) if details else str(exc)
    return _BY_CODE.get(name, TidingsError)(message, name)
