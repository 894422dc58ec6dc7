"""Sending mail for the API: SMTP submission, the copy in Sent, idempotency keys and
the send events.

Order of work for one send: check the request and the provider's size limit (nothing
leaves before that), claim the idempotency key, submit over SMTP (4xx retried with
backoff by `tidings.smtp.send_with_retry`), then save the Sent copy by APPEND unless
the provider files it itself, mark the answered message \\Answered, and record
`message.send_success`. A failed submission releases the key, records
`message.send_failed` and reports the server's words; nothing is saved to Sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

import trio

from tidings import smtp
from tidings.domain import EmailAddress, EventType, Folder, FolderRole, Message, NewEvent
from tidings.domain.outgoing import OutgoingMessage
from tidings.log import get_logger
from tidings.service.errors import (
    Conflict,
    InvalidField,
    LimitExceeded,
    NotFound,
    PreconditionFailed,
    ServiceError,
    Unreachable,
)
from tidings.service.mail_changes import changing, find_uid, store_appended
from tidings.service.mail_write import MailWriter, MessageChange
from tidings.service.outgoing import Prepared, check_outgoing, prepare
from tidings.service.verify import SslContextFactory, classify_smtp_error, smtp_params
from tidings.store import WriteTx
from tidings.sync import apply
from tidings.sync.link import GrantLink

__all__ = ["KEY_LIFETIME", "MAX_KEY", "SendOutcome", "Sender"]

log = get_logger("tidings.service")

KEY_LIFETIME: Final = 3600.0  # a key names one send for an hour
MAX_KEY: Final = 256


@dataclass(frozen=True, slots=True)
class SendOutcome:
    message: Message  # as stored in Sent; id "" when the provider files it itself
    replay: bool = False  # the first send's result, for a repeated idempotency key


def _check_key(key: str | None) -> str | None:
    if not key:
        return None
    if len(key) > MAX_KEY or not key.isprintable():
        raise InvalidField("idempotency_key", f"at most {MAX_KEY} printable characters")
    return key


def _smtp_failure(exc: smtp.SmtpError, where: str) -> ServiceError:
    if isinstance(exc, smtp.MessageTooLarge):
        return LimitExceeded(f"the SMTP server refused the size: {exc}")
    if isinstance(exc, smtp.SmtpDeliveryUnknown):
        return Unreachable("smtp", f"the connection broke before the server confirmed the "
                                   f"message; it may have been sent: {exc}")
    if isinstance(exc, smtp.SmtpReplyError) and exc.command != "AUTH" \
            and not isinstance(exc, smtp.SmtpAuthError):
        verdict = "temporarily refused" if exc.transient else "refused"
        return PreconditionFailed(f"the SMTP server {verdict} the message: "
                                  f"{exc.code} {exc.text}")
    return classify_smtp_error(exc, where)


def _unsaved(link: GrantLink, prepared: Prepared) -> Message:
    """The sent message as composed, for a provider that files sent mail itself: it is
    not stored yet (its id is empty) and arrives with the sync as message.created."""
    message = Message(
        id="", grant_id=link.grant_id, thread_id="",
        message_id_header=prepared.message_id_header, content_hash="",
        subject=prepared.subject, date=int(prepared.date.timestamp()),
        sent_date=int(prepared.date.timestamp()), flags=("\\Seen",), size=len(prepared.kept))
    c = prepared.composition
    if c is None:
        return message
    return replace(
        message,
        from_=tuple(EmailAddress(a.name or None, a.email) for a in c.from_),
        to=tuple(EmailAddress(a.name or None, a.email) for a in c.to),
        cc=tuple(EmailAddress(a.name or None, a.email) for a in c.cc),
        bcc=tuple(EmailAddress(a.name or None, a.email) for a in c.bcc),
        text_body=c.body if c.is_plaintext else None,
        html_body=None if c.is_plaintext else c.body)


def _send_event(tx: WriteTx, *, grant_id: str, kind: EventType, payload: dict[str, Any]
                ) -> None:
    tx.append_event(NewEvent(grant_id=grant_id, type=kind,
                             object_id=payload.get("id") or None, payload=payload))


class Sender:
    def __init__(self, writer: MailWriter, smtp_tls: SslContextFactory, *,
                 timeout: float = 30.0, attempts: int = 3, retry_delay: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.writer = writer
        self.reader = writer.reader
        self.store = writer.store
        self._smtp_tls = smtp_tls
        self._timeout = timeout
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._clock = clock

    async def send(self, grant_id: str, message: OutgoingMessage, key: str | None
                   ) -> SendOutcome:
        await self.reader.check_grant(grant_id)
        check_outgoing(message, need_recipients=True)
        original = None
        if message.reply_to_message_id:
            try:
                original = await self.reader.get_message(grant_id, message.reply_to_message_id)
            except NotFound:
                raise InvalidField("reply_to_message_id", "no such message") from None
        link = await self.reader.link(grant_id)
        prepared = prepare(link.grant, message, original=original)
        return await self.send_prepared(link, prepared, key)

    async def send_prepared(self, link: GrantLink, prepared: Prepared, key: str | None
                            ) -> SendOutcome:
        """Submit composed mail (a send, or a draft being sent) under `key`."""
        key = _check_key(key)
        limit = link.preset.send_limit_bytes
        if len(prepared.wire) > limit:
            # Checked before any SMTP traffic: the provider would refuse it anyway.
            raise LimitExceeded(f"the message is {len(prepared.wire):,} bytes encoded; "
                                f"{link.preset.name} accepts at most {limit:,}")
        if key is not None:
            replayed = await self._claim(link.grant_id, key)
            if replayed is not None:
                return replayed
        try:
            await self._submit(link, prepared)
        except BaseException:
            if key is not None:
                with trio.CancelScope(shield=True):
                    await self.store.write(
                        lambda tx: tx.release_send_key(link.grant_id, key))
            raise
        saved = await self._after_send(link, prepared)
        if key is not None and saved.id:
            await self.store.write(lambda tx: tx.finish_send_key(link.grant_id, key, saved.id))
        return SendOutcome(saved)

    async def _claim(self, grant_id: str, key: str) -> SendOutcome | None:
        now = self._clock()
        found = await self.store.write(
            lambda tx: tx.claim_send_key(grant_id, key, now, now - KEY_LIFETIME))
        if found is None:
            return None
        if found.pending or found.message_id is None:
            raise Conflict("a send with this idempotency_key is still running")
        try:
            message = await self.reader.get_message(grant_id, found.message_id)
        except NotFound:
            message = Message(id=found.message_id, grant_id=grant_id, thread_id="",
                              message_id_header="", content_hash="", date=0)
        log.info("api.send_replayed", grant=grant_id, message=found.message_id)
        return SendOutcome(message, replay=True)

    async def _submit(self, link: GrantLink, prepared: Prepared) -> None:
        grant = link.grant
        params = smtp_params(grant, self._smtp_tls(), self._timeout)
        where = f"{grant.smtp.host}:{grant.smtp.port}"
        summary = {"grant_id": grant.id, "message_id_header": prepared.message_id_header,
                   "subject": prepared.subject,
                   "to": [{"name": None, "email": r} for r in prepared.recipients],
                   "recipients": list(prepared.recipients)}
        try:
            result = await smtp.send_with_retry(
                params, grant.smtp_username, link.credentials.smtp_password,
                prepared.sender, prepared.recipients, prepared.wire,
                attempts=self._attempts, base_delay=self._retry_delay)
        except (smtp.SmtpError, OSError) as exc:
            failure = (_smtp_failure(exc, where) if isinstance(exc, smtp.SmtpError)
                       else Unreachable("smtp", f"cannot connect to {where}: {exc}"))
            await self.store.write(lambda tx: _send_event(
                tx, grant_id=grant.id, kind=EventType.MESSAGE_SEND_FAILED,
                payload={**summary, "error": failure.message}))
            log.warning("api.send_failed", grant=grant.id, error=failure.message)
            raise failure from None
        refused = dict(result.refused)
        log.info("api.sent", grant=grant.id, recipients=len(prepared.recipients),
                 refused=len(refused), size=len(prepared.wire))

    async def _after_send(self, link: GrantLink, prepared: Prepared) -> Message:
        """Save the Sent copy, mark the answered message, record message.send_success.
        The mail is out: a failure here is logged, never reported as a failed send."""
        saved = _unsaved(link, prepared)
        if not link.preset.saves_sent:
            try:
                saved = await self._save_to_sent(link, prepared) or saved
            except Exception as exc:  # IMAP, network or store trouble: the mail is out
                log.warning("api.sent_copy_failed", grant=link.grant_id, error=str(exc))
        if prepared.answers is not None:
            try:
                await self.writer.update_message(link.grant_id, prepared.answers,
                                                 MessageChange(answered=True))
            except Exception as exc:
                log.warning("api.mark_answered_failed", grant=link.grant_id, error=str(exc))
        # The message as sent (as stored in Sent when it was saved), like message.*
        # events carry it, plus every envelope recipient (Bcc included).
        payload = {**apply.message_payload(saved),
                   "message_id_header": prepared.message_id_header,
                   "recipients": list(prepared.recipients)}
        await self.store.write(lambda tx: _send_event(
            tx, grant_id=link.grant_id, kind=EventType.MESSAGE_SEND_SUCCESS, payload=payload))
        return saved

    async def _sent_folder(self, grant_id: str) -> Folder | None:
        folders = await self.store.list_folders(grant_id)
        return next((f for f in folders if f.role == FolderRole.SENT), None)

    async def _save_to_sent(self, link: GrantLink, prepared: Prepared) -> Message | None:
        sent = await self._sent_folder(link.grant_id)
        if sent is None:
            log.warning("api.no_sent_folder", grant=link.grant_id)
            return None
        async with changing(link, "api:save-sent") as client:
            appended = await client.append(sent.name, prepared.kept, ["\\Seen"],
                                           prepared.date)
            await client.examine(sent.name)
            uid = None
            if appended is not None and appended.uidvalidity == sent.uidvalidity \
                    and appended.uids:
                uid = appended.uids[-1]
            else:
                uid = await find_uid(client, prepared.message_id_header)
            if uid is None:
                return None
            return await store_appended(link, client, sent, uid)
