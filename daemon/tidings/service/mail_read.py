"""Reading a grant's mail for the API: stored messages, threads and folders, and the
reads that must ask the IMAP server (a native search, the raw MIME of a message).

Every object is checked to belong to the grant named in the call: an id of another
grant is reported exactly like an id that does not exist. Connections to the mail
server come from the grant's `GrantLink`, so they count against the same provider cap
as the grant's sync tasks, and they are closed before the call returns (DESIGN.md, IMAP).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Final, Protocol, runtime_checkable

from tidings.domain import Folder, FolderRole, Message, Thread
from tidings.imap import ImapClient, Raw, ServerNo, ServerResponseError
from tidings.log import get_logger
from tidings.service.errors import InvalidField, NotFound, PreconditionFailed
from tidings.store import MAX_LIMIT, InvalidQuery, MessageQuery, Page, Store, ThreadQuery
from tidings.store import NotFound as StoreNotFound
from tidings.store.page_token import decode_page_token, encode_page_token
from tidings.sync.link import GrantLink

__all__ = [
    "MAX_NATIVE_QUERY",
    "FolderView",
    "LinkSource",
    "MailReader",
    "ThreadView",
    "check_native_query",
    "check_page_token",
    "examine_for_uids",
    "message_locations",
]

log = get_logger("tidings.service")

MAX_NATIVE_QUERY: Final = 1000
# Page size while walking the stored list for the hits of a native search.
_SCAN_PAGE: Final = 200


@runtime_checkable
class LinkSource(Protocol):
    """Where API calls get a grant's link (the sync supervisor)."""

    async def link_for(self, grant_id: str) -> GrantLink: ...


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread with what its summary row lacks: its newest message, and when the
    grant last sent a message in it (None when it sent none)."""

    thread: Thread
    latest_message: Message | None
    latest_sent_date: int | None


@dataclass(frozen=True, slots=True)
class FolderView:
    folder: Folder
    child_count: int


def check_native_query(text: str) -> str:
    """An IMAP search expression as the caller gave it, sent as raw search keys
    (RFC 9051 §6.4.4). Nothing may end the command line early (§9: TEXT-CHAR)."""
    field = "search_query_native"
    if not text.strip():
        raise InvalidField(field, "must not be empty")
    if len(text) > MAX_NATIVE_QUERY:
        raise InvalidField(field, f"at most {MAX_NATIVE_QUERY} characters")
    if any(ch in text for ch in "\r\n\x00"):
        raise InvalidField(field, "must not contain CR, LF or NUL")
    return text


def check_page_token(token: str | None) -> None:
    if token is not None:
        try:
            decode_page_token(token)
        except InvalidQuery as exc:
            raise InvalidField("page_token", str(exc)) from None


def message_locations(message: Message) -> list[tuple[str, int]]:
    """(folder id, UID) of every copy whose UID is known, in the store's order."""
    return [(loc.folder_id, loc.uid) for loc in message.locations if loc.uid is not None]


async def examine_for_uids(client: ImapClient, folder: Folder) -> bool:
    """EXAMINE the folder (read-only: reading never sets \\Seen, RFC 9051 §6.3.3).

    False when its UIDs cannot be trusted: the folder is gone, or its UIDVALIDITY is
    no longer the one the stored UIDs were recorded under (RFC 9051 §2.3.1.1)."""
    try:
        selected = await client.examine(folder.name)
    except ServerNo:
        return False
    return folder.uidvalidity is not None and selected.uidvalidity == folder.uidvalidity


def _selectable(folder: Folder) -> bool:
    # RFC 9051 §7.3.1: \Noselect (and \NonExistent) mailboxes cannot be selected.
    lowered = {attribute.lower() for attribute in folder.attributes}
    return not lowered & {"\\noselect", "\\nonexistent"}


