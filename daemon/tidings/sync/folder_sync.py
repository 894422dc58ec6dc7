"""Bring one folder of one grant up to date on a connection that is already logged in.

The same routine serves the initial sync, IDLE wake-ups, polls and UIDVALIDITY
rechecks: it compares what the server holds inside the window with the stored UID map,
and writes the difference (with its events) in batches, newest mail first.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import trio

from tidings.domain import Folder
from tidings.imap import BodyPart, Fetch, ImapClient, Raw, SeqSet, search_date
from tidings.log import get_logger
from tidings.store import WriteTx
from tidings.sync import apply
from tidings.sync.link import GrantLink
from tidings.sync.materialize import (
    HEAD_ITEMS,
    Head,
    build_message,
    lasting_flags,
    read_head,
    text_fetch_items,
)

__all__ = ["FolderSyncResult", "ProgressHook", "fetch_incoming", "sync_folder", "window_start"]

log = get_logger("tidings.sync")

ProgressHook = Callable[[int], Awaitable[None]]
# One batch of heads and, per UID, whether we already hold that message.
_Chunk = tuple[list[Head], dict[int, bool]]


@dataclass
class FolderSyncResult:
    created: int = 0
    matched: int = 0
    flag_changes: int = 0
    removed: int = 0
    events: int = 0
    orphans: list[str] = field(default_factory=list)
    uidvalidity_changed: bool = False


def window_start(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


async def _fetch_heads(client: ImapClient, uids: Sequence[int], strict: bool) -> list[Head]:
    heads: list[Head] = []
    async for fetch in client.uid_fetch(uids, HEAD_ITEMS, batch=len(uids)):
        head = read_head(fetch, strict_message_id=strict)
        if head is not None and head.uid in uids:
            heads.append(head)
    return heads


async def _fetch_texts(client: ImapClient, heads: Sequence[Head]) -> dict[int, Fetch]:
    """Fetch the text parts, one UID FETCH per distinct part layout (most messages of a
    mailbox share a handful of layouts)."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    parts: dict[tuple[str, ...], tuple[BodyPart, ...]] = {}
    for head in heads:
        key = tuple(p.part for p in head.text_parts)
        if key:
            groups[key].append(head.uid)
            parts[key] = head.text_parts
    found: dict[int, Fetch] = {}
    for key, uids in groups.items():
        items = ("UID", *text_fetch_items(parts[key]))
        async for fetch in client.uid_fetch(uids, items, batch=len(uids)):
            if fetch.uid is not None:
                found[fetch.uid] = fetch
    return found


def _known_identities(tx: WriteTx, grant_id: str, heads: Sequence[Head]) -> dict[int, bool]:
    found = tx.find_messages(grant_id, [(h.message_id, h.content_hash) for h in heads])
    return {h.uid: (h.message_id, h.content_hash) in found for h in heads}


def _ingest_batch(tx: WriteTx, *, grant_id: str, folder_id: str,
                  items: Sequence[apply.Incoming], emit: bool) -> apply.IngestOutcome:
    return apply.ingest(tx, grant_id=grant_id, folder_id=folder_id, items=items, emit=emit)


async def _changed_flags(client: ImapClient, folder: Folder, known: dict[int, tuple[str, tuple[
        str, ...]]], check: list[int], modseq: int | None, use_modseq: bool
                         ) -> list[tuple[str, tuple[str, ...]]]:
    changes: list[tuple[str, tuple[str, ...]]] = []
    if not check:
        return changes
    if use_modseq and modseq is not None:
        source = client.uid_fetch(SeqSet.of((1, check[-1])), ("UID", "FLAGS"),
                                  changedsince=modseq, batch=1)
    else:
        source = client.uid_fetch(check, ("UID", "FLAGS"), batch=5000)
    async for fetch in source:
        if fetch.uid is None or fetch.flags is None or fetch.uid not in known:
            continue
        message_id, flags = known[fetch.uid]
        now = lasting_flags(fetch.flags)
        if set(now) != set(flags):
            changes.append((message_id, now))
    return changes


async def _held(link: GrantLink, heads: Sequence[Head]) -> dict[int, bool]:
    """Which heads name a message we already hold. Only a hint for what to fetch:
    `apply.ingest` looks again inside its own write."""
    return await link.store.write(functools.partial(_known_identities, grant_id=link.grant_id,
                                                    heads=heads))


