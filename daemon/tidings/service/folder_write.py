"""Creating, renaming and deleting folders for the API, mirrored on the server.

The server changes first (CREATE, RENAME, DELETE: RFC 9051 §6.3.4-6.3.6); then the sync's
own folder discovery reconciles the store with a fresh LIST on the same connection. So a
folder made here gets exactly the id, attributes and role the sync would give it, its
event is written once, and the sync's next LIST finds nothing left to report.
"""

from __future__ import annotations

import functools
from typing import Final

from tidings.domain import Folder, FolderRole
from tidings.imap import ImapClient, ServerNo
from tidings.log import get_logger
from tidings.service.errors import Conflict, InvalidField, PreconditionFailed
from tidings.service.mail_changes import changing
from tidings.service.mail_read import MailReader
from tidings.sync import apply
from tidings.sync.folders import discover_folders
from tidings.sync.link import GrantLink

__all__ = ["FolderWriter", "check_folder_name"]

log = get_logger("tidings.service")

MAX_FOLDER_NAME: Final = 255
_DEFAULT_DELIMITER: Final = "/"


def check_folder_name(name: str, delimiter: str | None) -> str:
    name = name.strip()
    if not name:
        raise InvalidField("name", "must not be empty")
    if len(name) > MAX_FOLDER_NAME:
        raise InvalidField("name", f"at most {MAX_FOLDER_NAME} characters")
    if any(ch in name for ch in "\r\n\x00*%"):
        # RFC 9051 §6.3.9: * and % are LIST wildcards; CR, LF and NUL cannot be sent.
        raise InvalidField("name", "must not contain CR, LF, NUL, * or %")
    if delimiter and delimiter in name:
        raise InvalidField("name", f"one path component: must not contain {delimiter!r}")
    if name.upper() == "INBOX":
        raise InvalidField("name", "INBOX is reserved (RFC 9051 §5.1)")
    return name


def _delimiter(folders: list[Folder]) -> str:
    return next((f.delimiter for f in folders if f.delimiter), _DEFAULT_DELIMITER)


class FolderWriter:
    def __init__(self, reader: MailReader) -> None:
        self.reader = reader
        self.store = reader.store

    async def _path(self, grant_id: str, name: str, parent_id: str | None) -> str:
        folders = await self.store.list_folders(grant_id)
        delimiter = _delimiter(folders)
        leaf = check_folder_name(name, delimiter)
        if parent_id is None:
            path = leaf
        else:
            parent = await self.reader.folder(grant_id, parent_id)
            path = f"{parent.name}{parent.delimiter or delimiter}{leaf}"
        if any(f.name.casefold() == path.casefold() for f in folders):
            raise Conflict(f"a folder named {path!r} exists")
        return path

    async def _reconcile(self, link: GrantLink, client: ImapClient, path: str) -> Folder:
        folders, orphans = await discover_folders(link, client, emit=True)
        if orphans:
            await self.store.write(functools.partial(
                apply.reap_orphans, grant_id=link.grant_id, candidates=orphans))
        found = next((f for f in folders if f.name == path), None)
        if found is None:
            raise PreconditionFailed(f"the mail server does not list {path!r} after the change")
        return found

    async def create_folder(self, grant_id: str, name: str, parent_id: str | None) -> Folder:
        path = await self._path(grant_id, name, parent_id)
        link = await self.reader.link(grant_id)
        async with changing(link, "api:create-folder") as client:
            try:
                await client.create(path)
            except ServerNo as exc:
                raise PreconditionFailed(f"the mail server refused to create {path!r}: "
                                         f"{exc.text}") from None
            folder = await self._reconcile(link, client, path)
        log.info("api.folder_created", grant=grant_id, folder=folder.id)
        return folder

    async def update_folder(self, grant_id: str, folder_id: str, name: str | None,
                            parent_id: str | None, move: bool) -> Folder:
        """Rename the folder, or move it under `parent_id` (`move`; None: top level).
        RENAME carries the folder's children along (RFC 9051 §6.3.6)."""
        folder = await self.reader.folder(grant_id, folder_id)
        if folder.role == FolderRole.INBOX:
            raise InvalidField("id", "INBOX cannot be renamed here")
        delimiter = folder.delimiter or _DEFAULT_DELIMITER
        leaf = folder.name.rsplit(delimiter, 1)[-1]
        if not move:
            parent_id = folder.parent_id
        if parent_id == folder.id:
            raise InvalidField("parent_id", "a folder cannot be its own parent")
        path = await self._path(grant_id, leaf if name is None else name, parent_id) \
            if (name is not None and name != leaf) or parent_id != folder.parent_id \
            else folder.name
        if path == folder.name:
            return folder
        if path.startswith(folder.name + delimiter):
            raise InvalidField("parent_id", "a folder cannot move under its own child")
        link = await self.reader.link(grant_id)
        async with changing(link, "api:rename-folder") as client:
            try:
                await client.rename(folder.name, path)
            except ServerNo as exc:
                raise PreconditionFailed(f"the mail server refused to rename {folder.name!r}: "
                                         f"{exc.text}") from None
            renamed = await self._reconcile(link, client, path)
        log.info("api.folder_renamed", grant=grant_id, folder=renamed.id,
                 same_id=renamed.id == folder.id)
        return renamed

    async def delete_folder(self, grant_id: str, folder_id: str) -> None:
        folder = await self.reader.folder(grant_id, folder_id)
        if folder.role == FolderRole.INBOX:
            raise PreconditionFailed("INBOX cannot be deleted (RFC 9051 §6.3.5)")
        link = await self.reader.link(grant_id)
        async with changing(link, "api:delete-folder") as client:
            try:
                await client.delete(folder.name)
            except ServerNo as exc:
                raise PreconditionFailed(f"the mail server refused to delete {folder.name!r}: "
                                         f"{exc.text}") from None
            folders, orphans = await discover_folders(link, client, emit=True)
            if orphans:
                # The folder is gone from the server, and its mail with it.
                await self.store.write(functools.partial(
                    apply.reap_orphans, grant_id=grant_id, candidates=orphans))
        if any(f.id == folder.id for f in folders):
            raise PreconditionFailed(f"{folder.name!r} is still listed by the mail server")
        log.info("api.folder_deleted", grant=grant_id, folder=folder.id, removed=len(orphans))
