"""`Tidings`: the daemon's gRPC API as plain, blocking Python calls.

    with Tidings("127.0.0.1:50051", api_key) as tidings:
        connector = tidings.create_connector("mail")
        grant = tidings.create_grant("ann@example.org", "app-password",
                                     imap_host="imap.example.org")
        for event in tidings.watch_events(grant_ids=[grant.id]):
            print(event.type, event.object_id)

Connectors, grants, hosted auth and events are here; folders, messages, threads,
attachments, drafts and sending come from `tidings_client.mail.MailCalls`. Every
method raises a `TidingsError` subclass when the daemon refuses the call.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self

import grpc

from tidings.v1 import (
    common_pb2,
    connectors_pb2,
    connectors_pb2_grpc,
    events_pb2_grpc,
    grants_pb2,
    grants_pb2_grpc,
)
from tidings_client import _requests as req
from tidings_client._convert import (
    connector_from_proto,
    grant_from_proto,
    grant_page_from_proto,
    ignore_reply,
)
from tidings_client._send_requests import INLINE_SEND_LIMIT
from tidings_client.errors import Unavailable
from tidings_client.events import Backoff, EventStream
from tidings_client.mail import MailCalls
from tidings_client.models import (
    Connector,
    Grant,
    GrantPage,
    GrantStatus,
    Security,
)

__all__ = ["DEFAULT_MAX_BACKOFF", "DEFAULT_TIMEOUT", "INLINE_SEND_LIMIT", "Tidings",
           "channel_options"]

DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_BACKOFF: Final = 5.0
# Event batches carry whole messages; gRPC's default 4 MiB receive limit is too small.
MAX_RECEIVE_BYTES: Final = 64 * 1024 * 1024
# HTTP/2 frames the daemon may send us: attachment chunks are about 1 MiB, and at
# gRPC's default of 16 KiB a download takes about a third longer on both sides.
MAX_FRAME_BYTES: Final = 1024 * 1024


def channel_options(max_backoff: float) -> list[tuple[str, int]]:
    """Channel settings: large messages and HTTP/2 frames, and gRPC's own reconnect
    backoff (up to 120 s by default) capped like ours, so a restarted daemon is found
    again within `max_backoff`."""
    cap = max(100, int(max_backoff * 1000))
    return [
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
        ("grpc.http2.max_frame_size", MAX_FRAME_BYTES),
        ("grpc.initial_reconnect_backoff_ms", min(100, cap)),
        ("grpc.min_reconnect_backoff_ms", min(100, cap)),
        ("grpc.max_reconnect_backoff_ms", cap),
    ]


def channel_credentials(tls: bool | Any) -> Any:
    """None for a plaintext channel; the system's CAs for ``True``; or the given
    `grpc.ChannelCredentials` (e.g. ``grpc.ssl_channel_credentials(root_certificates=...)``)."""
    if tls is False:
        return None
    if tls is True:
        return grpc.ssl_channel_credentials()
    return tls


class Tidings(MailCalls):
    """A connection to a Tidings daemon. Thread-safe; one per process is enough.

    ``inline_send_limit``: attachment bytes (all of a message's together) above which
    `send_message` streams them instead of sending one request."""

    def __init__(self, address: str, api_key: str, *, tls: bool | Any = False,
                 timeout: float = DEFAULT_TIMEOUT,
                 max_backoff: float = DEFAULT_MAX_BACKOFF,
                 inline_send_limit: int = INLINE_SEND_LIMIT) -> None:
        self.address = address
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.inline_send_limit = inline_send_limit
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        credentials = channel_credentials(tls)
        options = channel_options(max_backoff)
        self._channel = (grpc.insecure_channel(address, options=options) if credentials is None
                         else grpc.secure_channel(address, credentials, options=options))
        self._connectors = connectors_pb2_grpc.ConnectorServiceStub(self._channel)
        self._grants = grants_pb2_grpc.GrantServiceStub(self._channel)
        self._events = events_pb2_grpc.EventServiceStub(self._channel)
        self._open_mail_services(self._channel)
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()

    def close(self) -> None:
        """End every event stream of this client, then close the connection."""
        for stream in list(self._streams):
            stream.close()
        self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # Connectors

    def create_connector(self, name: str, *, sync_window_days: int | None = None,
                         strict_message_id: bool | None = None,
                         poll_interval_seconds: int | None = None,
                         allowed_redirect_uris: Sequence[str] = ()) -> Connector:
        settings = req.connector_settings(
            sync_window_days=sync_window_days, strict_message_id=strict_message_id,
            poll_interval_seconds=poll_interval_seconds,
            allowed_redirect_uris=allowed_redirect_uris)
        request = connectors_pb2.CreateConnectorRequest(
            provider=common_pb2.PROVIDER_IMAP, name=name, settings=settings)
        return self._call(self._connectors.CreateConnector, request, connector_from_proto)

    def get_connector(self, connector_id: str) -> Connector:
        return self._call(self._connectors.GetConnector,
                          connectors_pb2.GetConnectorRequest(id=connector_id),
                          connector_from_proto)

    def list_connectors(self) -> list[Connector]:
        return self._call(self._connectors.ListConnectors,
                          connectors_pb2.ListConnectorsRequest(),
                          lambda reply: [connector_from_proto(c) for c in reply.connectors])

    def update_connector(self, connector_id: str, *, name: str | None = None,
                         sync_window_days: int | None = None,
                         strict_message_id: bool | None = None,
                         poll_interval_seconds: int | None = None,
                         allowed_redirect_uris: Sequence[str] | None = None) -> Connector:
        """Change the arguments that are not None."""
        request = req.update_connector_request(
            connector_id, name=name, sync_window_days=sync_window_days,
            strict_message_id=strict_message_id, poll_interval_seconds=poll_interval_seconds,
            allowed_redirect_uris=allowed_redirect_uris)
        return self._call(self._connectors.UpdateConnector, request, connector_from_proto)

    def delete_connector(self, connector_id: str) -> None:
        """Raises `FailedPrecondition` while grants still use the connector."""
        self._call(self._connectors.DeleteConnector,
                   connectors_pb2.DeleteConnectorRequest(id=connector_id), ignore_reply)

    # Grants

    def create_grant(self, email: str, imap_password: str, *,
                     connector_id: str | None = None, provider_type: str | None = None,
                     name: str | None = None, imap_host: str | None = None,
                     imap_port: int | None = None, imap_security: Security | str | None = None,
                     imap_username: str | None = None, smtp_host: str | None = None,
                     smtp_port: int | None = None, smtp_security: Security | str | None = None,
                     smtp_username: str | None = None, smtp_password: str | None = None,
                     allow_plaintext: bool = False, sync_window_days: int | None = None,
                     state: str | None = None) -> Grant:
        """Custom auth: the daemon checks the credentials on both servers before it
        stores them (`FailedPrecondition` with the server's reason when refused), then
        starts syncing. Unset hosts and ports come from the provider preset."""
        fields = req.GrantFields(
            name=name, imap_host=imap_host, imap_port=imap_port, imap_security=imap_security,
            imap_username=imap_username, imap_password=imap_password, smtp_host=smtp_host,
            smtp_port=smtp_port, smtp_security=smtp_security, smtp_username=smtp_username,
            smtp_password=smtp_password, allow_plaintext=allow_plaintext or None,
            sync_window_days=sync_window_days, state=state)
        request = req.create_grant_request(email, fields, connector_id=connector_id,
                                           provider_type=provider_type)
        return self._call(self._grants.CreateGrant, request, grant_from_proto)

    def get_grant(self, grant_id: str) -> Grant:
        """The grant with its sync state and initial-sync progress."""
        return self._call(self._grants.GetGrant, grants_pb2.GetGrantRequest(id=grant_id),
                          grant_from_proto)

    def list_grants(self, *, limit: int = 0, offset: int = 0, email: str | None = None,
                    grant_status: GrantStatus | str | None = None,
                    provider_type: str | None = None,
                    connector_id: str | None = None) -> GrantPage:
        """One page (``limit`` 0 means the daemon's default, 50) of the matching grants."""
        request = req.list_grants_request(
            limit=limit, offset=offset, email=email, grant_status=grant_status,
            provider_type=provider_type, connector_id=connector_id)
        return self._call(self._grants.ListGrants, request, grant_page_from_proto)

    def update_grant(self, grant_id: str, *, name: str | None = None,
                     imap_host: str | None = None, imap_port: int | None = None,
                     imap_security: Security | str | None = None,
                     imap_username: str | None = None, imap_password: str | None = None,
                     smtp_host: str | None = None, smtp_port: int | None = None,
                     smtp_security: Security | str | None = None,
                     smtp_username: str | None = None, smtp_password: str | None = None,
                     allow_plaintext: bool | None = None,
                     sync_window_days: int | None = None, state: str | None = None) -> Grant:
        """Change the arguments that are not None; the grant's sync restarts with them."""
        fields = req.GrantFields(
            name=name, imap_host=imap_host, imap_port=imap_port, imap_security=imap_security,
            imap_username=imap_username, imap_password=imap_password, smtp_host=smtp_host,
            smtp_port=smtp_port, smtp_security=smtp_security, smtp_username=smtp_username,
            smtp_password=smtp_password, allow_plaintext=allow_plaintext,
            sync_window_days=sync_window_days, state=state)
        return self._call(self._grants.UpdateGrant, req.update_grant_request(grant_id, fields),
                          grant_from_proto)

    def delete_grant(self, grant_id: str) -> None:
        self._call(self._grants.DeleteGrant, grants_pb2.DeleteGrantRequest(id=grant_id),
                   ignore_reply)

    def start_hosted_auth(self, redirect_uri: str, *, connector_id: str | None = None,
                          provider_type: str | None = None, login_hint: str | None = None,
                          state: str | None = None, code_challenge: str | None = None,
                          code_challenge_method: str | None = None) -> str:
        """Hosted auth, step 1: the URL of the daemon's sign-in page to send the user to."""
        request = grants_pb2.StartHostedAuthRequest(redirect_uri=redirect_uri)
        req.set_fields(request, {
            "connector_id": connector_id, "provider_type": provider_type,
            "login_hint": login_hint, "state": state, "code_challenge": code_challenge,
            "code_challenge_method": code_challenge_method})
        return self._call(self._grants.StartHostedAuth, request, lambda reply: str(reply.url))

    def exchange_code(self, code: str, redirect_uri: str, *,
                      code_verifier: str | None = None) -> Grant:
        """Hosted auth, step 2: the grant for the ``code`` of the redirect; ``redirect_uri``
        must be the one the sign-in started with (RFC 6749 §4.1.3)."""
        request = grants_pb2.ExchangeCodeRequest(code=code, redirect_uri=redirect_uri,
                                                 code_verifier=code_verifier or "")
        return self._call(self._grants.ExchangeCode, request, grant_from_proto)

    # Events

    def get_cursor(self, time: datetime | float | None = None) -> str:
        """The cursor just before the first event at or after ``time`` (an aware
        datetime or Unix seconds); without a time, the end of the log: watching from
        it yields only events that come after this call."""
        return self._call(self._events.GetCursor, req.cursor_request(time),
                          lambda reply: str(reply.cursor))

    def watch_events(self, cursor: str | None = None, grant_ids: Iterable[str] | None = None,
                     types: Iterable[str] | None = None) -> EventStream:
        """Every event after ``cursor``, then live ones, forever. Without a cursor, the
        events after this call (or, if the daemon cannot be reached now, after the
        stream first reaches it).

        Reconnects on its own when the connection drops or the daemon restarts, and
        resumes after the last event it handed out: nothing is missed or repeated.
        ``types`` are event names such as ``"message.created"``.
        """
        if cursor is None:
            with contextlib.suppress(Unavailable):
                cursor = self.get_cursor()
        stream = EventStream(
            lambda request: self._events.Subscribe(request, metadata=self._metadata),
            self.get_cursor, cursor, grant_ids, types, Backoff(maximum=self.max_backoff))
        self._streams.add(stream)
        return stream