async def _stream_heads(link: GrantLink, client: ImapClient, uids: Sequence[int], batch: int,
                        send: trio.MemorySendChannel[_Chunk]) -> None:
    """Heads of ``uids`` with what we hold of them, chunk by chunk. The identity lookup
    happens here, ahead of the chunks being built and written, so that it waits for the
    store's writer while the other stages work."""
    strict = link.settings.strict_message_id
    async with send:
        for start in range(0, len(uids), batch):
            heads = await _fetch_heads(client, uids[start:start + batch], strict)
            await send.send((heads, await _held(link, heads)))


async def _prepare_chunk(link: GrantLink, client: ImapClient, folder: Folder,
                         heads: Sequence[Head], held: dict[int, bool] | None = None
                         ) -> list[apply.Incoming]:
    """Fetch the text parts of the messages we do not hold yet and build them."""
    grant_id = link.grant_id
    if held is None:
        held = await _held(link, heads)
    texts = await _fetch_texts(client, [h for h in heads if not held[h.uid]])
    return [
        apply.Incoming(
            uid=h.uid, flags=h.flags, message_id_header=h.message_id,
            content_hash=h.content_hash,
            message=None if held[h.uid] else build_message(
                h, grant_id=grant_id, folder_id=folder.id,
                sections=texts[h.uid].sections if h.uid in texts else {}),
        )
        for h in heads
    ]


async def fetch_incoming(link: GrantLink, client: ImapClient, folder: Folder,
                         uids: Sequence[int]) -> list[apply.Incoming]:
    """The given UIDs of ``folder`` (selected on ``client``) as `apply.Incoming` items,
    built exactly as the sync builds them, so that a change made through the API and the
    sync's later view of it share one identity (and make one event)."""
    if not uids:
        return []
    heads = await _fetch_heads(client, list(uids), link.settings.strict_message_id)
    return await _prepare_chunk(link, client, folder, heads)


async def _store_chunk(link: GrantLink, folder: Folder, items: Sequence[apply.Incoming], *,
                       emit: bool, progress: ProgressHook | None,
                       result: FolderSyncResult) -> None:
    """Write one batch (with its events) in one transaction."""
    outcome = await link.store.write(functools.partial(
        _ingest_batch, grant_id=link.grant_id, folder_id=folder.id, items=items, emit=emit))
    result.created += outcome.created
    result.matched += outcome.matched
    result.events += outcome.events
    if progress is not None:
        await progress(len(items))


async def _prepare_all(link: GrantLink, client: ImapClient, folder: Folder,
                       receive: trio.MemoryReceiveChannel[_Chunk],
                       send: trio.MemorySendChannel[list[apply.Incoming]]) -> None:
    async with receive, send:
        async for heads, held in receive:
            await send.send(await _prepare_chunk(link, client, folder, heads, held))


async def _ingest_new(link: GrantLink, client: ImapClient, folder: Folder,
                      new: Sequence[int], *, emit: bool, progress: ProgressHook | None,
                      result: FolderSyncResult) -> None:
    """Fetch and store new UIDs, newest first, in batches. A large backlog runs as a
    pipeline — heads streamed on this connection, text parts fetched on a second one,
    batches written by the store's thread — so network waits, our parsing and the
    database overlap (when the grant has a connection to spare, `GrantLink.spare`)."""
    batch, strict = link.settings.fetch_batch, link.settings.strict_message_id
    if len(new) > 2 * batch:
        async with link.spare("sync-bodies") as bodies:
            if bodies is not None:  # else: one connection does it all
                await bodies.select(folder.name, readonly=True)
                send_heads, receive_heads = trio.open_memory_channel[_Chunk](2)
                send_items, receive_items = trio.open_memory_channel[list[apply.Incoming]](2)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_stream_heads, link, client, new, batch, send_heads)
                    nursery.start_soon(_prepare_all, link, bodies, folder, receive_heads,
                                       send_items)
                    async with receive_items:
                        async for items in receive_items:
                            await _store_chunk(link, folder, items, emit=emit,
                                               progress=progress, result=result)
                return
    for start in range(0, len(new), batch):
        heads = await _fetch_heads(client, new[start:start + batch], strict)
        items = await _prepare_chunk(link, client, folder, heads)
        await _store_chunk(link, folder, items, emit=emit, progress=progress, result=result)


