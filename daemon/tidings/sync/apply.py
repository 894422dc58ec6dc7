"""Write functions the sync engine hands to ``Store.write``: each change and its events
land in one transaction (DESIGN.md, Storage and events).

These run on the store's writer thread and must not touch the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tidings.domain import EventType, Folder, GrantState, Message, NewEvent
from tidings.store import WriteTx
from tidings.sync.threader import assign_threads

__all__ = [
    "Incoming",
    "IngestOutcome",
    "folder_payload",
    "ingest",
    "message_payload",
    "reap_orphans",
    "record_grant_state",
    "remove_uids",
    "update_flags",
    "without_location",
]

def message_payload(message: Message) -> dict[str, Any]:
    """What an event says about a message (no bodies: clients fetch those on demand)."""
    return {
        "id": message.id,
        "grant_id": message.grant_id,
        "thread_id": message.thread_id,
        "message_id_header": message.message_id_header,
        "subject": message.subject,
        "from": [{"name": a.name, "email": a.email} for a in message.from_],
        "to": [{"name": a.name, "email": a.email} for a in message.to],
        "date": message.date,
        "unread": message.unread,
        "starred": message.starred,
        "folders": list(message.folder_ids),
        "snippet": message.snippet,
        "has_attachments": message.has_attachments,
    }


def folder_payload(folder: Folder) -> dict[str, Any]:
    return {"id": folder.id, "grant_id": folder.grant_id, "name": folder.name,
            "delimiter": folder.delimiter,
            "role": str(folder.role), "attributes": list(folder.attributes),
            "parent_id": folder.parent_id}


def record_grant_state(tx: WriteTx, *, grant_id: str, state: GrantState, reason: str | None,
                       kind: EventType = EventType.GRANT_UPDATED) -> bool:
    """Set the grant's state; a real change also appends ``kind`` (grant.updated, or
    grant.expired for refused credentials). Returns whether anything changed."""
    grant = tx.grant(grant_id)
    if grant is None or (grant.state, grant.state_reason) == (state, reason):
        return False
    tx.set_grant_state(grant_id, state, reason)
    tx.append_event(NewEvent(grant_id=grant_id, type=kind, object_id=grant_id,
                             payload={"id": grant_id, "email": grant.email,
                                      "state": str(state), "reason": reason}))
    return True


def _event(tx: WriteTx, grant_id: str, kind: EventType, object_id: str,
           payload: Mapping[str, Any]) -> None:
    tx.append_event(NewEvent(grant_id=grant_id, type=kind, object_id=object_id,
                             payload=payload))


@dataclass
class IngestOutcome:
    created: int = 0
    matched: int = 0
    events: int = 0
    created_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One UID seen in a folder: either an existing message (``existing_id``) or a new
    one (``message``), with the server's flags."""

    uid: int
    flags: tuple[str, ...]
    message_id_header: str
    content_hash: str
    message: Message | None = None


def ingest(tx: WriteTx, *, grant_id: str, folder_id: str, items: Sequence[Incoming],
           emit: bool) -> IngestOutcome:
    """Record UIDs seen in a folder. A message we already hold (same identity) gains a
    location — a move or copy, or a rematch after a UIDVALIDITY reset, which is silent;
    anything else is stored as new. ``emit`` is False during initial sync.

    The items go in runs without a repeated identity; each run's new messages are
    threaded and stored together, and its events follow the items' order."""
    outcome = IngestOutcome()
    start = 0
    while start < len(items):
        end = _distinct_run(items, start)
        _ingest_run(tx, grant_id, folder_id, items[start:end], emit, outcome)
        start = end
    return outcome


def _identity(item: Incoming) -> tuple[str, str]:
    return item.message_id_header, item.content_hash


def _distinct_run(items: Sequence[Incoming], start: int) -> int:
    """The end of the run from `start` in which no identity repeats (a second copy of a
    message must see the first one stored, to become its second location)."""
    seen: set[tuple[str, str]] = set()
    for index in range(start, len(items)):
        identity = _identity(items[index])
        if identity in seen:
            return index
        seen.add(identity)
    return len(items)


