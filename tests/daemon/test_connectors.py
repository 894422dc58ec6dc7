"""ConnectorService over a real socket."""

from __future__ import annotations

import grpc

from tests.daemon.conftest import Daemon, grant_request
from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.v1 import common_pb2, connectors_pb2

Code = grpc.StatusCode


async def test_create_get_list_update_delete(daemon: Daemon) -> None:
    created = await daemon.create_connector("main", sync_window_days=30,
                                            allowed_redirect_uris=["https://app.example/cb"])
    assert created.id
    assert created.provider == common_pb2.PROVIDER_IMAP
    assert created.settings.sync_window_days == 30
    # Not set: the connector's grants poll at the daemon's own interval.
    assert not created.settings.HasField("poll_interval_seconds")
    fetched = await daemon.call(daemon.connectors.GetConnector,
                                connectors_pb2.GetConnectorRequest(id=created.id))
    assert fetched == created
    listed = await daemon.call(daemon.connectors.ListConnectors,
                               connectors_pb2.ListConnectorsRequest())
    assert [c.id for c in listed.connectors] == [created.id]
    updated = await daemon.call(daemon.connectors.UpdateConnector,
                                connectors_pb2.UpdateConnectorRequest(
                                    id=created.id, name="renamed", poll_interval_seconds=30,
                                    allowed_redirect_uris=connectors_pb2.RedirectUris()))
    assert updated.name == "renamed"
    assert updated.settings.poll_interval_seconds == 30
    assert updated.settings.sync_window_days == 30  # untouched
    assert list(updated.settings.allowed_redirect_uris) == []  # replaced by an empty list
    await daemon.call(daemon.connectors.DeleteConnector,
                      connectors_pb2.DeleteConnectorRequest(id=created.id))
    gone = await daemon.failure(daemon.connectors.GetConnector,
                                connectors_pb2.GetConnectorRequest(id=created.id))
    assert gone.code() == Code.NOT_FOUND


async def test_malformed_requests_name_the_field(daemon: Daemon) -> None:
    def create(**fields: object) -> connectors_pb2.CreateConnectorRequest:
        settings = fields.pop("settings", {})
        request = connectors_pb2.CreateConnectorRequest(
            provider=common_pb2.PROVIDER_IMAP, name="n",
            settings=connectors_pb2.ConnectorSettings(**settings))  # type: ignore[arg-type]
        for name, value in fields.items():
            setattr(request, name, value)
        return request

    cases = [
        (create(name=""), "name"),
        (create(name="x" * 201), "name"),
        (create(provider=common_pb2.PROVIDER_UNSPECIFIED), "provider"),
        (create(settings={"sync_window_days": 4000}), "settings.sync_window_days"),
        (create(settings={"poll_interval_seconds": 2}), "settings.poll_interval_seconds"),
        (create(settings={"allowed_redirect_uris": ["/relative"]}),
         "settings.allowed_redirect_uris[0]"),
        (create(settings={"allowed_redirect_uris": ["https://ok.example/cb", "ftp://x/"]}),
         "settings.allowed_redirect_uris[1]"),
        (create(settings={"allowed_redirect_uris": ["https://x.example/cb#frag"]}),
         "settings.allowed_redirect_uris[0]"),
    ]
    for request, field in cases:
        error = await daemon.failure(daemon.connectors.CreateConnector, request)
        assert error.code() == Code.INVALID_ARGUMENT, (field, error.details())
        assert error.details().startswith(f"{field}:"), error.details()
    missing_id = await daemon.failure(daemon.connectors.GetConnector,
                                      connectors_pb2.GetConnectorRequest())
    assert missing_id.code() == Code.INVALID_ARGUMENT
    assert missing_id.details() == "id: required"
    connector = await daemon.create_connector()
    bad_update = await daemon.failure(daemon.connectors.UpdateConnector,
                                      connectors_pb2.UpdateConnectorRequest(
                                          id=connector.id, sync_window_days=0))
    assert bad_update.code() == Code.INVALID_ARGUMENT
    assert bad_update.details().startswith("sync_window_days:")


async def test_a_connector_with_grants_cannot_be_deleted(
        daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    connector = await daemon.create_connector()
    user, password = dovecot.add_user()
    await daemon.call(daemon.grants.CreateGrant,
                      grant_request(dovecot, smtp_server, user, password,
                                    connector_id=connector.id))
    error = await daemon.failure(daemon.connectors.DeleteConnector,
                                 connectors_pb2.DeleteConnectorRequest(id=connector.id))
    assert error.code() == Code.FAILED_PRECONDITION
    assert "still has grants" in error.details()
