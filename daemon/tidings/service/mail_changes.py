"""The pieces every change made through the API shares: selecting a folder for writing,
finding a UID the server gave a message, storing a message the API put on the server,
and recording a change with exactly one event.

An API change reaches the server first; the store and the event log follow in one
transaction before the call returns. The sync engine sees the same change later and finds
it already recorded (same UIDs, same flags, same identity), so it emits nothing more.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from tidings.domain import EventType, Folder, Message, NewEvent
from tidings.imap import CommandError, ImapClient, Raw, ServerNo
from tidings.service.errors import PreconditionFailed
from tidings.store import WriteTx
from tidings.sync import apply
from tidings.sync.folder_sync import fetch_incoming
from tidings.sync.link import GrantLink

__all__ = [
    "LocationChange",
    "changing",
    "deleted_payload",
    "expunge",
    "find_uid",
    "record_change",
    "select_for_change",
    "store_appended",
]


@dataclass(frozen=True, slots=True)
class LocationChange:
    """What an API call did to a message on the server."""

    flags: tuple[str, ...] | None = None  # the message's flags now, when they changed
    removed: tuple[tuple[str, int], ...] = ()  # (folder id, UID) no longer there
    added: tuple[tuple[str, int], ...] = ()  # (folder id, UID) new copies


@asynccontextmanager
async def changing(link: GrantLink, purpose: str) -> AsyncIterator[ImapClient]:
    """A short-lived connection for a change, with the grant's change lock held until the
    block ends: make the change and record it inside. The connection comes first, then
    the lock, in the order the sync takes them, so neither can wait on the other."""
    async with link.connect(purpose) as client, link.changes:
        yield client


async def select_for_change(client: ImapClient, folder: Folder) -> None:
    """SELECT the folder read-write. Refused when it is gone or its UIDVALIDITY is not
    the one our UIDs were recorded under (RFC 9051 §2.3.1.1): a change by a stale UID
    could touch another message."""
    try:
        selected = await client.select(folder.name)
    except ServerNo as exc:
        raise PreconditionFailed(f"folder {folder.name!r} is not on the mail server: "
                                 f"{exc}") from None
    if folder.uidvalidity is None or selected.uidvalidity != folder.uidvalidity:
        raise PreconditionFailed(f"folder {folder.name!r} changed on the mail server "
                                 "(UIDVALIDITY); retry after the next sync")


async def find_uid(client: ImapClient, message_id_header: str) -> int | None:
    """The newest UID with this Message-ID in the selected folder: for servers without
    UIDPLUS (RFC 4315), which do not say what UID a copy or an APPEND got."""
    uids = await client.uid_search(Raw("HEADER"), "Message-ID", message_id_header)
    return max(uids) if uids else None


def require_uidplus_or(exc: CommandError) -> PreconditionFailed:
    return PreconditionFailed(f"the mail server cannot do this safely: {exc}")


async def expunge(client: ImapClient, uids: Sequence[int]) -> None:
    """Remove exactly these UIDs from the selected folder: \\Deleted, then UID EXPUNGE
    (RFC 4315 §2.1), which leaves other clients' \\Deleted mail alone."""
    try:
        await client.uid_store(uids, "+FLAGS", ["\\Deleted"])
        await client.uid_expunge(uids)
    except CommandError as exc:
        raise require_uidplus_or(exc) from None


def deleted_payload(message: Message) -> dict[str, str]:
    return {"id": message.id, "grant_id": message.grant_id, "thread_id": message.thread_id}


def _record_change(tx: WriteTx, *, message_id: str, change: LocationChange) -> Message | None:
    before = tx.message(message_id)
    if before is None:
        return None
    if change.flags is not None and set(change.flags) != set(before.flags):
        tx.set_flags(message_id, change.flags)
    for folder_id, uid in change.removed:
        tx.remove_location(folder_id, uid)
    for folder_id, uid in change.added:
        current = tx.message(message_id)
        if current is not None and not any(
                loc.folder_id == folder_id and loc.uid == uid for loc in current.locations):
            tx.add_location(message_id, folder_id, uid)
    after = tx.message(message_id)
    if after is None:
        return None
    if not after.locations:
        # Removed from its last folder: gone from the server altogether.
        tx.delete_message(message_id)
        tx.append_event(NewEvent(grant_id=after.grant_id, type=EventType.MESSAGE_DELETED,
                                 object_id=message_id, payload=deleted_payload(after)))
        return after
    # The sync may have recorded part of it first: one event, only for a real change.
    if set(after.flags) != set(before.flags) or after.locations != before.locations:
        tx.append_event(NewEvent(grant_id=after.grant_id, type=EventType.MESSAGE_UPDATED,
                                 object_id=message_id, payload=apply.message_payload(after)))
    return after


async def record_change(link: GrantLink, message_id: str, change: LocationChange
                        ) -> Message | None:
    """Write what a call did, with its event; None when the message is gone meanwhile."""
    return await link.store.write(functools.partial(
        _record_change, message_id=message_id, change=change))


def _ingest_as(tx: WriteTx, *, grant_id: str, folder_id: str, item: apply.Incoming,
               keep_id: Message | None) -> str | None:
    """Store an appended message (message.created, or message.updated when it replaces
    `keep_id`, whose id and thread it takes over); returns its id."""
    if keep_id is not None:
        tx.delete_message(keep_id.id)
        new = item.message
        if new is not None and \
                tx.find_message(grant_id, item.message_id_header, item.content_hash) is None:
            message = replace(
                new, id=keep_id.id, thread_id=keep_id.thread_id,
                attachments=tuple(replace(a, id=f"{keep_id.id}.{a.part}", message_id=keep_id.id)
                                  for a in new.attachments))
            tx.insert_message(message)
            stored = tx.message(message.id) or message
            tx.append_event(NewEvent(grant_id=grant_id, type=EventType.MESSAGE_UPDATED,
                                     object_id=message.id,
                                     payload=apply.message_payload(stored)))
            return message.id
        # The sync stored the new copy first, under its own id; the old one is gone.
        tx.append_event(NewEvent(grant_id=grant_id, type=EventType.MESSAGE_DELETED,
                                 object_id=keep_id.id, payload=deleted_payload(keep_id)))
    apply.ingest(tx, grant_id=grant_id, folder_id=folder_id, items=[item], emit=True)
    return tx.find_message(grant_id, item.message_id_header, item.content_hash)


async def store_appended(link: GrantLink, client: ImapClient, folder: Folder, uid: int, *,
                         replacing: Message | None = None) -> Message:
    """Fetch a message the API just put in `folder` (selected on `client`) as the sync
    would, and store it with its event. With `replacing`, the new message takes over
    that message's id (a draft keeps its id across edits)."""
    items: Sequence[apply.Incoming] = await fetch_incoming(link, client, folder, [uid])
    if not items:
        raise PreconditionFailed(f"the message saved in {folder.name!r} vanished at once")
    message_id = await link.store.write(functools.partial(
        _ingest_as, grant_id=link.grant_id, folder_id=folder.id, item=items[0],
        keep_id=replacing))
    if message_id is None:
        raise PreconditionFailed(f"the message saved in {folder.name!r} could not be stored")
    return await link.store.get_message(message_id)