def _ingest_run(tx: WriteTx, grant_id: str, folder_id: str, items: Sequence[Incoming],
                emit: bool, outcome: IngestOutcome) -> None:
    known = tx.find_messages(grant_id, [_identity(item) for item in items])
    new = [item.message for item in items
           if _identity(item) not in known and item.message is not None]
    threading = assign_threads(tx, grant_id, new)
    for into, others in threading.merges.items():
        tx.merge_threads(into, others)
    stored = {message.id: (_with_thread(message, thread_id), joined)
              for message, thread_id, joined in zip(new, threading.thread_ids,
                                                    threading.joined, strict=True)}
    tx.insert_messages([message for message, _joined in stored.values()])
    for item in items:
        existing = known.get(_identity(item))
        if existing is not None:
            _ingest_known(tx, existing, folder_id, item, emit, outcome)
        elif item.message is not None:  # else: identity vanished; the next sync refetches
            message, joined = stored[item.message.id]
            _created(tx, message, joined, emit, outcome)


def _created(tx: WriteTx, message: Message, joined: bool, emit: bool,
             outcome: IngestOutcome) -> None:
    outcome.created += 1
    outcome.created_ids.append(message.id)
    if not emit:
        return
    stored = tx.message(message.id) or message
    _event(tx, message.grant_id, EventType.MESSAGE_CREATED, message.id, message_payload(stored))
    outcome.events += 1
    if joined:
        _event(tx, message.grant_id, EventType.THREAD_REPLIED, stored.thread_id,
               {"thread_id": stored.thread_id, "message_id": message.id,
                "grant_id": message.grant_id})
        outcome.events += 1


def _with_thread(message: Message, thread_id: str) -> Message:
    return replace(message, thread_id=thread_id)


def _ingest_known(tx: WriteTx, message_id: str, folder_id: str, item: Incoming, emit: bool,
                  outcome: IngestOutcome) -> None:
    before = tx.message(message_id)
    if before is None:
        return
    here = [loc for loc in before.locations if loc.folder_id == folder_id]
    if any(loc.uid == item.uid for loc in here):
        return  # already recorded (a retried batch)
    rematch = any(loc.uid is None for loc in here)
    tx.add_location(message_id, folder_id, item.uid)
    changed = not rematch
    if set(item.flags) != set(before.flags):
        tx.set_flags(message_id, item.flags)
        changed = True
    outcome.matched += 1
    if emit and changed:
        after = tx.message(message_id)
        if after is not None:
            _event(tx, after.grant_id, EventType.MESSAGE_UPDATED, message_id,
                   message_payload(after))
            outcome.events += 1


def update_flags(tx: WriteTx, *, grant_id: str, changes: Iterable[tuple[str, Sequence[str]]],
                 emit: bool) -> int:
    """Apply flag changes seen on the server; one message.updated per real change."""
    count = 0
    for message_id, flags in changes:
        before = tx.message(message_id)
        if before is None or set(before.flags) == set(flags):
            continue
        tx.set_flags(message_id, tuple(flags))
        count += 1
        after = tx.message(message_id)
        if emit and after is not None:
            _event(tx, grant_id, EventType.MESSAGE_UPDATED, message_id, message_payload(after))
    return count


def remove_uids(tx: WriteTx, *, grant_id: str, folder_id: str, uids: Iterable[int],
                emit: bool) -> list[str]:
    """Forget UIDs expunged (or moved away) from a folder. A message still elsewhere gets
    message.updated; one left nowhere is returned as an orphan: it may be a move whose
    other half has not been seen yet, so the caller reaps it after the next full pass."""
    orphans: list[str] = []
    for uid in uids:
        message_id = tx.remove_location(folder_id, uid)
        if message_id is None:
            continue
        after = tx.message(message_id)
        if after is None:
            continue
        if after.locations:
            if emit:
                _event(tx, grant_id, EventType.MESSAGE_UPDATED, message_id,
                       message_payload(after))
        else:
            orphans.append(message_id)
    return orphans


def without_location(tx: WriteTx, message_ids: Iterable[str]) -> list[str]:
    """The given messages that exist and have no location left (orphan candidates)."""
    return [m for m in message_ids if (msg := tx.message(m)) is not None and not msg.locations]


def reap_orphans(tx: WriteTx, *, grant_id: str, candidates: Iterable[str]) -> list[str]:
    """Delete the candidates that still have no location: message.deleted for each."""
    deleted: list[str] = []
    for message_id in candidates:
        message = tx.message(message_id)
        if message is None or message.locations:
            continue
        payload = {"id": message_id, "grant_id": grant_id, "thread_id": message.thread_id}
        tx.delete_message(message_id)
        _event(tx, grant_id, EventType.MESSAGE_DELETED, message_id, payload)
        deleted.append(message_id)
    return deleted
