"""The services the daemon serves, as `ServiceBinding`s for `serve_grpc`.

A new service is one more binding in `build_services`, made from what `ApiDeps` holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tidings.api.bridge import TrioBridge
from tidings.api.connectors import ConnectorServicer
from tidings.api.events_service import EventFeed, EventServicer
from tidings.api.grants import GrantServicer, HostedAuth
from tidings.api.server import ServiceBinding
from tidings.events import EventHub
from tidings.service import AccountService
from tidings.store import Store
from tidings.v1 import connectors_pb2_grpc, events_pb2_grpc, grants_pb2_grpc

__all__ = ["ApiDeps", "build_services"]


@dataclass(frozen=True, slots=True)
class ApiDeps:
    """What the servicers work with; all of it lives in trio."""

    store: Store
    hub: EventHub
    accounts: AccountService
    hosted: HostedAuth | None = None
    # Told the number of open event streams whenever it changes (for /metrics).
    on_subscribers: Callable[[int], None] | None = None


def build_services(deps: ApiDeps) -> list[ServiceBinding]:
    feed = EventFeed(deps.store, deps.hub, on_subscribers=deps.on_subscribers)

    def connectors(server: Any, bridge: TrioBridge) -> None:
        connectors_pb2_grpc.add_ConnectorServiceServicer_to_server(
            ConnectorServicer(bridge, deps.accounts), server)

    def grants(server: Any, bridge: TrioBridge) -> None:
        grants_pb2_grpc.add_GrantServiceServicer_to_server(
            GrantServicer(bridge, deps.accounts, deps.hosted), server)

    def events(server: Any, bridge: TrioBridge) -> None:
        events_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(bridge, feed), server)

    return [
        ServiceBinding("tidings.v1.ConnectorService", connectors),
        ServiceBinding("tidings.v1.GrantService", grants),
        ServiceBinding("tidings.v1.EventService", events),
    ]
