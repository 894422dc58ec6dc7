"""Domain values ↔ tidings.v1 protobuf messages.

Protobuf stays inside the API layer: servicers convert at the boundary with
these functions and hand plain domain values to the layers below. Times are
floats of Unix seconds in the domain and int64 seconds on the wire.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any, Final

from google.protobuf import field_mask_pb2

from tidings import domain, mime
from tidings.api.errors import InvalidArgument
from tidings.v1 import (
    attachments_pb2,
    common_pb2,
    connectors_pb2,
    events_pb2,
    folders_pb2,
    grants_pb2,
    messages_pb2,
    threads_pb2,
)

__all__ = [
    "add_addresses",
    "attachment_to_proto",
    "body_as_html",
    "connector_settings_from_proto",
    "connector_to_proto",
    "email_address_from_proto",
    "email_address_to_proto",
    "event_to_proto",
    "folder_to_proto",
    "grant_to_proto",
    "listed_message_to_proto",
    "message_to_proto",
    "security_from_proto",
    "security_to_proto",
    "select_fields",
    "thread_to_proto",
    "unix_seconds",
]

_SECURITY_TO_PROTO: Final = {
    domain.Security.TLS: common_pb2.SECURITY_MODE_TLS,
    domain.Security.STARTTLS: common_pb2.SECURITY_MODE_STARTTLS,
    domain.Security.PLAIN: common_pb2.SECURITY_MODE_PLAIN,
}
_SECURITY_FROM_PROTO: Final = {value: key for key, value in _SECURITY_TO_PROTO.items()}

# The domain has one grant state; the API splits it the way Nylas does into
# whether the credentials work (grant_status) and what the sync is doing.
_GRANT_STATE_TO_PROTO: Final = {
    domain.GrantState.VALID: (grants_pb2.GRANT_STATUS_VALID, grants_pb2.SYNC_STATE_RUNNING),
    domain.GrantState.SYNCING: (
        grants_pb2.GRANT_STATUS_VALID,
        grants_pb2.SYNC_STATE_INITIAL_SYNC,
    ),
    domain.GrantState.INVALID: (grants_pb2.GRANT_STATUS_INVALID, grants_pb2.SYNC_STATE_STOPPED),
    domain.GrantState.DEGRADED: (grants_pb2.GRANT_STATUS_VALID, grants_pb2.SYNC_STATE_DEGRADED),
}

_FOLDER_ROLE_TO_PROTO: Final = {
    domain.FolderRole.INBOX: folders_pb2.FOLDER_ROLE_INBOX,
    domain.FolderRole.SENT: folders_pb2.FOLDER_ROLE_SENT,
    domain.FolderRole.DRAFTS: folders_pb2.FOLDER_ROLE_DRAFTS,
    domain.FolderRole.TRASH: folders_pb2.FOLDER_ROLE_TRASH,
    domain.FolderRole.JUNK: folders_pb2.FOLDER_ROLE_JUNK,
    domain.FolderRole.ARCHIVE: folders_pb2.FOLDER_ROLE_ARCHIVE,
    domain.FolderRole.ALL: folders_pb2.FOLDER_ROLE_ALL,
    domain.FolderRole.FLAGGED: folders_pb2.FOLDER_ROLE_FLAGGED,
    domain.FolderRole.NONE: folders_pb2.FOLDER_ROLE_UNSPECIFIED,
}


def unix_seconds(value: float) -> int:
    """Whole Unix seconds (rounded down) for a domain timestamp."""
    return math.floor(value)


def security_to_proto(security: domain.Security) -> common_pb2.SecurityMode.ValueType:
    return _SECURITY_TO_PROTO[security]


def security_from_proto(
    value: common_pb2.SecurityMode.ValueType, field: str
) -> domain.Security | None:
    """The security mode asked for, or None for "use the preset"."""
    if value == common_pb2.SECURITY_MODE_UNSPECIFIED:
        return None
    try:
        return _SECURITY_FROM_PROTO[value]
    except KeyError:
        raise InvalidArgument(field, f"unknown security mode {value}") from None


def email_address_to_proto(address: domain.EmailAddress) -> common_pb2.EmailAddress:
    return common_pb2.EmailAddress(name=address.name or "", email=address.email)


def email_address_from_proto(address: common_pb2.EmailAddress) -> domain.EmailAddress:
    return domain.EmailAddress(name=address.name or None, email=address.email)


def connector_to_proto(connector: domain.Connector) -> connectors_pb2.Connector:
    settings = connector.settings
    proto_settings = connectors_pb2.ConnectorSettings(
        sync_window_days=settings.sync_window_days,
        strict_message_id=settings.strict_message_id,
        allowed_redirect_uris=settings.allowed_redirect_uris,
    )
    if settings.poll_interval is not None:  # unset: the daemon's own interval
        proto_settings.poll_interval_seconds = math.ceil(settings.poll_interval)
    return connectors_pb2.Connector(
        id=connector.id,
        name=connector.name,
        provider=common_pb2.PROVIDER_IMAP,
        settings=proto_settings,
        created_at=unix_seconds(connector.created_at),
        updated_at=unix_seconds(connector.updated_at),
    )


def connector_settings_from_proto(
    message: connectors_pb2.ConnectorSettings,
    base: domain.ConnectorSettings | None = None,
) -> domain.ConnectorSettings:
    """Settings from a request: fields that are set replace those of `base`."""
    base = base or domain.ConnectorSettings()
    window = base.sync_window_days
    if message.HasField("sync_window_days"):
        if message.sync_window_days < 1:
            raise InvalidArgument("settings.sync_window_days", "must be at least 1")
        window = message.sync_window_days
    interval = base.poll_interval
    if message.HasField("poll_interval_seconds"):
        if message.poll_interval_seconds < 1:
            raise InvalidArgument("settings.poll_interval_seconds", "must be at least 1")
        interval = float(message.poll_interval_seconds)
    strict = (
        message.strict_message_id
        if message.HasField("strict_message_id")
        else base.strict_message_id
    )
    uris = tuple(message.allowed_redirect_uris) or base.allowed_redirect_uris
    return domain.ConnectorSettings(
        sync_window_days=window,
        strict_message_id=strict,
        poll_interval=interval,
        allowed_redirect_uris=uris,
    )


def _server_settings(endpoint: domain.Endpoint, username: str) -> grants_pb2.ServerSettings:
    return grants_pb2.ServerSettings(
        host=endpoint.host,
        port=endpoint.port,
        security=security_to_proto(endpoint.security),
        username=username,
    )


def grant_to_proto(grant: domain.Grant) -> grants_pb2.Grant:
    """A grant for a reply; the domain Grant holds no password, so none can leak."""
    status, sync_state = _GRANT_STATE_TO_PROTO[grant.state]
    progress = grant.progress
    return grants_pb2.Grant(
        id=grant.id,
        connector_id=grant.connector_id,
        provider=common_pb2.PROVIDER_IMAP,
        provider_type=grant.provider_type,
        email=grant.email,
        name=grant.name,
        grant_status=status,
        state=grant.caller_state or "",
        imap=_server_settings(grant.imap, grant.imap_username),
        smtp=_server_settings(grant.smtp, grant.smtp_username),
        allow_plaintext=grant.allow_plaintext,
        sync_window_days=grant.sync_window_days,
        sync_state=sync_state,
        sync_state_reason=grant.state_reason or "",
        sync_progress=grants_pb2.SyncProgress(
            folders_done=progress.folders_done,
            folders_total=progress.folders_total,
            messages_done=progress.messages_done,
            messages_total=progress.messages_total,
        ),
        created_at=unix_seconds(grant.created_at),
        updated_at=unix_seconds(grant.updated_at),
    )


def folder_to_proto(folder: domain.Folder, *, child_count: int = 0) -> folders_pb2.Folder:
    """A folder; `child_count` comes from the caller, who sees the other folders."""
    leaf = folder.name.rsplit(folder.delimiter, 1)[-1] if folder.delimiter else folder.name
    reply = folders_pb2.Folder(
        id=folder.id,
        grant_id=folder.grant_id,
        name=leaf,
        role=_FOLDER_ROLE_TO_PROTO[folder.role],
        attributes=folder.attributes,
        total_count=folder.total_count,
        unread_count=folder.unread_count,
        child_count=child_count,
        path=folder.name,
    )
    if folder.parent_id is not None:
        reply.parent_id = folder.parent_id
    return reply


def attachment_to_proto(attachment: domain.Attachment, grant_id: str) -> attachments_pb2.Attachment:
    return attachments_pb2.Attachment(
        id=attachment.id,
        grant_id=grant_id,
        message_id=attachment.message_id,
        filename=attachment.filename or "",
        content_type=attachment.content_type,
        size=attachment.size,
        content_id=attachment.content_id or "",
        content_disposition=attachment.disposition or "",
        is_inline=attachment.is_inline,
    )


def bare_message_id(value: str) -> str:
    """A Message-ID as the API gives it: without its angle brackets (RFC 5322 §3.6.4
    msg-id = "<" id-left "@" id-right ">")."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1]
    return value


