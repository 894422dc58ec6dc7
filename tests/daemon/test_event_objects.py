"""Log events to protobuf: the object from the payload written with the change, and
batches bounded in size."""

from __future__ import annotations

from typing import Any

from tidings.api.event_objects import event_batches, event_from_log
from tidings.domain import Event, EventType
from tidings.events import decode_cursor
from tidings.v1 import common_pb2, folders_pb2, grants_pb2


def _event(position: int, kind: EventType, payload: dict[str, Any],
           object_id: str = "o1") -> Event:
    return Event(position=position, id=f"e{position}", grant_id="g1", type=kind,
                 object_id=object_id, payload=payload, created_at=1700000000.5)


def test_message_event_carries_the_message_as_recorded() -> None:
    payload = {"id": "m1", "grant_id": "g1", "thread_id": "t1", "subject": "Hi",
               "from": [{"name": "Ann", "email": "ann@example.org"}], "to": [],
               "date": 1699999999, "unread": True, "starred": False, "folders": ["f1"],
               "snippet": "hello", "has_attachments": False}
    converted = event_from_log(_event(7, EventType.MESSAGE_CREATED, payload, "m1"))
    assert decode_cursor(converted.cursor) == 7
    assert converted.type == "message.created"
    assert converted.created_at == 1700000000
    assert converted.WhichOneof("object") == "message"
    assert converted.message.from_[0].email == "ann@example.org"
    assert converted.message.unread
    assert list(converted.message.folders) == ["f1"]


def test_deleted_events_carry_no_object_and_other_kinds_theirs() -> None:
    deleted = event_from_log(_event(1, EventType.MESSAGE_DELETED, {"id": "m1"}, "m1"))
    assert deleted.WhichOneof("object") is None
    assert deleted.object_id == "m1"
    folder = event_from_log(_event(2, EventType.FOLDER_CREATED, {
        "id": "f1", "grant_id": "g1", "name": "Archive/2024", "role": "archive",
        "attributes": ["\\Archive"], "parent_id": "f0"}))
    assert folder.folder.role == folders_pb2.FOLDER_ROLE_ARCHIVE
    assert folder.folder.path == "Archive/2024"
    assert folder.folder.parent_id == "f0"
    expired = event_from_log(_event(3, EventType.GRANT_EXPIRED, {
        "id": "g1", "email": "a@b.c", "state": "invalid", "reason": "refused"}))
    assert expired.grant.grant_status == grants_pb2.GRANT_STATUS_INVALID
    assert expired.grant.sync_state_reason == "refused"
    created = event_from_log(_event(4, EventType.GRANT_CREATED, {
        "id": "g1", "email": "a@b.c", "state": "syncing",
        "imap": {"host": "imap.b.c", "port": 993, "security": "tls", "username": "a"},
        "smtp": {"host": "smtp.b.c", "port": 587, "security": "starttls", "username": "a"}}))
    assert created.grant.smtp.security == common_pb2.SECURITY_MODE_STARTTLS
    assert created.grant.sync_state == grants_pb2.SYNC_STATE_INITIAL_SYNC
    done = event_from_log(_event(5, EventType.GRANT_IMAP_SYNC_COMPLETED,
                                 {"id": "g1", "folders": 6, "messages": 40}))
    assert done.grant.sync_progress.messages_total == 40
    assert done.grant.sync_state == grants_pb2.SYNC_STATE_RUNNING
    replied = event_from_log(_event(6, EventType.THREAD_REPLIED,
                                    {"thread_id": "t1", "message_id": "m2"}, "t1"))
    assert replied.thread.id == "t1"


def test_batches_are_bounded_and_keep_order() -> None:
    events = [_event(i, EventType.MESSAGE_UPDATED, {"id": f"m{i}", "snippet": "x" * 1000})
              for i in range(1, 51)]
    batches = list(event_batches(events, max_bytes=10_000))
    assert len(batches) > 1
    assert all(b.ByteSize() < 12_000 for b in batches)
    flat = [e.id for b in batches for e in b.events]
    assert flat == [f"e{i}" for i in range(1, 51)]
    assert all(b.cursor == b.events[-1].cursor for b in batches)
    assert list(event_batches([])) == []
