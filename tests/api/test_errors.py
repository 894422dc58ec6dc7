"""The one table from exceptions to gRPC status codes."""

from __future__ import annotations

import grpc
import pytest
import trio

from tidings.api.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    status_for,
)
from tidings.imap import errors as imap_errors
from tidings.store import errors as store_errors

Code = grpc.StatusCode


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (InvalidArgument("limit", "at most 200"), Code.INVALID_ARGUMENT, "limit: at most 200"),
        (NotFound("grant", "g1"), Code.NOT_FOUND, "grant 'g1' not found"),
        (Unauthenticated("no key"), Code.UNAUTHENTICATED, "no key"),
        (PermissionDenied("read only"), Code.PERMISSION_DENIED, "read only"),
        (FailedPrecondition("grant is stopped"), Code.FAILED_PRECONDITION, "grant is stopped"),
        (ResourceExhausted("too many sends"), Code.RESOURCE_EXHAUSTED, "too many sends"),
        (Unavailable("stopping"), Code.UNAVAILABLE, "stopping"),
        (store_errors.NotFound("message", "m1"), Code.NOT_FOUND, "message 'm1' not found"),
        (store_errors.InvalidQuery("bad page token"), Code.INVALID_ARGUMENT, "bad page token"),
        (store_errors.Conflict("name in use"), Code.FAILED_PRECONDITION, "name in use"),
        (store_errors.StoreClosed("closed"), Code.UNAVAILABLE, "the daemon is stopping"),
        (
            imap_errors.AuthError("LOGIN", "AUTHENTICATIONFAILED", "bad password"),
            Code.FAILED_PRECONDITION,
            "LOGIN failed: [AUTHENTICATIONFAILED] bad password",
        ),
        (
            imap_errors.ServerNo("UID FETCH", "LIMIT", "slow down"),
            Code.RESOURCE_EXHAUSTED,
            "UID FETCH failed: [LIMIT] slow down",
        ),
        (
            imap_errors.ServerNo("SELECT", "UNAVAILABLE", "try later"),
            Code.UNAVAILABLE,
            "SELECT failed: [UNAVAILABLE] try later",
        ),
        (
            imap_errors.ServerNo("CREATE", "ALREADYEXISTS", "exists"),
            Code.FAILED_PRECONDITION,
            "CREATE failed: [ALREADYEXISTS] exists",
        ),
        (imap_errors.ConnectionLost("reset"), Code.UNAVAILABLE, "reset"),
        (imap_errors.ServerBye(None, "bye"), Code.UNAVAILABLE, "server said BYE: bye"),
        (imap_errors.ProtocolError("garbage"), Code.UNAVAILABLE, "garbage"),
        (
            trio.TooSlowError(),
            Code.UNAVAILABLE,
            "the mail server did not answer in time",
        ),
    ],
)
def test_known_errors_map_to_their_status(
    error: Exception, code: grpc.StatusCode, message: str
) -> None:
    assert status_for(error) == (code, message)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("bug"),
        KeyError("k"),
        store_errors.CredentialsError("wrong key"),
        store_errors.MigrationError("schema"),
    ],
)
def test_anything_else_is_a_bug(error: Exception) -> None:
    assert status_for(error) is None