def body_as_html(message: domain.Message) -> str:
    """The body as HTML: the HTML part, else the text part escaped with its line breaks."""
    if message.html_body is not None:
        return message.html_body
    if message.text_body is None:
        return ""
    return mime.text_to_html(message.text_body)


_ADDRESS_FIELDS: Final = ("from_", "to", "cc", "bcc", "reply_to")


def add_addresses(target: Any, message: domain.Message) -> None:
    """Fill the address fields of a Message or Draft from the message's.

    Each address is built in place (``add``): one built apart and then appended is
    copied into the field, which made this three times slower on a page of 50."""
    for name in _ADDRESS_FIELDS:
        addresses: tuple[domain.EmailAddress, ...] = getattr(message, name)
        if addresses:
            field = getattr(target, name)
            for address in addresses:
                field.add(name=address.name or "", email=address.email)


def message_to_proto(
    message: domain.Message,
    *,
    include_headers: bool = False,
    raw_mime: bytes | None = None,
) -> messages_pb2.Message:
    reply = messages_pb2.Message(
        id=message.id,
        grant_id=message.grant_id,
        thread_id=message.thread_id,
        subject=message.subject,
        date=message.date,
        unread=message.unread,
        starred=message.starred,
        snippet=message.snippet,
        body=body_as_html(message),
        folders=message.folder_ids,
        attachments=[attachment_to_proto(a, message.grant_id) for a in message.attachments],
        synthetic_id=message.synthetic_id,
        message_id_header=bare_message_id(message.message_id_header),
        decoding_warnings=message.warnings,
    )
    add_addresses(reply, message)
    if include_headers:
        reply.headers.extend(common_pb2.Header(name=n, value=v) for n, v in message.headers)
    if raw_mime is not None:
        reply.raw_mime = raw_mime
    return reply


