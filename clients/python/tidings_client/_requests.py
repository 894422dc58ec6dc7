"""Request messages built from keyword arguments; shared by `Tidings` and `AsyncTidings`.

An argument left as None is a field left unset: for `optional` proto fields that is
"leave alone" (updates) or "no filter" (lists), which differs from a zero value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tidings.v1 import (
    connectors_pb2,
    drafts_pb2,
    events_pb2,
    folders_pb2,
    grants_pb2,
    messages_pb2,
    threads_pb2,
)
from tidings_client._convert import SECURITY_TO_PROTO
from tidings_client.models import GrantStatus, Security

__all__ = [
    "END_OF_LOG",
    "GrantFields",
    "connector_settings",
    "create_folder_request",
    "create_grant_request",
    "cursor_request",
    "list_drafts_request",
    "list_folders_request",
    "list_grants_request",
    "list_messages_request",
    "list_threads_request",
    "set_fields",
    "subscribe_request",
    "update_connector_request",
    "update_folder_request",
    "update_grant_request",
    "update_message_request",
    "update_thread_request",
]

# GetCursor answers "just before the first event at or after this time"; no event has a
# time this late, so the answer is the end of the log: the cursor of the newest event.
END_OF_LOG: Final = 253_402_300_799  # 9999-12-31T23:59:59Z

_STATUS_TO_PROTO: Final = {
    GrantStatus.VALID: grants_pb2.GRANT_STATUS_VALID,
    GrantStatus.INVALID: grants_pb2.GRANT_STATUS_INVALID,
}


def set_fields(message: Any, fields: Mapping[str, Any]) -> None:
    """Set the fields whose value is not None (so `optional` ones become present)."""
    for name, value in fields.items():
        if value is not None:
            setattr(message, name, value)


def _security(value: Security | str | None) -> int | None:
    return None if value is None else SECURITY_TO_PROTO[Security(value)]


def connector_settings(*, sync_window_days: int | None, strict_message_id: bool | None,
                       poll_interval_seconds: int | None,
                       allowed_redirect_uris: Iterable[str]) -> connectors_pb2.ConnectorSettings:
    settings = connectors_pb2.ConnectorSettings(allowed_redirect_uris=list(allowed_redirect_uris))
    set_fields(settings, {"sync_window_days": sync_window_days,
                          "strict_message_id": strict_message_id,
                          "poll_interval_seconds": poll_interval_seconds})
    return settings


def update_connector_request(connector_id: str, *, name: str | None,
                             sync_window_days: int | None, strict_message_id: bool | None,
                             poll_interval_seconds: int | None,
                             allowed_redirect_uris: Iterable[str] | None
                             ) -> connectors_pb2.UpdateConnectorRequest:
    request = connectors_pb2.UpdateConnectorRequest(id=connector_id)
    set_fields(request, {"name": name, "sync_window_days": sync_window_days,
                         "strict_message_id": strict_message_id,
                         "poll_interval_seconds": poll_interval_seconds})
    if allowed_redirect_uris is not None:
        request.allowed_redirect_uris.CopyFrom(
            connectors_pb2.RedirectUris(uris=list(allowed_redirect_uris)))
    return request


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantFields:
    """The settable fields of a grant, for creation (None: the default) and for updates
    (None: leave alone)."""

    name: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: Security | str | None = None
    imap_username: str | None = None
    imap_password: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Security | str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    allow_plaintext: bool | None = None
    sync_window_days: int | None = None
    state: str | None = None

    def as_proto_fields(self) -> dict[str, Any]:
        return {
            "name": self.name, "imap_host": self.imap_host, "imap_port": self.imap_port,
            "imap_security": _security(self.imap_security),
            "imap_username": self.imap_username, "imap_password": self.imap_password,
            "smtp_host": self.smtp_host, "smtp_port": self.smtp_port,
            "smtp_security": _security(self.smtp_security),
            "smtp_username": self.smtp_username, "smtp_password": self.smtp_password,
            "allow_plaintext": self.allow_plaintext, "sync_window_days": self.sync_window_days,
            "state": self.state,
        }


def create_grant_request(email: str, fields: GrantFields, *, connector_id: str | None,
                         provider_type: str | None) -> grants_pb2.CreateGrantRequest:
    request = grants_pb2.CreateGrantRequest(email=email)
    set_fields(request, {**fields.as_proto_fields(), "connector_id": connector_id,
                         "provider_type": provider_type})
    return request


def update_grant_request(grant_id: str, fields: GrantFields) -> grants_pb2.UpdateGrantRequest:
    request = grants_pb2.UpdateGrantRequest(id=grant_id)
    set_fields(request, fields.as_proto_fields())
    return request


def list_grants_request(*, limit: int, offset: int, email: str | None,
                        grant_status: GrantStatus | str | None, provider_type: str | None,
                        connector_id: str | None) -> grants_pb2.ListGrantsRequest:
    request = grants_pb2.ListGrantsRequest(limit=limit, offset=offset)
    status = None if grant_status is None else _STATUS_TO_PROTO[GrantStatus(grant_status)]
    set_fields(request, {"email": email, "grant_status": status,
                         "provider_type": provider_type, "connector_id": connector_id})
    return request


def cursor_request(time: datetime | float | None) -> events_pb2.GetCursorRequest:
    if time is None:
        seconds = END_OF_LOG
    elif isinstance(time, datetime):
        if time.tzinfo is None:
            raise ValueError("get_cursor needs an aware datetime (with a time zone)")
        seconds = math.floor(time.timestamp())
    else:
        seconds = math.floor(time)
    return events_pb2.GetCursorRequest(time=seconds)


def subscribe_request(cursor: str, grant_ids: Iterable[str] | None,
                      types: Iterable[str] | None) -> events_pb2.SubscribeRequest:
    return events_pb2.SubscribeRequest(cursor=cursor, grant_ids=list(grant_ids or ()),
                                       types=list(types or ()))


def list_messages_request(grant_id: str, *, limit: int, page_token: str,
                          folder_id: str | None, subject: str | None, unread: bool | None,
                          starred: bool | None, thread_id: str | None
                          ) -> messages_pb2.ListMessagesRequest:
    request = messages_pb2.ListMessagesRequest(grant_id=grant_id, limit=limit,
                                               page_token=page_token)
    set_fields(request, {"in_": folder_id, "subject": subject, "unread": unread,
                         "starred": starred, "thread_id": thread_id})
    return request


def list_folders_request(grant_id: str, parent_id: str | None) -> folders_pb2.ListFoldersRequest:
    request = folders_pb2.ListFoldersRequest(grant_id=grant_id)
    set_fields(request, {"parent_id": parent_id})
    return request


def list_threads_request(grant_id: str, *, limit: int, page_token: str,
                         folder_id: str | None, subject: str | None, unread: bool | None,
                         starred: bool | None) -> threads_pb2.ListThreadsRequest:
    request = threads_pb2.ListThreadsRequest(grant_id=grant_id, limit=limit,
                                             page_token=page_token)
    set_fields(request, {"in_": folder_id, "subject": subject, "unread": unread,
                         "starred": starred})
    return request


def _set_change(request: messages_pb2.UpdateMessageRequest | threads_pb2.UpdateThreadRequest,
                unread: bool | None, starred: bool | None,
                folders: str | Sequence[str] | None) -> None:
    set_fields(request, {"unread": unread, "starred": starred})
    if folders is not None:
        # FolderIds is a message of its own so that "exactly these folders" differs
        # from "leave the folders alone" (messages.proto).
        ids = [folders] if isinstance(folders, str) else list(folders)
        request.folders.CopyFrom(messages_pb2.FolderIds(ids=ids))


def update_message_request(grant_id: str, message_id: str, *, unread: bool | None,
                           starred: bool | None, folders: str | Sequence[str] | None
                           ) -> messages_pb2.UpdateMessageRequest:
    request = messages_pb2.UpdateMessageRequest(grant_id=grant_id, id=message_id)
    _set_change(request, unread, starred, folders)
    return request


def update_thread_request(grant_id: str, thread_id: str, *, unread: bool | None,
                          starred: bool | None, folders: str | Sequence[str] | None
                          ) -> threads_pb2.UpdateThreadRequest:
    request = threads_pb2.UpdateThreadRequest(grant_id=grant_id, id=thread_id)
    _set_change(request, unread, starred, folders)
    return request


def create_folder_request(grant_id: str, name: str,
                          parent_id: str | None) -> folders_pb2.CreateFolderRequest:
    request = folders_pb2.CreateFolderRequest(grant_id=grant_id, name=name)
    set_fields(request, {"parent_id": parent_id or None})
    return request


def update_folder_request(grant_id: str, folder_id: str, *, name: str | None,
                          parent_id: str | None) -> folders_pb2.UpdateFolderRequest:
    """``parent_id`` None leaves the parent alone; "" moves the folder to the top level
    (the empty string is set, which folders.proto reads as "no parent")."""
    request = folders_pb2.UpdateFolderRequest(grant_id=grant_id, id=folder_id)
    set_fields(request, {"name": name, "parent_id": parent_id})
    return request


def list_drafts_request(grant_id: str, *, limit: int, page_token: str,
                        thread_id: str | None) -> drafts_pb2.ListDraftsRequest:
    request = drafts_pb2.ListDraftsRequest(grant_id=grant_id, limit=limit,
                                           page_token=page_token)
    set_fields(request, {"thread_id": thread_id})
    return request
