"""One grant's task tree: initial sync, then IDLE on INBOX and Sent, a poller for the
other folders, the UIDVALIDITY checker and the retention sweeper (DESIGN.md, Concurrency).
"""

from __future__ import annotations

import contextlib
import functools
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import trio

from tidings.domain import (
    EventType,
    Folder,
    FolderRole,
    GrantState,
    NewEvent,
    SyncProgress,
)
from tidings.imap import (
    Exists,
    Expunge,
    Fetch,
    ImapClient,
    Raw,
    Recent,
    Response,
    ServerNo,
    Status,
    Vanished,
    search_date,
)
from tidings.log import get_logger
from tidings.store import NotFound, WriteTx
from tidings.sync import apply
from tidings.sync.folder_sync import (
    FolderSyncResult,
    ProgressHook,
    sync_folder,
    window_start,
)
from tidings.sync.folders import discover_folders, list_with_status
from tidings.sync.lending import ConnectionLender
from tidings.sync.link import GrantLink
from tidings.sync.uidvalidity import FlappingUidValidity, UidValidityHistory, mark_checked

__all__ = ["FlappingUidValidity", "GrantRunner"]

log = get_logger("tidings.sync")

IDLE_ROLES = (FolderRole.INBOX, FolderRole.SENT)
_PUSHES = (Exists, Expunge, Fetch, Vanished, Recent)


@dataclass(frozen=True, slots=True)
class _Worker:
    """A connection the initial sync takes folders on: the grant's first one, or a
    spare one that `closing` logs out and gives back."""

    client: ImapClient
    closing: contextlib.AsyncExitStack | None = None

    async def release(self) -> None:
        if self.closing is not None:
            await self.closing.aclose()


async def _share(workers: Sequence[_Worker], folders: Sequence[Folder],
                 work: Callable[[ImapClient, Folder], Awaitable[None]], *,
                 release: bool = False) -> None:
    """`work` for every folder, in order, each connection taking the next folder as soon
    as it is free. With `release`, a spare connection is given back once nothing is
    left for it to take, free for others (the API) while the last folders finish."""
    queue = deque(folders)

    async def take(worker: _Worker) -> None:
        while queue:
            await work(worker.client, queue.popleft())
        if release:
            await worker.release()

    async with trio.open_nursery() as nursery:
        for worker in workers[1:]:
            nursery.start_soon(take, worker)
        await take(workers[0])


def _order(folders: Sequence[Folder]) -> list[Folder]:
    rank = {FolderRole.INBOX: 0, FolderRole.SENT: 1}
    return sorted(folders, key=lambda f: (rank.get(f.role, 2), f.name))