def select_fields(
    message: messages_pb2.Message, select: field_mask_pb2.FieldMask
) -> messages_pb2.Message:
    """Trim a Message to the fields of a `select` mask (the id always stays).

    An empty mask keeps everything. Paths must be Message field names.
    """
    if not select.paths:
        return message
    descriptor = messages_pb2.Message.DESCRIPTOR
    unknown = [path for path in select.paths if path not in descriptor.fields_by_name]
    if unknown:
        raise InvalidArgument("select", f"unknown Message fields: {', '.join(sorted(unknown))}")
    trimmed = messages_pb2.Message(id=message.id)
    field_mask_pb2.FieldMask(paths=select.paths).MergeMessage(message, trimmed)
    return trimmed


_MESSAGE_FIELDS: Final = frozenset(messages_pb2.Message.DESCRIPTOR.fields_by_name)


def listed_message_to_proto(
    message: domain.Message, select: Collection[str]
) -> messages_pb2.Message:
    """A Message of a list reply: the fields of a `select` mask (the id always stays),
    or, without one, every field but headers and raw_mime.

    The listing reads bodies and header fields only when asked (`MessageQuery.bodies`,
    `.headers`), so unselected ones are empty here already; the rest are cleared in
    place, which costs far less than merging through a FieldMask.
    """
    reply = message_to_proto(message, include_headers="headers" in select)
    if select:
        # Typed: ClearField takes literal names; these come from the descriptor itself.
        clearable: Any = reply
        for name in _MESSAGE_FIELDS.difference(select, ("id",)):
            clearable.ClearField(name)
    return reply


def thread_to_proto(
    thread: domain.Thread,
    *,
    latest_message: domain.Message | None = None,
    latest_sent_date: int | None = None,
) -> threads_pb2.Thread:
    """A thread; the caller adds the latest message and the latest date in
    Sent when it has them at hand."""
    reply = threads_pb2.Thread(
        id=thread.id,
        grant_id=thread.grant_id,
        subject=thread.subject,
        snippet=thread.snippet,
        participants=[email_address_to_proto(a) for a in thread.participants],
        message_ids=thread.message_ids,
        folders=thread.folder_ids,
        has_attachments=thread.has_attachments,
        unread=thread.unread,
        starred=thread.starred,
        earliest_message_date=thread.earliest_message_date,
        latest_message_received_date=thread.latest_message_date,
    )
    if latest_sent_date is not None:
        reply.latest_message_sent_date = latest_sent_date
    if latest_message is not None:
        reply.latest_message.CopyFrom(message_to_proto(latest_message))
    return reply


EventObject = domain.Message | domain.Folder | domain.Grant | domain.Thread


def event_to_proto(
    event: domain.Event,
    *,
    cursor: str,
    changed: EventObject | None = None,
    truncated: bool = False,
) -> events_pb2.Event:
    """An event for a subscriber.

    `cursor` is the events layer's opaque encoding of the event's log position;
    `changed` is the object after the change (None for deletions). A
    truncated message event carries the message without its body.
    """
    reply = events_pb2.Event(
        cursor=cursor,
        id=event.id,
        type=str(event.type),
        grant_id=event.grant_id or "",
        object_id=event.object_id or "",
        created_at=unix_seconds(event.created_at),
        truncated=truncated,
    )
    match changed:
        case None:
            pass
        case domain.Message():
            reply.message.CopyFrom(message_to_proto(changed))
            if truncated:
                reply.message.ClearField("body")
        case domain.Folder():
            reply.folder.CopyFrom(folder_to_proto(changed))
        case domain.Grant():
            reply.grant.CopyFrom(grant_to_proto(changed))
        case domain.Thread():
            reply.thread.CopyFrom(thread_to_proto(changed))
    return reply