class MailReader:
    """Reads for MessageService, ThreadService and FolderService.

    `links` gives connections to the mail server; without it (a daemon without a sync
    supervisor) the reads that need the server fail with `PreconditionFailed`.
    """

    def __init__(self, store: Store, links: LinkSource | None) -> None:
        self.store = store
        self._links = links

    # -- ownership checks -------------------------------------------------------------------
    async def check_grant(self, grant_id: str) -> None:
        try:
            await self.store.get_grant(grant_id)
        except StoreNotFound:
            raise NotFound("grant", grant_id) from None

    async def _scope(self, grant_id: str, folder_id: str | None) -> Folder | None:
        """The grant checked, and the folder of `folder_id` when one is given: `NotFound`
        for an unknown grant, or for a folder that is not the grant's.

        A listing only finds the grant's messages in that folder, so one that found any
        needs neither check: listings run it only when they come back empty (which
        spares a call two store round trips)."""
        await self.check_grant(grant_id)
        return None if folder_id is None else await self.folder(grant_id, folder_id)

    async def folder(self, grant_id: str, folder_id: str) -> Folder:
        """The grant's folder with this id (`NotFound` for any other)."""
        try:
            folder = await self.store.get_folder(folder_id)
        except StoreNotFound:
            folder = None
        if folder is None or folder.grant_id != grant_id:
            raise NotFound("folder", folder_id)
        return folder

    async def folder_of(self, message: Message, folder_id: str) -> Folder | None:
        """A folder holding the message, or None when it went away meanwhile."""
        try:
            folder = await self.store.get_folder(folder_id)
        except StoreNotFound:
            return None
        return folder if folder.grant_id == message.grant_id else None

    async def link(self, grant_id: str) -> GrantLink:
        if self._links is None:
            raise PreconditionFailed("this daemon does not connect to mail servers for API "
                                     "calls (no sync supervisor)")
        try:
            return await self._links.link_for(grant_id)
        except StoreNotFound:
            raise NotFound("grant", grant_id) from None

    # -- messages -------------------------------------------------------------------------
    async def get_message(self, grant_id: str, message_id: str) -> Message:
        try:
            message = await self.store.get_message(message_id)
        except StoreNotFound:
            message = None
        if message is None or message.grant_id != grant_id:
            raise NotFound("message", message_id)
        return message

    async def list_messages(self, grant_id: str, query: MessageQuery,
                            native_query: str | None = None) -> Page[Message]:
        """A page of messages, newest first. With `native_query`, only the messages the
        server's UID SEARCH finds (in the `folder_id` folder, or in every folder) that
        also pass the other filters."""
        check_page_token(query.page_token)
        if native_query is None:
            page = await self.store.list_messages(grant_id, query)
            if not page.items:
                await self._scope(grant_id, query.folder_id)
            return page
        folder = await self._scope(grant_id, query.folder_id)
        hits = await self.native_search(grant_id, check_native_query(native_query), folder)
        return await self._page_of_hits(grant_id, query, hits)

    async def native_search(self, grant_id: str, text: str,
                            folder: Folder | None = None) -> set[str]:
        """Ids of the stored messages that UID SEARCH `text` finds, in `folder` or in
        every selectable folder of the grant, on one short-lived connection."""
        folders = [folder] if folder is not None else [
            f for f in await self.store.list_folders(grant_id) if _selectable(f)]
        link = await self.link(grant_id)
        criteria = Raw(text)
        hits: set[str] = set()
        async with link.connect("api:search") as client:
            # Non-ASCII text needs a charset unless UTF8=ACCEPT is on (RFC 6855 §3).
            if not text.isascii() and not client.utf8 and \
                    not text.lstrip().upper().startswith("CHARSET"):
                criteria = Raw(f"CHARSET UTF-8 {text}")
            for each in folders:
                if not await examine_for_uids(client, each):
                    continue
                try:
                    uids = await client.uid_search(criteria)
                except ServerResponseError as exc:
                    raise InvalidField("search_query_native",
                                       f"the mail server refused it: {exc}") from None
                known = await self.store.folder_uid_map(each.id)
                hits.update(known[uid][0] for uid in uids if uid in known)
        log.debug("api.native_search", grant=grant_id, folders=len(folders), hits=len(hits))
        return hits

    async def _page_of_hits(self, grant_id: str, query: MessageQuery,
                            hits: set[str]) -> Page[Message]:
        """Walk the stored list with the other filters, newest first, keeping the hits.

        The page token is the store's own keyset (date, id) of the last message given,
        so the next page resumes strictly below it: no duplicates, no gaps."""
        found: list[Message] = []
        unseen = set(hits)
        token = query.page_token
        while unseen and len(found) <= query.limit:
            page = await self.store.list_messages(
                grant_id, replace(query, limit=_SCAN_PAGE, page_token=token))
            for message in page.items:
                if message.id in unseen:
                    unseen.discard(message.id)
                    found.append(message)
                    if len(found) > query.limit:
                        break
            if page.next_page_token is None:
                break
            token = page.next_page_token
        items = tuple(found[: query.limit])
        more = len(found) > query.limit
        return Page(items, encode_page_token(items[-1].date, items[-1].id) if more else None)

    async def fetch_raw(self, message: Message) -> bytes:
        """The message as the server holds it (BODY.PEEK[], RFC 9051 §6.4.5), from the
        first of its copies that is still there."""
        link = await self.link(message.grant_id)
        async with link.connect("api:raw") as client:
            for folder_id, uid in message_locations(message):
                folder = await self.folder_of(message, folder_id)
                if folder is None or not await examine_for_uids(client, folder):
                    continue
                raw: bytes | None = None
                async with aclosing(client.uid_fetch([uid], ["BODY.PEEK[]"])) as fetches:
                    async for fetch in fetches:
                        if fetch.uid == uid:
                            raw = fetch.sections.get("BODY[]")
                if raw is not None:
                    return raw
        raise PreconditionFailed(f"message {message.id!r} is no longer on the mail server; "
                                 "the next sync removes it")

    # -- threads --------------------------------------------------------------------------
    async def get_thread(self, grant_id: str, thread_id: str) -> ThreadView:
        try:
            thread = await self.store.get_thread(thread_id)
        except StoreNotFound:
            thread = None
        if thread is None or thread.grant_id != grant_id:
            raise NotFound("thread", thread_id)
        return (await self._views(grant_id, [thread]))[0]

    async def list_threads(self, grant_id: str, query: ThreadQuery) -> Page[ThreadView]:
        check_page_token(query.page_token)
        page = await self.store.list_threads(grant_id, query)
        if not page.items:
            await self._scope(grant_id, query.folder_id)
        return Page(tuple(await self._views(grant_id, page.items)), page.next_page_token)

    async def _views(self, grant_id: str, threads: Iterable[Thread]) -> list[ThreadView]:
        """The threads with their latest messages and latest dates in Sent: one store
        call for all the latest messages and one per Sent folder, whatever the page."""
        threads = list(threads)
        latest_ids = tuple(dict.fromkeys(t.message_ids[-1] for t in threads if t.message_ids))
        latest: dict[str, Message] = {}
        for start in range(0, len(latest_ids), MAX_LIMIT):
            chunk = latest_ids[start : start + MAX_LIMIT]
            page = await self.store.list_messages(grant_id, MessageQuery(ids=chunk,
                                                                         limit=len(chunk)))
            latest.update((m.id, m) for m in page.items)  # a missing one was just removed
        sent = await self._latest_sent(grant_id, threads)
        return [ThreadView(t, latest.get(t.message_ids[-1]) if t.message_ids else None,
                           sent.get(t.id)) for t in threads]

    async def _latest_sent(self, grant_id: str, threads: list[Thread]) -> dict[str, int]:
        """Thread id → date of its latest message in a Sent folder, for those with one."""
        latest: dict[str, int] = {}
        for folder in await self.store.list_folders(grant_id):
            if folder.role != FolderRole.SENT:
                continue
            wanted = tuple(t.id for t in threads if folder.id in t.folder_ids)
            for start in range(0, len(wanted), MAX_LIMIT):
                await self._sent_dates(grant_id, folder.id, wanted[start : start + MAX_LIMIT],
                                       latest)
        return latest

    async def _sent_dates(self, grant_id: str, folder_id: str, thread_ids: tuple[str, ...],
                          latest: dict[str, int]) -> None:
        # Newest first: the first message seen of a thread is its latest there.
        unseen = set(thread_ids)
        query = MessageQuery(limit=MAX_LIMIT, folder_id=folder_id, thread_ids=thread_ids,
                             bodies=False, headers=False)
        while unseen:
            page = await self.store.list_messages(grant_id, query)
            for message in page.items:
                if message.thread_id in unseen:
                    unseen.discard(message.thread_id)
                    latest[message.thread_id] = max(message.date,
                                                    latest.get(message.thread_id, 0))
            if page.next_page_token is None:
                break
            query = replace(query, page_token=page.next_page_token)

    # -- folders --------------------------------------------------------------------------
    async def list_folders(self, grant_id: str, parent_id: str | None = None
                           ) -> list[FolderView]:
        """The grant's folders with their child counts; only the children of
        `parent_id` when given."""
        await self._scope(grant_id, parent_id)
        folders = await self.store.list_folders(grant_id)
        children: dict[str, int] = {}
        for folder in folders:
            if folder.parent_id is not None:
                children[folder.parent_id] = children.get(folder.parent_id, 0) + 1
        return [FolderView(folder, children.get(folder.id, 0)) for folder in folders
                if parent_id is None or folder.parent_id == parent_id]

    async def get_folder(self, grant_id: str, folder_id: str) -> FolderView:
        folder = await self.folder(grant_id, folder_id)
        siblings = await self.store.list_folders(grant_id)
        return FolderView(folder, sum(1 for f in siblings if f.parent_id == folder.id))
