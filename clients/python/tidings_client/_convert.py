"""tidings.v1 protobuf messages → the client's values (`models`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from tidings.v1 import (
    attachments_pb2,
    common_pb2,
    connectors_pb2,
    drafts_pb2,
    events_pb2,
    folders_pb2,
    grants_pb2,
    messages_pb2,
    send_pb2,
    threads_pb2,
)
from tidings_client.models import (
    Attachment,
    Connector,
    ConnectorSettings,
    Draft,
    DraftPage,
    EmailAddress,
    Event,
    EventObject,
    Folder,
    FolderRole,
    Grant,
    GrantPage,
    GrantStatus,
    Message,
    MessagePage,
    Security,
    SentMessage,
    ServerSettings,
    SyncProgress,
    SyncState,
    Thread,
    ThreadPage,
)

__all__ = [
    "SECURITY_TO_PROTO",
    "attachment_from_proto",
    "connector_from_proto",
    "draft_from_proto",
    "draft_page_from_proto",
    "event_from_proto",
    "folder_from_proto",
    "grant_from_proto",
    "grant_page_from_proto",
    "ignore_reply",
    "message_from_proto",
    "message_page_from_proto",
    "sent_message_from_proto",
    "thread_from_proto",
    "thread_page_from_proto",
    "timestamp",
]

SECURITY_TO_PROTO: Final = {
    Security.TLS: common_pb2.SECURITY_MODE_TLS,
    Security.STARTTLS: common_pb2.SECURITY_MODE_STARTTLS,
    Security.PLAIN: common_pb2.SECURITY_MODE_PLAIN,
}
_SECURITY_FROM_PROTO: Final = {value: key for key, value in SECURITY_TO_PROTO.items()}
_PROVIDERS: Final = {common_pb2.PROVIDER_IMAP: "imap"}
_GRANT_STATUS: Final = {
    grants_pb2.GRANT_STATUS_VALID: GrantStatus.VALID,
    grants_pb2.GRANT_STATUS_INVALID: GrantStatus.INVALID,
}
_SYNC_STATE: Final = {
    grants_pb2.SYNC_STATE_PENDING: SyncState.PENDING,
    grants_pb2.SYNC_STATE_INITIAL_SYNC: SyncState.INITIAL_SYNC,
    grants_pb2.SYNC_STATE_RUNNING: SyncState.RUNNING,
    grants_pb2.SYNC_STATE_DEGRADED: SyncState.DEGRADED,
    grants_pb2.SYNC_STATE_BACKOFF: SyncState.BACKOFF,
    grants_pb2.SYNC_STATE_STOPPED: SyncState.STOPPED,
}
_FOLDER_ROLE: Final = {
    folders_pb2.FOLDER_ROLE_INBOX: FolderRole.INBOX,
    folders_pb2.FOLDER_ROLE_SENT: FolderRole.SENT,
    folders_pb2.FOLDER_ROLE_DRAFTS: FolderRole.DRAFTS,
    folders_pb2.FOLDER_ROLE_TRASH: FolderRole.TRASH,
    folders_pb2.FOLDER_ROLE_JUNK: FolderRole.JUNK,
    folders_pb2.FOLDER_ROLE_ARCHIVE: FolderRole.ARCHIVE,
    folders_pb2.FOLDER_ROLE_ALL: FolderRole.ALL,
    folders_pb2.FOLDER_ROLE_FLAGGED: FolderRole.FLAGGED,
    folders_pb2.FOLDER_ROLE_IMPORTANT: FolderRole.IMPORTANT,
}


def timestamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def connector_from_proto(message: connectors_pb2.Connector) -> Connector:
    settings = message.settings
    return Connector(
        id=message.id,
        name=message.name,
        provider=_PROVIDERS.get(message.provider, "unspecified"),
        settings=ConnectorSettings(
            sync_window_days=settings.sync_window_days,
            strict_message_id=settings.strict_message_id,
            poll_interval_seconds=settings.poll_interval_seconds,
            allowed_redirect_uris=tuple(settings.allowed_redirect_uris),
        ),
        created_at=timestamp(message.created_at),
        updated_at=timestamp(message.updated_at),
    )


def _server(message: grants_pb2.ServerSettings) -> ServerSettings:
    return ServerSettings(
        host=message.host,
        port=message.port,
        security=_SECURITY_FROM_PROTO.get(message.security),
        username=message.username,
    )


def grant_from_proto(message: grants_pb2.Grant) -> Grant:
    progress = message.sync_progress
    return Grant(
        id=message.id,
        connector_id=message.connector_id,
        provider=_PROVIDERS.get(message.provider, "unspecified"),
        provider_type=message.provider_type,
        email=message.email,
        name=message.name,
        grant_status=_GRANT_STATUS.get(message.grant_status, GrantStatus.UNSPECIFIED),
        state=message.state,
        imap=_server(message.imap),
        smtp=_server(message.smtp),
        allow_plaintext=message.allow_plaintext,
        sync_window_days=message.sync_window_days,
        sync_state=_SYNC_STATE.get(message.sync_state, SyncState.UNSPECIFIED),
        sync_state_reason=message.sync_state_reason,
        sync_progress=SyncProgress(
            folders_done=progress.folders_done,
            folders_total=progress.folders_total,
            messages_done=progress.messages_done,
            messages_total=progress.messages_total,
        ),
        created_at=timestamp(message.created_at),
        updated_at=timestamp(message.updated_at),
    )


def _addresses(entries: Iterable[common_pb2.EmailAddress]) -> tuple[EmailAddress, ...]:
    return tuple(EmailAddress(email=a.email, name=a.name) for a in entries)


def attachment_from_proto(message: attachments_pb2.Attachment) -> Attachment:
    return Attachment(
        id=message.id,
        grant_id=message.grant_id,
        message_id=message.message_id,
        filename=message.filename,
        content_type=message.content_type,
        size=message.size,
        content_id=message.content_id,
        content_disposition=message.content_disposition,
        is_inline=message.is_inline,
    )


def message_from_proto(message: messages_pb2.Message) -> Message:
    return Message(
        id=message.id,
        grant_id=message.grant_id,
        thread_id=message.thread_id,
        subject=message.subject,
        from_=_addresses(message.from_),
        to=_addresses(message.to),
        cc=_addresses(message.cc),
        bcc=_addresses(message.bcc),
        reply_to=_addresses(message.reply_to),
        date=timestamp(message.date),
        unread=message.unread,
        starred=message.starred,
        snippet=message.snippet,
        body=message.body,
        folders=tuple(message.folders),
        attachments=tuple(attachment_from_proto(a) for a in message.attachments),
        synthetic_id=message.synthetic_id,
        message_id_header=message.message_id_header,
        decoding_warnings=tuple(message.decoding_warnings),
        headers=tuple((h.name, h.value) for h in message.headers),
        raw_mime=message.raw_mime if message.HasField("raw_mime") else None,
    )


def draft_from_proto(message: drafts_pb2.Draft) -> Draft:
    return Draft(
        id=message.id,
        grant_id=message.grant_id,
        thread_id=message.thread_id,
        subject=message.subject,
        from_=_addresses(message.from_),
        to=_addresses(message.to),
        cc=_addresses(message.cc),
        bcc=_addresses(message.bcc),
        reply_to=_addresses(message.reply_to),
        date=timestamp(message.date),
        body=message.body,
        is_plaintext=message.is_plaintext,
        snippet=message.snippet,
        attachments=tuple(attachment_from_proto(a) for a in message.attachments),
        reply_to_message_id=message.reply_to_message_id,
        custom_headers=tuple((h.name, h.value) for h in message.custom_headers),
        folders=tuple(message.folders),
        starred=message.starred,
    )


def folder_from_proto(message: folders_pb2.Folder) -> Folder:
    return Folder(
        id=message.id,
        grant_id=message.grant_id,
        name=message.name,
        path=message.path,
        parent_id=message.parent_id if message.HasField("parent_id") else None,
        role=_FOLDER_ROLE.get(message.role, FolderRole.NONE),
        attributes=tuple(message.attributes),
        total_count=message.total_count,
        unread_count=message.unread_count,
        child_count=message.child_count,
    )


def thread_from_proto(message: threads_pb2.Thread) -> Thread:
    return Thread(
        id=message.id,
        grant_id=message.grant_id,
        subject=message.subject,
        snippet=message.snippet,
        participants=_addresses(message.participants),
        message_ids=tuple(message.message_ids),
        draft_ids=tuple(message.draft_ids),
        folders=tuple(message.folders),
        has_attachments=message.has_attachments,
        has_drafts=message.has_drafts,
        unread=message.unread,
        starred=message.starred,
        earliest_message_date=timestamp(message.earliest_message_date),
        latest_message_received_date=(
            timestamp(message.latest_message_received_date)
            if message.HasField("latest_message_received_date") else None
        ),
        latest_message_sent_date=(
            timestamp(message.latest_message_sent_date)
            if message.HasField("latest_message_sent_date") else None
        ),
        latest_message=(
            message_from_proto(message.latest_message)
            if message.HasField("latest_message") else None
        ),
        latest_draft=(
            draft_from_proto(message.latest_draft)
            if message.HasField("latest_draft") else None
        ),
    )


def _event_object(message: events_pb2.Event) -> EventObject | None:
    match message.WhichOneof("object"):
        case "message":
            return message_from_proto(message.message)
        case "folder":
            return folder_from_proto(message.folder)
        case "grant":
            return grant_from_proto(message.grant)
        case "thread":
            return thread_from_proto(message.thread)
        case _:
            # Unset (deletions), or a kind newer than this client: only the ids then.
            return None


def event_from_proto(message: events_pb2.Event) -> Event:
    return Event(
        cursor=message.cursor,
        id=message.id,
        type=message.type,
        grant_id=message.grant_id,
        object_id=message.object_id,
        created_at=timestamp(message.created_at),
        object=_event_object(message),
        truncated=message.truncated,
    )


def grant_page_from_proto(reply: grants_pb2.ListGrantsResponse) -> GrantPage:
    return GrantPage(grants=tuple(grant_from_proto(g) for g in reply.grants), total=reply.total)


def message_page_from_proto(reply: messages_pb2.ListMessagesResponse) -> MessagePage:
    return MessagePage(messages=tuple(message_from_proto(m) for m in reply.messages),
                       next_cursor=reply.next_cursor)


def thread_page_from_proto(reply: threads_pb2.ListThreadsResponse) -> ThreadPage:
    return ThreadPage(threads=tuple(thread_from_proto(t) for t in reply.threads),
                      next_cursor=reply.next_cursor)


def draft_page_from_proto(reply: drafts_pb2.ListDraftsResponse) -> DraftPage:
    return DraftPage(drafts=tuple(draft_from_proto(d) for d in reply.drafts),
                     next_cursor=reply.next_cursor)


def sent_message_from_proto(reply: send_pb2.SendMessageResponse) -> SentMessage:
    return SentMessage(message=message_from_proto(reply.message),
                       idempotent_replay=reply.idempotent_replay)


def ignore_reply(_reply: object) -> None:
    """For calls whose reply is empty."""
