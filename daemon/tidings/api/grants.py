"""GrantService: custom auth and grant management here; hosted auth is handed to the
`HostedAuth` the daemon was built with."""

from __future__ import annotations

from typing import Any, Final, Protocol

import grpc

from tidings.api.bridge import TrioBridge
from tidings.api.convert import grant_to_proto, security_from_proto
from tidings.api.errors import ApiError, InvalidArgument, rpc
from tidings.api.requests import optional_id, require_id
from tidings.domain import Grant, GrantState
from tidings.service import AccountService, CustomAuth, GrantFilter, GrantUpdate
from tidings.v1 import grants_pb2, grants_pb2_grpc

__all__ = ["GrantServicer", "HostedAuth", "Unimplemented"]

DEFAULT_PAGE: Final = 50
MAX_PAGE: Final = 200

# The API's grant_status is whether the credentials work; INVALID is the one state where
# they do not (convert.py maps the other way).
_STATES_BY_STATUS: Final = {
    grants_pb2.GRANT_STATUS_VALID: frozenset(
        {GrantState.VALID, GrantState.SYNCING, GrantState.DEGRADED}
    ),
    grants_pb2.GRANT_STATUS_INVALID: frozenset({GrantState.INVALID}),
}


class Unimplemented(ApiError):
    code = grpc.StatusCode.UNIMPLEMENTED


class HostedAuth(Protocol):
    """Hosted auth as the web pages implement it."""

    async def start(self, connector_id: str, redirect_uri: str, provider_type: str | None,
                    login_hint: str | None, state: str | None, code_challenge: str | None,
                    code_challenge_method: str | None) -> str: ...

    async def exchange(self, code: str, *, redirect_uri: str,
                       code_verifier: str | None = None) -> Grant: ...


def _text(value: str) -> str | None:
    return value or None


