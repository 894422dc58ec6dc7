"""How failures leave the API: one table from exceptions to gRPC status codes.

Every servicer method is wrapped with :func:`rpc`. An exception the table knows
becomes its status code with a readable message; anything else is logged here,
with its stack trace, and the caller gets INTERNAL with a reference to that log
line. No stack trace ever leaves the server.

The API's own error family, :class:`ApiError`, is for what servicers and the
bridge detect themselves (a missing field, an unknown key, the daemon
stopping). Errors of the layers below keep their own families; the table
translates them here, at the boundary, so those layers never know about gRPC.
"""

from __future__ import annotations

import functools
import inspect
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing
from typing import Any, ClassVar, NoReturn, TypeVar, overload

import grpc
import structlog
import trio

from tidings import service
from tidings.events import errors as events_errors
from tidings.imap import errors as imap_errors
from tidings.store import errors as store_errors

__all__ = [
    "ApiError",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "failure_status",
    "rpc",
    "status_for",
]

log = structlog.get_logger(__name__)

_Self = TypeVar("_Self")
_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


class ApiError(Exception):
    """Base of the errors the API layer raises itself; each carries its status code."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ApiError):
    """A request field is missing or malformed; the message names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class NotFound(ApiError):
    """The object named in the request does not exist."""

    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id!r} not found")
        self.kind = kind
        self.object_id = object_id


class Unauthenticated(ApiError):
    """No API key, or one that is unknown or revoked."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ApiError):
    """The caller is known but may not do this."""

    code = grpc.StatusCode.PERMISSION_DENIED


class FailedPrecondition(ApiError):
    """The request is valid but the state of the system does not allow it now."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(ApiError):
    """A limit was reached (rate, size, connections); retry later or ask for less."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ApiError):
    """The daemon or the mail server cannot serve the call now; retrying may work."""

    code = grpc.StatusCode.UNAVAILABLE


# IMAP response codes (RFC 5530 §3) that mean "not now" rather than "no".
_IMAP_BUSY_CODES = {
    "LIMIT": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "INUSE": grpc.StatusCode.UNAVAILABLE,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
}

# Order matters: the first matching class wins, so subclasses come first.
# Store errors that mean a broken installation (CredentialsError, KeyFileError,
# MigrationError) are deliberately absent: the operator needs the server log,
# and the caller gets INTERNAL with its reference.
_STATUS_BY_TYPE: tuple[tuple[type[BaseException], grpc.StatusCode, str | None], ...] = (
    # The service layer's refusals. A mail server refusing the login is not the caller
    # failing to authenticate to us (UNAUTHENTICATED is kept for the API key).
    (service.InvalidField, grpc.StatusCode.INVALID_ARGUMENT, None),
    (service.NotFound, grpc.StatusCode.NOT_FOUND, None),
    (service.Conflict, grpc.StatusCode.ALREADY_EXISTS, None),
    (service.PreconditionFailed, grpc.StatusCode.FAILED_PRECONDITION, None),
    (service.LimitExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED, None),
    (service.CredentialsRejected, grpc.StatusCode.FAILED_PRECONDITION, None),
    (service.TlsFailed, grpc.StatusCode.FAILED_PRECONDITION, None),
    (service.Unreachable, grpc.StatusCode.UNAVAILABLE, None),
    (events_errors.CursorExpired, grpc.StatusCode.FAILED_PRECONDITION, None),
    (events_errors.InvalidCursor, grpc.StatusCode.INVALID_ARGUMENT, None),
    (store_errors.NotFound, grpc.StatusCode.NOT_FOUND, None),
    (store_errors.InvalidQuery, grpc.StatusCode.INVALID_ARGUMENT, None),
    (store_errors.Conflict, grpc.StatusCode.FAILED_PRECONDITION, None),
    (store_errors.StoreClosed, grpc.StatusCode.UNAVAILABLE, "the daemon is stopping"),
    (imap_errors.AuthError, grpc.StatusCode.FAILED_PRECONDITION, None),
    (imap_errors.TlsRequired, grpc.StatusCode.FAILED_PRECONDITION, None),
    (imap_errors.ServerResponseError, grpc.StatusCode.FAILED_PRECONDITION, None),
    (imap_errors.ImapTimeout, grpc.StatusCode.UNAVAILABLE, None),
    (imap_errors.ServerBye, grpc.StatusCode.UNAVAILABLE, None),
    (imap_errors.ConnectionLost, grpc.StatusCode.UNAVAILABLE, None),
    (imap_errors.ProtocolError, grpc.StatusCode.UNAVAILABLE, None),
    (trio.TooSlowError, grpc.StatusCode.UNAVAILABLE, "the mail server did not answer in time"),
)


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str] | None:
    """The status code and message for a known failure, or None for a bug."""
    if isinstance(exc, ApiError):
        return exc.code, exc.message
    if isinstance(exc, imap_errors.ServerResponseError) and exc.code in _IMAP_BUSY_CODES:
        return _IMAP_BUSY_CODES[exc.code], str(exc)
    for kind, code, message in _STATUS_BY_TYPE:
        if isinstance(exc, kind):
            return code, message if message is not None else str(exc)
    return None


def failure_status(exc: BaseException, method: str) -> tuple[grpc.StatusCode, str]:
    """The status to return for `exc`, logging it; a bug is logged with its
    stack trace under a reference that the caller's message quotes."""
    known = status_for(exc)
    if known is not None:
        code, message = known
        log.info("rpc.failed", method=method, code=code.name, error=message)
        return code, message
    ref = secrets.token_hex(6)
    log.error("rpc.internal_error", method=method, ref=ref, exc_info=exc)
    return grpc.StatusCode.INTERNAL, f"internal error, see server log (ref {ref})"


async def _abort_for(exc: Exception, context: Any, method: str) -> NoReturn:
    """Abort the call with the status for `exc`; raises grpc's AbortError."""
    code, message = failure_status(exc, method)
    await context.abort(code, message)
    # grpc.aio's abort always raises; this line only tells the type checker so.
    raise AssertionError("ServicerContext.abort returned")


@overload
def rpc(
    method: Callable[[_Self, _Request, Any], AsyncIterator[_Response]],
) -> Callable[[_Self, _Request, Any], AsyncIterator[_Response]]: ...


@overload
def rpc(
    method: Callable[[_Self, _Request, Any], Coroutine[Any, Any, _Response]],
) -> Callable[[_Self, _Request, Any], Coroutine[Any, Any, _Response]]: ...


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a servicer method (coroutine or async generator) so that every
    exception leaves as a proper status and never as a stack trace.

    Cancellation and grpc's own abort pass through untouched.
    """
    name = method.__qualname__

    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def streaming(self: Any, request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                async with aclosing(method(self, request, context)) as responses:
                    async for response in responses:
                        yield response
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await _abort_for(exc, context, name)

        return streaming

    @functools.wraps(method)
    async def unary(self: Any, request: Any, context: Any) -> Any:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort_for(exc, context, name)

    return unary