class GrantRunner:
    def __init__(self, link: GrantLink) -> None:
        self.link = link
        self._locks: defaultdict[str, trio.Lock] = defaultdict(trio.Lock)
        self._orphans: dict[str, float] = {}
        self._kick = trio.Event()
        self._history = UidValidityHistory()
        self.has_idle = False
        self.has_condstore = False
        # Each IDLE watcher's connection; the INBOX one is lent to the poller and the
        # UIDVALIDITY checker between two IDLEs (see lending.py).
        self.lenders = {role: ConnectionLender() for role in IDLE_ROLES}
        # The stored folders as the last poll saw them, kept until one of our tasks syncs
        # a folder: a quiet poll then compares the server's answer without reading the
        # store. Writes made elsewhere (the API) can only make it older than the store,
        # which costs at most a needless sync, or a LIST that no longer matches it, which
        # rereads the store.
        self._polled_folders: list[Folder] | None = None

    # -- shared helpers ---------------------------------------------------------------------
    async def _sync(self, client: ImapClient, folder: Folder,
                    progress: ProgressHook | None = None) -> FolderSyncResult:
        self._polled_folders = None
        async with self._locks[folder.id]:
            fresh = await self.link.store.get_folder(folder.id)
            result = await sync_folder(self.link, client, fresh, progress=progress)
        self._history.note(fresh, result.uidvalidity_changed)
        self._add_orphans(result.orphans)
        return result

    async def _set_state(self, state: GrantState, reason: str | None) -> None:
        await self.link.store.write(functools.partial(
            apply.record_grant_state, grant_id=self.link.grant_id, state=state, reason=reason))

    # -- the tree -----------------------------------------------------------------------------
    async def run(self) -> NoReturn:
        await self.initial_sync()
        async with trio.open_nursery() as nursery:
            if self.has_idle:
                for role in IDLE_ROLES:
                    nursery.start_soon(self.idle_loop, role)
            nursery.start_soon(self.poll_loop)
            nursery.start_soon(self.uidvalidity_loop)
            nursery.start_soon(self.retention_loop)
        raise AssertionError("grant tasks never return")  # pragma: no cover

    async def initial_sync(self) -> None:
        link = self.link
        grant = await link.store.get_grant(link.grant_id)
        async with link.connect("initial") as client:
            self.has_idle = client.has("IDLE")
            self.has_condstore = client.has("CONDSTORE")
            progress = grant.progress
            # The initial sync ended once (its completion wrote folders_done = total);
            # after that, a restart only catches up, with events.
            completed = progress.completed
            folders, orphans = await discover_folders(link, client, emit=completed)
            self._add_orphans(orphans)
            pending = _order([f for f in folders if f.sync_state != "live"])
            if grant.state in (GrantState.INVALID, GrantState.DEGRADED):
                await self._set_state(
                    GrantState.VALID if completed or not pending else GrantState.SYNCING, None)
            if completed:
                for folder in pending:  # folders that appeared since
                    await self._sync(client, folder)
                return
            if not pending:  # stopped between the last folder and the completion
                await self._complete(SyncProgress(
                    folders_done=len(folders), folders_total=len(folders),
                    messages_done=progress.messages_total,
                    messages_total=progress.messages_total))
                return
            since = window_start(grant.sync_window_days).date()
            done_folders = len(folders) - len(pending)
            async with contextlib.AsyncExitStack() as stack:
                # More folders at once, each on its own connection while the grant has
                # one to spare: one folder's round trips and parsing then overlap
                # another's database writes.
                workers = await self._with_spares(stack, client, min(
                    link.settings.initial_folder_connections, len(pending)))
                counts: list[int] = []

                async def count_window(worker: ImapClient, folder: Folder) -> None:
                    await worker.select(folder.name, readonly=True)
                    counts.append(len(await worker.uid_search(Raw("SINCE"),
                                                              search_date(since))))

                # The total first, so that progress means something.
                await _share(workers, pending, count_window)
                total = sum(counts)
                done = 0

                async def record() -> None:
                    await link.store.write(functools.partial(
                        _record_progress, grant_id=grant.id, progress=SyncProgress(
                            folders_done=done_folders, folders_total=len(folders),
                            messages_done=min(done, total), messages_total=total)))

                async def step(count: int) -> None:
                    nonlocal done
                    done += count
                    await record()

                async def sync(worker: ImapClient, folder: Folder) -> None:
                    nonlocal done_folders
                    await self._sync(worker, folder, progress=step)
                    done_folders += 1
                    # The last folder is recorded done only with the completion itself,
                    # in one transaction (`_complete`): progress that says "all done" is
                    # what tells a restarted sync that the completion was already told,
                    # so it must never be committed without it (a database restart in
                    # between).
                    if done_folders < len(folders):
                        await record()

                await record()
                await _share(workers, pending, sync, release=True)
        await self._complete(SyncProgress(folders_done=len(folders), folders_total=len(folders),
                                          messages_done=total, messages_total=total))

    async def _with_spares(self, stack: contextlib.AsyncExitStack, client: ImapClient,
                           wanted: int) -> list[_Worker]:
        """`client` and up to `wanted - 1` more connections of the grant, as many as it
        has to spare (`GrantLink.spare`), each open until released or `stack` closes."""
        workers = [_Worker(client)]
        while len(workers) < wanted:
            closing = contextlib.AsyncExitStack()
            stack.push_async_callback(closing.aclose)
            extra = await closing.enter_async_context(self.link.spare("initial-folders"))
            if extra is None:
                await closing.aclose()
                break
            workers.append(_Worker(extra, closing))
        return workers

    async def _complete(self, progress: SyncProgress) -> None:
        link = self.link

        def write(tx: WriteTx) -> bool:
            # Decided inside the transaction: an earlier attempt of this grant's sync
            # (still finishing its last write, or told a commit failed that the database
            # kept) may have completed it already, and the event is told once.
            tx.set_grant_state(link.grant_id, GrantState.VALID, None)
            if _completed(tx, link.grant_id):
                return False
            tx.set_grant_progress(link.grant_id, progress)
            tx.append_event(NewEvent(
                grant_id=link.grant_id, type=EventType.GRANT_IMAP_SYNC_COMPLETED,
                object_id=link.grant_id,
                payload={"id": link.grant_id, "folders": progress.folders_total,
                         "messages": progress.messages_total}))
            return True

        told = await link.store.write(write)
        link.stats.synced_at[link.grant_id] = time.time()
        if told:
            log.info("grant.sync_completed", grant=link.grant_id,
                     messages=progress.messages_total, folders=progress.folders_total)
        else:
            log.info("grant.sync_completed_already", grant=link.grant_id)

    def _add_orphans(self, orphans: Sequence[str]) -> None:
        """Messages left without a folder: reaped after the next full poll, unless that
        poll finds them elsewhere (the other half of a move), so poll now."""
        now = trio.current_time()
        for message_id in orphans:
            self._orphans.setdefault(message_id, now)
        if orphans:
            self._kick.set()

    async def _folder_with_role(self, role: FolderRole) -> Folder | None:
        for folder in await self.link.store.list_folders(self.link.grant_id):
            if folder.role == role:
                return folder
        return None

    async def idle_loop(self, role: FolderRole) -> None:
        """Hold one connection in IDLE on the folder with ``role``; sync on every push,
        re-issue IDLE at the preset's interval (RFC 2177 §3: before 29 minutes). Between
        two IDLEs the connection is lent to a borrower that asks for it."""
        link = self.link
        folder = await self._folder_with_role(role)
        if folder is None:
            return  # no such folder: the poller covers the rest
        lender = self.lenders[role]
        async with link.connect(f"idle:{role}") as client:
            with lender.holding(client):
                need_sync = True
                while True:
                    if need_sync:
                        client.drain_unsolicited()  # old news: this sync sees it all
                        await self._sync(client, folder)
                        if _pushed(client.drain_unsolicited()):
                            # Told of during the sync, perhaps after its search: once
                            # reported here the server will not repeat it in IDLE.
                            continue
                    if await lender.lend(client):
                        need_sync = _pushed(client.drain_unsolicited())
                        continue
                    asked = pushed = False
                    async with client.idle(max_idle=link.preset.idle_interval) as pushes:
                        while not pushes.expired and not pushes.ended_by_server:
                            got: list[Response] = []
                            with lender.interruptible() as wait:
                                got = await pushes.next(timeout=link.preset.idle_interval)
                            if _pushed(got):
                                pushed = True
                                break
                            if wait.cancelled_caught:
                                asked = True
                                break
                    # After DONE, what the server sent before its OK is unsolicited.
                    pushed = _pushed(client.drain_unsolicited()) or pushed
                    # A borrower's request alone changes nothing in this folder.
                    need_sync = pushed or not asked

    async def poll_loop(self) -> NoReturn:
        """Every poll interval (or at once when kicked): LIST for folder changes, STATUS
        each folder, sync those that changed; then reap orphans that no folder claimed."""
        link = self.link
        # The initial sync has just looked at every folder. Start the first poll at a
        # random point of the interval, so that grants started together (at daemon
        # start) do not all poll at the same moment ever after.
        with trio.move_on_after(random.uniform(0, link.settings.poll_interval)):
            await self._kick.wait()
        while True:
            started = trio.current_time()
            self._kick = trio.Event()
            if await self._poll():
                link.stats.synced_at[link.grant_id] = time.time()
            await self._reap(started)
            with trio.move_on_after(link.settings.poll_interval):
                await self._kick.wait()

    async def _poll(self) -> bool:
        """One poll. The questions go over the INBOX watcher's connection when it can be
        borrowed, and a connection of the poll's own is opened only to sync what
        changed. Returns whether every folder was checked."""
        link = self.link
        async with self.lenders[FolderRole.INBOX].borrow(link.settings.imap_timeout) as lent:
            if lent is not None:
                # The watcher's own folder is its business: RFC 9051 §6.3.11 warns that
                # STATUS is no way to learn about the selected mailbox, and IDLE tells.
                changed, all_checked = await self._look(lent, watched=lent.selected)
        if lent is None:
            async with link.connect("poll") as client:
                changed, all_checked = await self._look(client, watched=None)
                return await self._sync_all(client, changed) and all_checked
        if not changed:
            return all_checked
        async with link.connect("poll") as client:
            return await self._sync_all(client, changed) and all_checked

    async def _look(self, client: ImapClient, watched: str | None
                    ) -> tuple[list[Folder], bool]:
        """LIST for folder changes, then which folders changed (all but ``watched``);
        returns them and whether every folder could be checked."""
        link = self.link
        entries, statuses = await list_with_status(client)
        folders, orphans = await discover_folders(link, client, emit=True, entries=entries,
                                                  stored=self._polled_folders)
        self._polled_folders = folders
        self._add_orphans(orphans)
        changed: list[Folder] = []
        all_checked = True
        for folder in folders:
            if folder.name == watched and folder.sync_state == "live":
                continue
            try:
                if await self._changed(client, folder, statuses.get(folder.name)):
                    changed.append(folder)
            except ServerNo as exc:
                all_checked = False
                self._unavailable(folder, exc)
        return changed, all_checked

    async def _sync_all(self, client: ImapClient, folders: Sequence[Folder]) -> bool:
        """Sync ``folders``; returns whether each of them could be."""
        synced = True
        for folder in folders:
            try:
                await self._sync(client, folder)
            except ServerNo as exc:
                synced = False
                self._unavailable(folder, exc)
        return synced

    def _unavailable(self, folder: Folder, exc: ServerNo) -> None:
        # Deleted or renamed since LIST: the next discovery reconciles it.
        log.info("folder.unavailable", grant=self.link.grant_id, folder=folder.name,
                 error=exc.text)
        self._kick.set()

    async def _changed(self, client: ImapClient, folder: Folder,
                       status: Status | None) -> bool:
        if folder.sync_state != "live" or not self.has_condstore:
            return True  # without CONDSTORE, flag changes only show by comparing FLAGS
        if status is None:
            status = await client.status(folder.name)
        return (status.uidvalidity != folder.uidvalidity or status.uidnext != folder.uidnext
                or status.highestmodseq != folder.highestmodseq
                or status.messages != folder.total_count)

    async def _reap(self, started: float) -> None:
        due = [m for m, at in self._orphans.items() if at < started]
        if not due:
            return
        deleted = await self.link.store.write(functools.partial(
            apply.reap_orphans, grant_id=self.link.grant_id, candidates=due))
        for message_id in due:
            self._orphans.pop(message_id, None)
        if deleted:
            log.info("messages.deleted", grant=self.link.grant_id, count=len(deleted))

    async def uidvalidity_loop(self) -> NoReturn:
        """Every check interval: STATUS UIDVALIDITY of every folder (over the INBOX
        watcher's connection when it can be borrowed); a change is synced on a
        connection of its own (which drops the UID map and rematches by identity)."""
        link = self.link
        while True:
            await trio.sleep(link.settings.uidvalidity_check_interval)
            async with self.lenders[FolderRole.INBOX].borrow(
                    link.settings.imap_timeout) as lent:
                if lent is not None:
                    changed = await self._check_uidvalidity(lent)
            if lent is None:
                async with link.connect("uidvalidity") as client:
                    await self._resync(client, await self._check_uidvalidity(client))
            elif changed:
                async with link.connect("uidvalidity") as client:
                    await self._resync(client, changed)

    async def _check_uidvalidity(self, client: ImapClient) -> list[Folder]:
        """The folders whose UIDVALIDITY differs from the stored one; the others are
        recorded as checked."""
        link = self.link
        changed: list[Folder] = []
        checked: list[str] = []
        for folder in await link.store.list_folders(link.grant_id):
            try:
                status = await client.status(folder.name, "UIDVALIDITY")
            except ServerNo:
                self._kick.set()  # gone since the last LIST: rediscover
                continue
            if status.uidvalidity != folder.uidvalidity:
                changed.append(folder)
            else:
                self._history.note(folder, False)
                checked.append(folder.id)
        if checked:
            await link.store.write(functools.partial(
                mark_checked, folder_ids=checked, at=time.time()))
        return changed

    async def _resync(self, client: ImapClient, folders: Sequence[Folder]) -> None:
        for folder in folders:
            await self._sync(client, folder)
            await self.link.store.write(functools.partial(
                mark_checked, folder_ids=[folder.id], at=time.time()))

    async def retention_loop(self) -> NoReturn:
        while True:
            await self.sweep_retention()
            await trio.sleep(self.link.settings.retention_sweep_interval)

    async def sweep_retention(self) -> int:
        """Purge mail that aged out of the window: no events (it did not change)."""
        link = self.link
        cutoff = int(window_start(link.grant.sync_window_days).timestamp())
        purged: int = await link.store.write(functools.partial(
            _purge, grant_id=link.grant_id, before=cutoff))
        if purged:
            log.info("messages.aged_out", grant=link.grant_id, count=purged)
        return purged

    async def recheck_until_stable(self) -> None:
        """After UIDVALIDITY flapping: check slowly until two sessions in a row agree."""
        link = self.link
        interval = link.settings.uidvalidity_check_interval * 6
        last: dict[str, int | None] = {}
        while True:
            await trio.sleep(interval)
            seen: dict[str, int | None] = {}
            async with link.connect("uidvalidity-recheck") as client:
                for folder in await link.store.list_folders(link.grant_id):
                    seen[folder.name] = (await client.status(folder.name, "UIDVALIDITY")
                                         ).uidvalidity
            if seen == last:
                self._history.clear()
                return
            last = seen


def _pushed(responses: Sequence[object]) -> bool:
    """Whether the server told of a change to the selected mailbox."""
    return any(isinstance(r, _PUSHES) for r in responses)


def _completed(tx: WriteTx, grant_id: str) -> bool:
    """Whether the grant's initial sync has completed, as this transaction sees it."""
    grant = tx.grant(grant_id)
    if grant is None:
        raise NotFound("grant", grant_id)
    return grant.progress.completed


def _record_progress(tx: WriteTx, *, grant_id: str, progress: SyncProgress) -> None:
    if not _completed(tx, grant_id):  # a late write of an older attempt changes nothing
        tx.set_grant_progress(grant_id, progress)


def _purge(tx: WriteTx, *, grant_id: str, before: int) -> int:
    return tx.purge_messages_before(grant_id, before)