async def sync_folder(link: GrantLink, client: ImapClient, folder: Folder, *,
                      progress: ProgressHook | None = None) -> FolderSyncResult:
    """Sync ``folder`` (selected read-only on ``client``). Returns what changed; the
    ``orphans`` are messages that lost their last location and may be half of a move.

    A live folder is synced under the grant's change lock, which API calls hold while
    they change the server and record the change: the sync then never sees half of a
    change, and finds the whole of it already recorded (one event, not two)."""
    if folder.sync_state != "live":
        return await _sync_folder(link, client, folder, progress=progress)
    async with link.changes:
        return await _sync_folder(link, client, folder, progress=progress)


async def _sync_folder(link: GrantLink, client: ImapClient, folder: Folder, *,
                       progress: ProgressHook | None = None) -> FolderSyncResult:
    store, grant_id = link.store, link.grant_id
    result = FolderSyncResult()
    selected = await client.select(folder.name, readonly=True, condstore=True)
    emit = folder.sync_state == "live"
    modseq_ok = folder.highestmodseq is not None and selected.highestmodseq is not None
    if folder.uidvalidity is not None and selected.uidvalidity != folder.uidvalidity:
        # RFC 9051 §2.3.1.1: every UID we hold for this folder is void. Forget them and
        # rematch the messages by identity, so unchanged mail makes no events.
        result.uidvalidity_changed = True
        modseq_ok = False
        log.warning("folder.uidvalidity_changed", grant=grant_id, folder=folder.name,
                    old=folder.uidvalidity, new=selected.uidvalidity)
        changes = folder.uidvalidity_changes + 1

        def drop(tx: WriteTx) -> None:
            tx.drop_folder_uids(folder.id)
            tx.set_folder_sync(folder.id, uidvalidity=selected.uidvalidity, highestmodseq=None,
                               uidvalidity_changes=changes)

        await store.write(drop)
    known = await store.folder_uid_map(folder.id)
    since = window_start(link.grant.sync_window_days).date()
    in_window = set(await client.uid_search(Raw("SINCE"), search_date(since)))

    gone = sorted(uid for uid in known if uid not in in_window)
    if gone:
        # Out of the SEARCH result: expunged, or merely older than the window now
        # (the retention sweep handles those, silently).
        still_there = set(await client.uid_search(Raw("UID"), SeqSet.from_ints(gone)))
        expunged = [uid for uid in gone if uid not in still_there]
        if expunged:
            orphans = await store.write(functools.partial(
                apply.remove_uids, grant_id=grant_id, folder_id=folder.id, uids=expunged,
                emit=emit))
            result.removed += len(expunged)
            result.orphans.extend(orphans)

    check = sorted(uid for uid in known if uid in in_window)
    flag_changes = await _changed_flags(client, folder, known, check, folder.highestmodseq,
                                        emit and modseq_ok)
    if flag_changes:
        result.flag_changes = await store.write(functools.partial(
            apply.update_flags, grant_id=grant_id, changes=flag_changes, emit=emit))

    new = sorted((uid for uid in in_window if uid not in known), reverse=True)
    await _ingest_new(link, client, folder, new, emit=emit, progress=progress, result=result)

    unseen = len(await client.uid_search(Raw("UNSEEN"))) if selected.exists else 0

    def finish(tx: WriteTx) -> list[str]:
        lost = tx.clear_unmatched(folder.id) if result.uidvalidity_changed else []
        tx.set_folder_sync(folder.id, uidvalidity=selected.uidvalidity,
                           uidnext=selected.uidnext, highestmodseq=selected.highestmodseq,
                           sync_state="live", total_count=selected.exists,
                           unread_count=unseen)
        return apply.without_location(tx, lost)

    result.orphans.extend(await store.write(finish))
    if result.created or result.removed or result.flag_changes or result.matched:
        log.info("folder.synced", grant=grant_id, folder=folder.name, new=result.created,
                 matched=result.matched, flags=result.flag_changes, removed=result.removed,
                 initial=not emit)
    return result
