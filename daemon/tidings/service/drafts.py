"""Drafts for the API: messages with the \\Draft flag in the grant's Drafts folder
(RFC 9051 §2.3.2), created by APPEND; an update appends the new version, expunges the
old one, and keeps the draft's id and Message-ID; sending one submits its stored bytes
(without Bcc) and then removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tidings.domain import Folder, FolderRole, Message
from tidings.domain.outgoing import OutgoingMessage
from tidings.log import get_logger
from tidings.mime.compose import strip_header_fields
from tidings.service.errors import InvalidField, NotFound, PreconditionFailed
from tidings.service.mail_changes import (
    LocationChange,
    changing,
    expunge,
    find_uid,
    record_change,
    select_for_change,
    store_appended,
)
from tidings.service.mail_read import check_page_token
from tidings.service.outgoing import Prepared, check_outgoing, prepare
from tidings.service.send import Sender, SendOutcome
from tidings.store import MessageQuery, Page
from tidings.sync.link import GrantLink

__all__ = ["DRAFT_FLAGS", "DraftView", "Drafts"]

log = get_logger("tidings.service")

DRAFT_FLAGS = ("\\Draft", "\\Seen")


@dataclass(frozen=True, slots=True)
class DraftView:
    message: Message
    reply_to_message_id: str | None  # our id of the message the draft answers


class Drafts:
    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.reader = sender.reader
        self.store = sender.store

    async def _drafts_folder(self, grant_id: str) -> Folder:
        await self.reader.check_grant(grant_id)
        folders = await self.store.list_folders(grant_id)
        found = next((f for f in folders if f.role == FolderRole.DRAFTS), None)
        if found is None:
            raise PreconditionFailed("the grant has no Drafts folder")
        return found

    async def _view(self, message: Message) -> DraftView:
        answered = None
        if message.in_reply_to:
            header = message.in_reply_to[-1]
            answered = await self.store.write(
                lambda tx: tx.find_message(message.grant_id, header, None))
        return DraftView(message, answered)

    async def _draft(self, grant_id: str, draft_id: str) -> tuple[Folder, Message]:
        folder = await self._drafts_folder(grant_id)
        try:
            message = await self.reader.get_message(grant_id, draft_id)
        except NotFound:
            raise NotFound("draft", draft_id) from None
        if folder.id not in message.folder_ids:
            raise NotFound("draft", draft_id)
        return folder, message

    async def _original(self, grant_id: str, draft: OutgoingMessage) -> Message | None:
        if not draft.reply_to_message_id:
            return None
        try:
            return await self.reader.get_message(grant_id, draft.reply_to_message_id)
        except NotFound:
            raise InvalidField("reply_to_message_id", "no such message") from None

    async def _append(self, link: GrantLink, folder: Folder, prepared: Prepared,
                      replacing: Message | None) -> Message:
        async with changing(link, "api:draft") as client:
            appended = await client.append(folder.name, prepared.kept, DRAFT_FLAGS,
                                           prepared.date)
            await select_for_change(client, folder)
            uid = appended.uids[-1] if appended is not None and appended.uids and \
                appended.uidvalidity == folder.uidvalidity else None
            if uid is None:
                uid = await find_uid(client, prepared.message_id_header)
            if replacing is not None:
                old = [loc.uid for loc in replacing.locations
                       if loc.folder_id == folder.id and loc.uid is not None and loc.uid != uid]
                await expunge(client, old)
            if uid is None:
                raise PreconditionFailed("the mail server did not say where it saved the draft")
            return await store_appended(link, client, folder, uid, replacing=replacing)

    # -- the API's calls ------------------------------------------------------------------
    async def create(self, grant_id: str, draft: OutgoingMessage) -> DraftView:
        folder = await self._drafts_folder(grant_id)
        check_outgoing(draft, need_recipients=False)
        original = await self._original(grant_id, draft)
        link = await self.reader.link(grant_id)
        prepared = prepare(link.grant, draft, original=original)
        message = await self._append(link, folder, prepared, None)
        log.info("api.draft_created", grant=grant_id, draft=message.id)
        return await self._view(message)

    async def update(self, grant_id: str, draft_id: str, draft: OutgoingMessage) -> DraftView:
        folder, old = await self._draft(grant_id, draft_id)
        check_outgoing(draft, need_recipients=False)
        original = await self._original(grant_id, draft)
        link = await self.reader.link(grant_id)
        prepared = prepare(link.grant, draft, original=original,
                           message_id=old.message_id_header if not old.synthetic_id else None)
        message = await self._append(link, folder, prepared, old)
        return await self._view(message)

    async def delete(self, grant_id: str, draft_id: str) -> None:
        folder, message = await self._draft(grant_id, draft_id)
        uids = [loc.uid for loc in message.locations
                if loc.folder_id == folder.id and loc.uid is not None]
        link = await self.reader.link(grant_id)
        async with changing(link, "api:delete-draft") as client:
            await select_for_change(client, folder)
            await expunge(client, uids)
            await record_change(link, message.id, LocationChange(
                removed=tuple((folder.id, uid) for uid in uids)))

    async def get(self, grant_id: str, draft_id: str) -> DraftView:
        _, message = await self._draft(grant_id, draft_id)
        return await self._view(message)

    async def list(self, grant_id: str, *, limit: int, page_token: str | None,
                   thread_id: str | None) -> Page[DraftView]:
        folder = await self._drafts_folder(grant_id)
        check_page_token(page_token)
        page = await self.store.list_messages(grant_id, MessageQuery(
            limit=limit, page_token=page_token, folder_id=folder.id, thread_id=thread_id))
        return Page(tuple([await self._view(m) for m in page.items]), page.next_page_token)

    async def send(self, grant_id: str, draft_id: str, key: str | None) -> SendOutcome:
        """Submit the draft as stored on the server (Bcc removed for the recipients,
        RFC 5322 §3.6.3), save it to Sent, then delete the draft."""
        _, draft = await self._draft(grant_id, draft_id)
        recipients = tuple(dict.fromkeys(a.email for a in (*draft.to, *draft.cc, *draft.bcc)))
        if not recipients:
            raise InvalidField("to", "the draft has no recipients")
        raw = await self.reader.fetch_raw(draft)
        link = await self.reader.link(grant_id)
        view = await self._view(draft)
        prepared = Prepared(
            wire=strip_header_fields(raw, ["Bcc"]), kept=raw,
            sender=draft.from_[0].email if draft.from_ else link.grant.email,
            recipients=recipients, answers=view.reply_to_message_id,
            message_id_header=draft.message_id_header, subject=draft.subject,
            date=datetime.now(UTC))
        outcome = await self.sender.send_prepared(link, prepared, key)
        if outcome.replay:
            return outcome
        await self.delete(grant_id, draft_id)
        if not outcome.message.id:
            return outcome
        # The Sent copy has the draft's identity, so it may be the same stored message:
        # read it again now that it has left Drafts.
        try:
            return SendOutcome(await self.reader.get_message(grant_id, outcome.message.id))
        except NotFound:
            return outcome

