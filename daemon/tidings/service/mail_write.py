"""Changing a grant's mail for the API: flags, folders (moves and copies) and deletion of
messages and threads.

Each call opens one short-lived connection from the grant's link (within the provider's
connection cap), changes the server, closes it, then records the change with its event
(`mail_changes.record_change`) before returning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tidings.domain import Folder, FolderRole, Message
from tidings.imap import CommandError, CopyUid, ImapClient
from tidings.log import get_logger
from tidings.service.errors import InvalidField, PreconditionFailed
from tidings.service.mail_changes import (
    LocationChange,
    changing,
    expunge,
    find_uid,
    record_change,
    require_uidplus_or,
    select_for_change,
)
from tidings.service.mail_read import MailReader, ThreadView
from tidings.sync.link import GrantLink
from tidings.sync.materialize import lasting_flags

__all__ = ["MailWriter", "MessageChange"]

log = get_logger("tidings.service")

SEEN = "\\Seen"
FLAGGED = "\\Flagged"
ANSWERED = "\\Answered"


@dataclass(frozen=True, slots=True)
class MessageChange:
    """What to change; None leaves a property alone."""

    unread: bool | None = None
    starred: bool | None = None
    answered: bool | None = None
    folder_ids: tuple[str, ...] | None = None  # exactly these folders afterwards

    @property
    def empty(self) -> bool:
        return (self.unread, self.starred, self.answered, self.folder_ids) == (None,) * 4


def _flag_edits(change: MessageChange) -> tuple[list[str], list[str]]:
    """(flags to add, flags to remove)."""
    add: list[str] = []
    remove: list[str] = []
    if change.unread is not None:
        (remove if change.unread else add).append(SEEN)
    if change.starred is not None:
        (add if change.starred else remove).append(FLAGGED)
    if change.answered is not None:
        (add if change.answered else remove).append(ANSWERED)
    return add, remove


def _new_flags(flags: Sequence[str], add: Sequence[str], remove: Sequence[str]
               ) -> tuple[str, ...]:
    # System flags compare case-insensitively (RFC 9051 §2.3.2).
    gone = {flag.lower() for flag in (*remove, *add)}
    return lasting_flags((*(f for f in flags if f.lower() not in gone), *add))


class MailWriter:
    """Update and Delete for MessageService and ThreadService."""

    def __init__(self, reader: MailReader) -> None:
        self.reader = reader
        self.store = reader.store

    async def _target_folders(self, grant_id: str, change: MessageChange
                              ) -> list[Folder] | None:
        """The folders `change` asks for (None: leave folders alone)."""
        if change.folder_ids is None:
            return None
        if not change.folder_ids:
            raise InvalidField("folders", "a message must stay in at least one folder")
        return [await self.reader.folder(grant_id, folder_id)
                for folder_id in dict.fromkeys(change.folder_ids)]

    # -- messages -------------------------------------------------------------------------
    async def update_message(self, grant_id: str, message_id: str,
                             change: MessageChange) -> Message:
        message = await self.reader.get_message(grant_id, message_id)
        if change.empty:
            return message
        targets = await self._target_folders(grant_id, change)
        link = await self.reader.link(grant_id)
        async with changing(link, "api:update") as client:
            done = await self._change(link, client, message, change, targets)
            return await self._recorded(link, message, done)

    async def _recorded(self, link: GrantLink, message: Message,
                        done: LocationChange) -> Message:
        after = await record_change(link, message.id, done)
        if after is None:
            raise PreconditionFailed(f"message {message.id!r} was removed meanwhile")
        return after

    async def _change(self, link: GrantLink, client: ImapClient, message: Message,
                      change: MessageChange, targets: list[Folder] | None) -> LocationChange:
        add, remove = _flag_edits(change)
        copies = await self._copies(message)
        flags = None
        if add or remove:
            for folder, uids in copies:
                await select_for_change(client, folder)
                if add:
                    await client.uid_store(uids, "+FLAGS", add)
                if remove:
                    await client.uid_store(uids, "-FLAGS", remove)
            flags = _new_flags(message.flags, add, remove)
        if targets is None:
            return LocationChange(flags=flags)
        removed, added = await self._relocate(client, message, copies, targets)
        return LocationChange(flags=flags, removed=tuple(removed), added=tuple(added))

    async def _copies(self, message: Message) -> list[tuple[Folder, list[int]]]:
        """The message's folders with its UIDs there; a message whose UIDs are being
        rematched after a UIDVALIDITY change cannot be changed until that ends."""
        copies: dict[str, tuple[Folder, list[int]]] = {}
        for location in message.locations:
            folder = await self.reader.folder_of(message, location.folder_id)
            if folder is None or location.uid is None:
                raise PreconditionFailed(f"message {message.id!r} is being resynced; "
                                         "retry in a moment")
            copies.setdefault(folder.id, (folder, []))[1].append(location.uid)
        if not copies:
            raise PreconditionFailed(f"message {message.id!r} is in no folder")
        return list(copies.values())

    async def _relocate(self, client: ImapClient, message: Message,
                        copies: list[tuple[Folder, list[int]]], targets: list[Folder]
                        ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Make the folders of the message exactly `targets`: a folder to leave gives its
        copy to a folder to join by MOVE (RFC 6851), extra folders get a COPY, leftover
        copies are expunged by UID (RFC 4315 §2.1)."""
        have = {folder.id for folder, _ in copies}
        join = [f for f in targets if f.id not in have]
        leave = [(f, uids) for f, uids in copies if f.id not in {t.id for t in targets}]
        removed: list[tuple[str, int]] = []
        added: list[tuple[str, int]] = []
        try:
            for target in join:
                if leave:
                    source, uids = leave.pop(0)
                    await select_for_change(client, source)
                    mapping = await client.uid_move(uids, target.name)
                    removed += [(source.id, uid) for uid in uids]
                else:
                    source, uids = copies[0]
                    await select_for_change(client, source)
                    mapping = await client.uid_copy(uids[:1], target.name)
                    uids = uids[:1]
                added += await self._destination_uids(client, message, target, uids, mapping)
            for source, uids in leave:
                await select_for_change(client, source)
                await expunge(client, uids)
                removed += [(source.id, uid) for uid in uids]
        except CommandError as exc:
            raise require_uidplus_or(exc) from None
        return removed, added

    async def _destination_uids(self, client: ImapClient, message: Message, target: Folder,
                                uids: Sequence[int], mapping: CopyUid | None
                                ) -> list[tuple[str, int]]:
        if mapping is not None and mapping.uidvalidity == target.uidvalidity:
            by_source = dict(zip(mapping.source, mapping.destination, strict=False))
            return [(target.id, by_source[uid]) for uid in uids if uid in by_source]
        if target.uidvalidity is None:
            return []  # a folder the sync has not seen yet: its first sync records it
        # No COPYUID: look the copy up by Message-ID.
        await client.examine(target.name)
        found = await find_uid(client, message.message_id_header)
        return [(target.id, found)] if found is not None else []

    async def delete_message(self, grant_id: str, message_id: str) -> None:
        """Move to Trash; expunge when it is already there or there is no Trash."""
        message = await self.reader.get_message(grant_id, message_id)
        folders = await self.store.list_folders(grant_id)
        trash = next((f for f in folders if f.role == FolderRole.TRASH), None)
        in_trash = trash is not None and trash.id in message.folder_ids
        link = await self.reader.link(grant_id)
        async with changing(link, "api:delete") as client:
            copies = await self._copies(message)
            if trash is not None and not in_trash:
                done = await self._change(link, client, message,
                                          MessageChange(folder_ids=(trash.id,)), [trash])
            else:
                removed: list[tuple[str, int]] = []
                for folder, uids in copies:
                    await select_for_change(client, folder)
                    await expunge(client, uids)
                    removed += [(folder.id, uid) for uid in uids]
                done = LocationChange(removed=tuple(removed))
            await record_change(link, message.id, done)
        log.info("api.message_deleted", grant=grant_id, message=message_id,
                 to_trash=trash is not None and not in_trash)

    # -- threads --------------------------------------------------------------------------
    async def update_thread(self, grant_id: str, thread_id: str,
                            change: MessageChange) -> ThreadView:
        """Apply the change to every message of the thread, on one connection."""
        view = await self.reader.get_thread(grant_id, thread_id)
        if change.empty:
            return view
        targets = await self._target_folders(grant_id, change)
        link = await self.reader.link(grant_id)
        async with changing(link, "api:update-thread") as client:
            for message_id in view.thread.message_ids:
                message = await self.reader.get_message(grant_id, message_id)
                done = await self._change(link, client, message, change, targets)
                await record_change(link, message.id, done)
        return await self.reader.get_thread(grant_id, thread_id)