class GrantServicer(grants_pb2_grpc.GrantServiceServicer):
    def __init__(self, bridge: TrioBridge, accounts: AccountService,
                 hosted: HostedAuth | None = None) -> None:
        self._bridge = bridge
        self._accounts = accounts
        self._hosted = hosted

    @rpc
    async def CreateGrant(
        self, request: grants_pb2.CreateGrantRequest, context: Any
    ) -> grants_pb2.Grant:
        auth = CustomAuth(
            connector_id=optional_id("connector_id", request.connector_id),
            email=request.email,
            name=_text(request.name),
            imap_password=request.imap_password,
            imap_username=_text(request.imap_username),
            imap_host=_text(request.imap_host),
            imap_port=request.imap_port or None,
            imap_security=security_from_proto(request.imap_security, "imap_security"),
            smtp_host=_text(request.smtp_host),
            smtp_port=request.smtp_port or None,
            smtp_security=security_from_proto(request.smtp_security, "smtp_security"),
            smtp_username=_text(request.smtp_username),
            smtp_password=_text(request.smtp_password),
            provider_type=_text(request.provider_type),
            allow_plaintext=request.allow_plaintext,
            sync_window_days=(
                request.sync_window_days if request.HasField("sync_window_days") else None
            ),
            caller_state=_text(request.state),
        )
        grant = await self._bridge.call(self._accounts.create_grant, auth)
        return grant_to_proto(grant)

    @rpc
    async def GetGrant(self, request: grants_pb2.GetGrantRequest, context: Any
                       ) -> grants_pb2.Grant:
        grant = await self._bridge.call(self._accounts.get_grant, require_id("id", request.id))
        return grant_to_proto(grant)

    @rpc
    async def ListGrants(
        self, request: grants_pb2.ListGrantsRequest, context: Any
    ) -> grants_pb2.ListGrantsResponse:
        if request.limit > MAX_PAGE:
            raise InvalidArgument("limit", f"at most {MAX_PAGE}")
        states = None
        if request.HasField("grant_status"):
            if request.grant_status not in _STATES_BY_STATUS:
                raise InvalidArgument("grant_status", "must be VALID or INVALID")
            states = _STATES_BY_STATUS[request.grant_status]
        query = GrantFilter(
            connector_id=(
                require_id("connector_id", request.connector_id)
                if request.HasField("connector_id") else None
            ),
            email=request.email if request.HasField("email") else None,
            states=states,
            provider_type=request.provider_type if request.HasField("provider_type") else None,
            offset=request.offset,
            limit=request.limit or DEFAULT_PAGE,
        )
        grants, total = await self._bridge.call(self._accounts.list_grants, query)
        return grants_pb2.ListGrantsResponse(
            grants=[grant_to_proto(g) for g in grants], total=total
        )

    @rpc
    async def UpdateGrant(
        self, request: grants_pb2.UpdateGrantRequest, context: Any
    ) -> grants_pb2.Grant:
        grant_id = require_id("id", request.id)

        # Every field of the update is `optional`: ListFields names the ones set.
        present = {descriptor.name for descriptor, _ in request.ListFields()}

        def given(name: str) -> Any:
            return getattr(request, name) if name in present else None

        update = GrantUpdate(
            name=given("name"),
            imap_host=given("imap_host"),
            imap_port=given("imap_port"),
            imap_security=(
                security_from_proto(request.imap_security, "imap_security")
                if request.HasField("imap_security") else None
            ),
            imap_username=given("imap_username"),
            imap_password=given("imap_password"),
            smtp_host=given("smtp_host"),
            smtp_port=given("smtp_port"),
            smtp_security=(
                security_from_proto(request.smtp_security, "smtp_security")
                if request.HasField("smtp_security") else None
            ),
            smtp_username=given("smtp_username"),
            smtp_password=given("smtp_password"),
            allow_plaintext=given("allow_plaintext"),
            sync_window_days=given("sync_window_days"),
            caller_state=given("state"),
        )
        grant = await self._bridge.call(self._accounts.update_grant, grant_id, update)
        return grant_to_proto(grant)

    @rpc
    async def DeleteGrant(
        self, request: grants_pb2.DeleteGrantRequest, context: Any
    ) -> grants_pb2.DeleteGrantResponse:
        await self._bridge.call(self._accounts.delete_grant, require_id("id", request.id))
        return grants_pb2.DeleteGrantResponse()

    @rpc
    async def StartHostedAuth(
        self, request: grants_pb2.StartHostedAuthRequest, context: Any
    ) -> grants_pb2.StartHostedAuthResponse:
        hosted = self._hosted_auth()
        connector_id = optional_id("connector_id", request.connector_id)
        if not request.redirect_uri:
            raise InvalidArgument("redirect_uri", "required")

        async def start() -> str:
            connector = await self._accounts.resolve_connector(connector_id)
            return await hosted.start(
                connector.id, request.redirect_uri, _text(request.provider_type),
                _text(request.login_hint), _text(request.state),
                _text(request.code_challenge), _text(request.code_challenge_method),
            )

        url = await self._bridge.call(start)
        return grants_pb2.StartHostedAuthResponse(url=url)

    @rpc
    async def ExchangeCode(
        self, request: grants_pb2.ExchangeCodeRequest, context: Any
    ) -> grants_pb2.Grant:
        hosted = self._hosted_auth()
        if not request.code:
            raise InvalidArgument("code", "required")
        if not request.redirect_uri:
            # RFC 6749 §4.1.3: StartHostedAuth always had one, so the exchange needs it.
            raise InvalidArgument("redirect_uri", "required: the one given to StartHostedAuth")

        async def exchange() -> Grant:
            return await hosted.exchange(request.code, redirect_uri=request.redirect_uri,
                                         code_verifier=_text(request.code_verifier))

        return grant_to_proto(await self._bridge.call(exchange))

    def _hosted_auth(self) -> HostedAuth:
        if self._hosted is None:
            raise Unimplemented("hosted auth is not enabled on this daemon (no web server)")
        return self._hosted
