"""gRPC failures become the client's exception family, with the server's message."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import grpc
import pytest

from tests.clients.conftest import ClientDaemon, call
from tests.support.dovecot import Dovecot
from tidings_client import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TidingsError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from tidings_client.errors import error_from_rpc


@dataclass
class FakeRpcError(grpc.RpcError):  # type: ignore[misc]
    status: grpc.StatusCode
    text: str

    def code(self) -> grpc.StatusCode:
        return self.status

    def details(self) -> str:
        return self.text


@pytest.mark.parametrize(("status", "kind"), [
    (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgument),
    (grpc.StatusCode.NOT_FOUND, NotFound),
    (grpc.StatusCode.ALREADY_EXISTS, AlreadyExists),
    (grpc.StatusCode.UNAUTHENTICATED, Unauthenticated),
    (grpc.StatusCode.PERMISSION_DENIED, PermissionDenied),
    (grpc.StatusCode.FAILED_PRECONDITION, FailedPrecondition),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, ResourceExhausted),
    (grpc.StatusCode.UNAVAILABLE, Unavailable),
    (grpc.StatusCode.DEADLINE_EXCEEDED, DeadlineExceeded),
    (grpc.StatusCode.UNIMPLEMENTED, Unimplemented),
])
def test_each_code_has_its_class(status: grpc.StatusCode, kind: type[TidingsError]) -> None:
    error = error_from_rpc(FakeRpcError(status, "grant 'g1' not found"))
    assert type(error) is kind
    assert isinstance(error, TidingsError)
    assert error.code == status.name
    assert error.message == "grant 'g1' not found"
    assert str(error) == f"{status.name}: grant 'g1' not found"


def test_other_codes_are_the_base_class_with_their_name() -> None:
    error = error_from_rpc(FakeRpcError(grpc.StatusCode.INTERNAL, "see server log (ref 1)"))
    assert type(error) is TidingsError
    assert error.code == "INTERNAL"
    assert error.message == "see server log (ref 1)"


@pytest.mark.dovecot
async def test_unknown_api_key_is_unauthenticated(client_daemon: ClientDaemon) -> None:
    with client_daemon.client(api_key="not-a-key") as client, \
            pytest.raises(Unauthenticated) as refused:
        await call(client.list_connectors)
    assert "API key" in refused.value.message


@pytest.mark.dovecot
async def test_missing_id_is_invalid_argument(client_daemon: ClientDaemon) -> None:
    with client_daemon.client() as client, pytest.raises(InvalidArgument) as refused:
        await call(client.get_grant, "")
    assert refused.value.message == "id: required"


@pytest.mark.dovecot
async def test_refused_mail_password_is_failed_precondition_with_reason(
        client_daemon: ClientDaemon, dovecot: Dovecot) -> None:
    user, _password = dovecot.add_user()
    with client_daemon.client() as client:
        await call(client.create_connector, "mail")
        args = client_daemon.grant_args(user, "wrong password")
        with pytest.raises(FailedPrecondition) as refused:
            await call(functools.partial(client.create_grant, **args))
    assert "imap" in refused.value.message.lower()


@pytest.mark.dovecot
async def test_daemon_gone_is_unavailable(client_daemon: ClientDaemon) -> None:
    await client_daemon.stop()
    with client_daemon.client(timeout=5) as client, pytest.raises(Unavailable):
        await call(client.list_connectors)
