"""Folder discovery: LIST → folders with roles, and create/rename/delete detection."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace

from tidings.domain import EventType, Folder, FolderRole, NewEvent, new_id
from tidings.imap import CommandError, ImapClient, ListEntry, ServerNo, Status
from tidings.log import get_logger
from tidings.store import WriteTx
from tidings.sync.apply import folder_payload, without_location
from tidings.sync.link import GrantLink

__all__ = ["discover_folders", "list_with_status", "role_for"]

log = get_logger("tidings.sync")

# RFC 6154 §2 special-use attributes.
_SPECIAL_USE = {
    "\\sent": FolderRole.SENT, "\\drafts": FolderRole.DRAFTS, "\\trash": FolderRole.TRASH,
    "\\junk": FolderRole.JUNK, "\\archive": FolderRole.ARCHIVE, "\\all": FolderRole.ALL,
    "\\flagged": FolderRole.FLAGGED,
}
# Servers without SPECIAL-USE: the names the common providers and clients use.
_BY_NAME = {
    "sent": FolderRole.SENT, "sent items": FolderRole.SENT, "sent messages": FolderRole.SENT,
    "sent mail": FolderRole.SENT, "gesendet": FolderRole.SENT, "envoyés": FolderRole.SENT,
    "drafts": FolderRole.DRAFTS, "draft": FolderRole.DRAFTS, "entwürfe": FolderRole.DRAFTS,
    "trash": FolderRole.TRASH, "deleted items": FolderRole.TRASH,
    "deleted messages": FolderRole.TRASH, "bin": FolderRole.TRASH,
    "papierkorb": FolderRole.TRASH, "junk": FolderRole.JUNK, "spam": FolderRole.JUNK,
    "junk e-mail": FolderRole.JUNK, "bulk mail": FolderRole.JUNK,
    "archive": FolderRole.ARCHIVE, "archives": FolderRole.ARCHIVE,
    "all mail": FolderRole.ALL, "starred": FolderRole.FLAGGED,
}
_UNSELECTABLE = {"\\noselect", "\\nonexistent"}
# RFC 9051 §7.3.1: \Marked / \Unmarked say whether new mail arrived since the last SELECT;
# they change all the time and are not a change of the folder.
_VOLATILE = {"\\marked", "\\unmarked"}


def _attributes(entry: ListEntry) -> tuple[str, ...]:
    return tuple(sorted(a for a in entry.attributes if a.lower() not in _VOLATILE))


def role_for(entry: ListEntry) -> FolderRole:
    if entry.name.upper() == "INBOX":
        return FolderRole.INBOX
    for attribute in entry.attributes:
        role = _SPECIAL_USE.get(attribute.lower())
        if role is not None:
            return role
    leaf = entry.name.rsplit(entry.delimiter, 1)[-1] if entry.delimiter else entry.name
    return _BY_NAME.get(leaf.strip().casefold().removeprefix("[gmail]/"), FolderRole.NONE)


def _parent_name(entry: ListEntry) -> str | None:
    if entry.delimiter and entry.delimiter in entry.name:
        return entry.name.rsplit(entry.delimiter, 1)[0]
    return None


def _apply_listing(tx: WriteTx, *, grant_id: str, entries: Sequence[ListEntry],
                   uidvalidities: dict[str, int], emit: bool) -> list[str]:
    """Reconcile stored folders with a LIST result. A folder that vanished while a new
    one with the same UIDVALIDITY appeared was renamed (Dovecot and most servers keep
    UIDVALIDITY across RENAME): it keeps its id. Returns orphaned message ids."""
    stored = {f.name: f for f in tx.folders(grant_id)}
    listed = {e.name: e for e in entries}
    vanished = {name: f for name, f in stored.items() if name not in listed}
    orphans: list[str] = []
    by_name: dict[str, Folder] = {}
    for name, entry in listed.items():
        attributes = _attributes(entry)
        role = role_for(entry)
        current = stored.get(name)
        kind: EventType | None = None
        if current is None:
            renamed = next((f for f in vanished.values() if f.uidvalidity is not None
                            and f.uidvalidity == uidvalidities.get(name)), None)
            if renamed is not None:
                del vanished[renamed.name]
                current = replace(renamed, name=name, attributes=attributes, role=role)
                kind = EventType.FOLDER_UPDATED
            else:
                # Knowing its UIDVALIDITY now lets a rename before its first sync be
                # recognised too.
                current = Folder(id=new_id(), grant_id=grant_id, name=name,
                                 delimiter=entry.delimiter, attributes=attributes, role=role,
                                 uidvalidity=uidvalidities.get(name))
                kind = EventType.FOLDER_CREATED
        elif current.attributes != attributes or current.role != role:
            current = replace(current, attributes=attributes, role=role)
            kind = EventType.FOLDER_UPDATED
        by_name[name] = current
        if kind is not None:
            tx.upsert_folder(current)
            if emit:
                tx.append_event(NewEvent(grant_id=grant_id, type=kind, object_id=current.id,
                                         payload=folder_payload(current)))
    for name, folder in by_name.items():
        parent = _parent_name(listed[name])
        parent_id = by_name[parent].id if parent in by_name else None
        if folder.parent_id != parent_id:
            tx.upsert_folder(replace(folder, parent_id=parent_id))
    for folder in vanished.values():
        orphans.extend(tx.delete_folder(folder.id))
        if emit:
            tx.append_event(NewEvent(grant_id=grant_id, type=EventType.FOLDER_DELETED,
                                     object_id=folder.id, payload=folder_payload(folder)))
    return without_location(tx, orphans)


def _unchanged(stored: Sequence[Folder], entries: Sequence[ListEntry]) -> bool:
    """Whether a LIST result matches the stored folders exactly (the usual case for a
    poll: then there is nothing to write)."""
    by_name = {f.name: f for f in stored}
    if set(by_name) != {e.name for e in entries}:
        return False
    return all(by_name[e.name].attributes == _attributes(e)
               and by_name[e.name].role == role_for(e) for e in entries)


async def list_with_status(client: ImapClient) -> tuple[list[ListEntry], dict[str, Status]]:
    """LIST (and, when the server offers LIST-STATUS, every folder's STATUS with it)."""
    try:
        entries, statuses = await client.list_status()
    except CommandError:
        entries, statuses = await client.list("", "*"), {}
    return [e for e in entries if not {a.lower() for a in e.attributes} & _UNSELECTABLE], \
        statuses


async def discover_folders(link: GrantLink, client: ImapClient, *, emit: bool,
                           entries: Sequence[ListEntry] | None = None,
                           stored: Sequence[Folder] | None = None
                           ) -> tuple[list[Folder], list[str]]:
    """LIST the account (unless ``entries`` are given) and reconcile; returns the
    selectable folders and the orphaned message ids. ``stored`` is a recent read of
    the stored folders: when the LIST matches it, it is the answer; otherwise (or
    without it) the store is read."""
    if entries is None:
        entries, _ = await list_with_status(client)
    if stored is not None and _unchanged(stored, entries):
        return list(stored), []
    current = await link.store.list_folders(link.grant_id)
    if _unchanged(current, entries):
        return current, []
    stored_names = {f.name for f in current}
    uidvalidities: dict[str, int] = {}
    if stored_names:
        for entry in entries:
            if entry.name not in stored_names:  # a rename candidate: learn its UIDVALIDITY
                try:
                    status = await client.status(entry.name, "UIDVALIDITY")
                except ServerNo:
                    continue  # gone again already; the next LIST tells
                if status.uidvalidity is not None:
                    uidvalidities[entry.name] = status.uidvalidity
    orphans = await link.store.write(functools.partial(
        _apply_listing, grant_id=link.grant_id, entries=entries, uidvalidities=uidvalidities,
        emit=emit))
    folders = await link.store.list_folders(link.grant_id)
    if orphans:
        log.info("folders.removed", grant=link.grant_id, orphans=len(orphans))
    return folders, orphans
