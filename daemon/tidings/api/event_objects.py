"""Events for subscribers: each with its cursor and the changed object as the event's
payload recorded it.

The object comes from the payload written with the change, not from the store now: a
replayed event shows the object as it was after that change, a deleted object's events
still convert, and a batch costs no reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from tidings import domain
from tidings.api.convert import bare_message_id, event_to_proto
from tidings.events import encode_cursor
from tidings.v1 import common_pb2, events_pb2, folders_pb2, grants_pb2, messages_pb2, threads_pb2

__all__ = ["MAX_BATCH_BYTES", "event_batches", "event_from_log"]

# A batch stays well under gRPC's default 4 MB receive limit of clients.
MAX_BATCH_BYTES: Final = 1024 * 1024

E = domain.EventType
_MESSAGE_EVENTS: Final = frozenset(
    {E.MESSAGE_CREATED, E.MESSAGE_UPDATED, E.MESSAGE_SEND_SUCCESS, E.MESSAGE_SEND_FAILED}
)
_FOLDER_EVENTS: Final = frozenset({E.FOLDER_CREATED, E.FOLDER_UPDATED})
_GRANT_EVENTS: Final = frozenset(
    {E.GRANT_CREATED, E.GRANT_UPDATED, E.GRANT_EXPIRED, E.GRANT_IMAP_SYNC_COMPLETED}
)

# As convert.py splits a grant's state into grant_status and sync_state.
_GRANT_STATE: Final = {
    "valid": (grants_pb2.GRANT_STATUS_VALID, grants_pb2.SYNC_STATE_RUNNING),
    "syncing": (grants_pb2.GRANT_STATUS_VALID, grants_pb2.SYNC_STATE_INITIAL_SYNC),
    "invalid": (grants_pb2.GRANT_STATUS_INVALID, grants_pb2.SYNC_STATE_STOPPED),
    "degraded": (grants_pb2.GRANT_STATUS_VALID, grants_pb2.SYNC_STATE_DEGRADED),
}
_SECURITY: Final = {
    "tls": common_pb2.SECURITY_MODE_TLS,
    "starttls": common_pb2.SECURITY_MODE_STARTTLS,
    "plain": common_pb2.SECURITY_MODE_PLAIN,
}
_FOLDER_ROLE: Final = {
    "inbox": folders_pb2.FOLDER_ROLE_INBOX,
    "sent": folders_pb2.FOLDER_ROLE_SENT,
    "drafts": folders_pb2.FOLDER_ROLE_DRAFTS,
    "trash": folders_pb2.FOLDER_ROLE_TRASH,
    "junk": folders_pb2.FOLDER_ROLE_JUNK,
    "archive": folders_pb2.FOLDER_ROLE_ARCHIVE,
    "all": folders_pb2.FOLDER_ROLE_ALL,
    "flagged": folders_pb2.FOLDER_ROLE_FLAGGED,
}


def _str(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def _int(payload: Mapping[str, Any], key: str) -> int:
    value = payload.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _strings(payload: Mapping[str, Any], key: str) -> list[str]:
    value = payload.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _addresses(payload: Mapping[str, Any], key: str) -> list[common_pb2.EmailAddress]:
    value = payload.get(key)
    if not isinstance(value, list):
        return []
    return [common_pb2.EmailAddress(name=_str(a, "name"), email=_str(a, "email"))
            for a in value if isinstance(a, Mapping)]


def message_from_payload(payload: Mapping[str, Any]) -> messages_pb2.Message:
    return messages_pb2.Message(
        id=_str(payload, "id"), grant_id=_str(payload, "grant_id"),
        thread_id=_str(payload, "thread_id"), subject=_str(payload, "subject"),
        from_=_addresses(payload, "from"), to=_addresses(payload, "to"),
        cc=_addresses(payload, "cc"), date=_int(payload, "date"),
        unread=bool(payload.get("unread")), starred=bool(payload.get("starred")),
        snippet=_str(payload, "snippet"), folders=_strings(payload, "folders"),
        message_id_header=bare_message_id(_str(payload, "message_id_header")),
    )


def folder_from_payload(payload: Mapping[str, Any]) -> folders_pb2.Folder:
    path = _str(payload, "name")
    delimiter = _str(payload, "delimiter")
    folder = folders_pb2.Folder(
        id=_str(payload, "id"), grant_id=_str(payload, "grant_id"),
        name=path.rsplit(delimiter, 1)[-1] if delimiter else path, path=path,
        role=_FOLDER_ROLE.get(_str(payload, "role"), folders_pb2.FOLDER_ROLE_UNSPECIFIED),
        attributes=_strings(payload, "attributes"),
    )
    if isinstance(payload.get("parent_id"), str):
        folder.parent_id = payload["parent_id"]
    return folder


def _server(value: Any) -> grants_pb2.ServerSettings:
    if not isinstance(value, Mapping):
        return grants_pb2.ServerSettings()
    return grants_pb2.ServerSettings(
        host=_str(value, "host"), port=_int(value, "port"),
        security=_SECURITY.get(_str(value, "security"), common_pb2.SECURITY_MODE_UNSPECIFIED),
        username=_str(value, "username"),
    )


def grant_from_payload(kind: domain.EventType, payload: Mapping[str, Any]
                       ) -> grants_pb2.Grant:
    grant = grants_pb2.Grant(
        id=_str(payload, "id"), connector_id=_str(payload, "connector_id"),
        provider=common_pb2.PROVIDER_IMAP, provider_type=_str(payload, "provider_type"),
        email=_str(payload, "email"), name=_str(payload, "name"),
        state=_str(payload, "caller_state"),
        allow_plaintext=bool(payload.get("allow_plaintext")),
        sync_window_days=_int(payload, "sync_window_days"),
        sync_state_reason=_str(payload, "reason"),
        created_at=_int(payload, "created_at"), updated_at=_int(payload, "updated_at"),
    )
    if "imap" in payload:
        grant.imap.CopyFrom(_server(payload["imap"]))
        grant.smtp.CopyFrom(_server(payload.get("smtp")))
    state = _str(payload, "state")
    if kind is E.GRANT_IMAP_SYNC_COMPLETED:
        state = "valid"  # the event is the end of the initial sync
        grant.sync_progress.CopyFrom(grants_pb2.SyncProgress(
            folders_done=_int(payload, "folders"), folders_total=_int(payload, "folders"),
            messages_done=_int(payload, "messages"), messages_total=_int(payload, "messages")))
    if state in _GRANT_STATE:
        grant.grant_status, grant.sync_state = _GRANT_STATE[state]
    return grant


def event_from_log(event: domain.Event) -> events_pb2.Event:
    reply = event_to_proto(event, cursor=encode_cursor(event.position))
    payload = event.payload
    if event.type in _MESSAGE_EVENTS:
        reply.message.CopyFrom(message_from_payload(payload))
    elif event.type in _FOLDER_EVENTS:
        reply.folder.CopyFrom(folder_from_payload(payload))
    elif event.type in _GRANT_EVENTS:
        reply.grant.CopyFrom(grant_from_payload(event.type, payload))
    elif event.type is E.THREAD_REPLIED:
        reply.thread.CopyFrom(threads_pb2.Thread(
            id=_str(payload, "thread_id") or (event.object_id or ""),
            grant_id=event.grant_id or ""))
    return reply


def event_batches(events: Sequence[domain.Event], max_bytes: int = MAX_BATCH_BYTES,
                  convert: Callable[[domain.Event], events_pb2.Event] | None = None
                  ) -> Iterator[events_pb2.EventBatch]:
    """The events in log order, in batches of at most about `max_bytes` (a single larger
    event still travels, alone). ``convert`` may be a caching `event_from_log`."""
    batch = events_pb2.EventBatch()
    size = 0
    for event in events:
        converted = (convert or event_from_log)(event)
        grown = converted.ByteSize() + 8  # the field's tag and length
        if batch.events and size + grown > max_bytes:
            batch.cursor = batch.events[-1].cursor
            yield batch
            batch, size = events_pb2.EventBatch(), 0
        batch.events.append(converted)
        size += grown
    if batch.events:
        batch.cursor = batch.events[-1].cursor
        yield batch
