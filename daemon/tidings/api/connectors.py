"""ConnectorService: protobuf in, one account operation in trio, protobuf out."""

from __future__ import annotations

from typing import Any

from tidings.api.bridge import TrioBridge
from tidings.api.convert import connector_settings_from_proto, connector_to_proto
from tidings.api.errors import rpc
from tidings.api.requests import require_id
from tidings.service import AccountService, ConnectorPatch
from tidings.v1 import common_pb2, connectors_pb2, connectors_pb2_grpc

__all__ = ["ConnectorServicer"]

_PROVIDER_NAMES = {common_pb2.PROVIDER_IMAP: "imap", common_pb2.PROVIDER_UNSPECIFIED: ""}


class ConnectorServicer(connectors_pb2_grpc.ConnectorServiceServicer):
    def __init__(self, bridge: TrioBridge, accounts: AccountService) -> None:
        self._bridge = bridge
        self._accounts = accounts

    @rpc
    async def CreateConnector(
        self, request: connectors_pb2.CreateConnectorRequest, context: Any
    ) -> connectors_pb2.Connector:
        provider = _PROVIDER_NAMES.get(request.provider, f"provider {request.provider}")
        settings = connector_settings_from_proto(request.settings)
        connector = await self._bridge.call(
            self._accounts.create_connector, request.name, provider, settings
        )
        return connector_to_proto(connector)

    @rpc
    async def GetConnector(
        self, request: connectors_pb2.GetConnectorRequest, context: Any
    ) -> connectors_pb2.Connector:
        connector = await self._bridge.call(
            self._accounts.get_connector, require_id("id", request.id)
        )
        return connector_to_proto(connector)

    @rpc
    async def ListConnectors(
        self, request: connectors_pb2.ListConnectorsRequest, context: Any
    ) -> connectors_pb2.ListConnectorsResponse:
        connectors = await self._bridge.call(self._accounts.list_connectors)
        return connectors_pb2.ListConnectorsResponse(
            connectors=[connector_to_proto(c) for c in connectors]
        )

    @rpc
    async def UpdateConnector(
        self, request: connectors_pb2.UpdateConnectorRequest, context: Any
    ) -> connectors_pb2.Connector:
        connector_id = require_id("id", request.id)
        patch = ConnectorPatch(
            name=request.name if request.HasField("name") else None,
            sync_window_days=(
                request.sync_window_days if request.HasField("sync_window_days") else None
            ),
            strict_message_id=(
                request.strict_message_id if request.HasField("strict_message_id") else None
            ),
            poll_interval=(
                float(request.poll_interval_seconds)
                if request.HasField("poll_interval_seconds")
                else None
            ),
            allowed_redirect_uris=(
                tuple(request.allowed_redirect_uris.uris)
                if request.HasField("allowed_redirect_uris")
                else None
            ),
        )
        connector = await self._bridge.call(self._accounts.update_connector, connector_id, patch)
        return connector_to_proto(connector)

    @rpc
    async def DeleteConnector(
        self, request: connectors_pb2.DeleteConnectorRequest, context: Any
    ) -> connectors_pb2.DeleteConnectorResponse:
        await self._bridge.call(self._accounts.delete_connector, require_id("id", request.id))
        return connectors_pb2.DeleteConnectorResponse()
