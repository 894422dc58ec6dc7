"""The services the daemon serves, as `ServiceBinding`s for `serve_grpc`.

A new service is one more binding in `build_services`, made from what `ApiDeps` holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tidings.api.attachments import AttachmentServicer
from tidings.api.attachments import add_to_server as add_attachment_service
from tidings.api.bridge import TrioBridge
from tidings.api.connectors import ConnectorServicer
from tidings.api.drafts import DraftServicer
from tidings.api.events_service import EventFeed, EventServicer
from tidings.api.folders import FolderServicer
from tidings.api.grants import GrantServicer, HostedAuth
from tidings.api.messages import MessageServicer
from tidings.api.send import SendServicer
from tidings.api.server import ServiceBinding
from tidings.api.threads import ThreadServicer
from tidings.events import EventHub, RecentEvents
from tidings.service import AccountService
from tidings.service.attachments import AttachmentReader
from tidings.service.drafts import Drafts
from tidings.service.folder_write import FolderWriter
from tidings.service.mail_read import LinkSource, MailReader
from tidings.service.mail_write import MailWriter
from tidings.service.send import Sender
from tidings.service.verify import SslContextFactory
from tidings.store import Store
from tidings.v1 import (
    connectors_pb2_grpc,
    drafts_pb2_grpc,
    events_pb2_grpc,
    folders_pb2_grpc,
    grants_pb2_grpc,
    messages_pb2_grpc,
    send_pb2_grpc,
    threads_pb2_grpc,
)

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
    # Connections to the mail servers for API calls (the sync supervisor); when unset,
    # the supervisor the accounts service controls, if it offers them.
    links: LinkSource | None = None
    # The shared head of the log (read once for every subscriber following live).
    recent: RecentEvents | None = None
    # TLS for sending (None: the system's trusted certificates), and the SMTP deadline.
    smtp_tls: SslContextFactory = lambda: None
    smtp_timeout: float = 30.0


def _links(deps: ApiDeps) -> LinkSource | None:
    if deps.links is not None:
        return deps.links
    sync = deps.accounts.sync
    return sync if isinstance(sync, LinkSource) else None


def build_services(deps: ApiDeps) -> list[ServiceBinding]:
    feed = EventFeed(deps.store, deps.hub, on_subscribers=deps.on_subscribers,
                     recent=deps.recent)
    mail = MailReader(deps.store, _links(deps))
    attachments = AttachmentReader(mail)
    writer = MailWriter(mail)
    sender = Sender(writer, deps.smtp_tls, timeout=deps.smtp_timeout)

    def connectors(server: Any, bridge: TrioBridge) -> None:
        connectors_pb2_grpc.add_ConnectorServiceServicer_to_server(
            ConnectorServicer(bridge, deps.accounts), server)

    def grants(server: Any, bridge: TrioBridge) -> None:
        grants_pb2_grpc.add_GrantServiceServicer_to_server(
            GrantServicer(bridge, deps.accounts, deps.hosted), server)

    def events(server: Any, bridge: TrioBridge) -> None:
        events_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(bridge, feed), server)

    def messages(server: Any, bridge: TrioBridge) -> None:
        messages_pb2_grpc.add_MessageServiceServicer_to_server(
            MessageServicer(bridge, mail, writer), server)

    def threads(server: Any, bridge: TrioBridge) -> None:
        threads_pb2_grpc.add_ThreadServiceServicer_to_server(
            ThreadServicer(bridge, mail, writer), server)

    def folders(server: Any, bridge: TrioBridge) -> None:
        folders_pb2_grpc.add_FolderServiceServicer_to_server(
            FolderServicer(bridge, mail, FolderWriter(mail)), server)

    def drafts(server: Any, bridge: TrioBridge) -> None:
        drafts_pb2_grpc.add_DraftServiceServicer_to_server(
            DraftServicer(bridge, Drafts(sender)), server)

    def send(server: Any, bridge: TrioBridge) -> None:
        send_pb2_grpc.add_SendServiceServicer_to_server(SendServicer(bridge, sender), server)

    def attachment_service(server: Any, bridge: TrioBridge) -> None:
        add_attachment_service(AttachmentServicer(bridge, attachments), server)

    return [
        ServiceBinding("tidings.v1.ConnectorService", connectors),
        ServiceBinding("tidings.v1.GrantService", grants),
        ServiceBinding("tidings.v1.EventService", events),
        ServiceBinding("tidings.v1.MessageService", messages),
        ServiceBinding("tidings.v1.ThreadService", threads),
        ServiceBinding("tidings.v1.FolderService", folders),
        ServiceBinding("tidings.v1.AttachmentService", attachment_service),
        ServiceBinding("tidings.v1.DraftService", drafts),
        ServiceBinding("tidings.v1.SendService", send),
    ]
