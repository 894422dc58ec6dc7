"""A synced grant on the real Dovecot behind the daemon fixture, seeded with a known
mailbox: a thread across INBOX and Sent, flags, addresses in every role, an attachment,
nested folders, and enough filler for several pages."""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import grpc
import pytest

from tests.daemon.conftest import Daemon, daemon, grant_request
from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.v1 import (
    attachments_pb2_grpc,
    events_pb2,
    folders_pb2,
    folders_pb2_grpc,
    grants_pb2,
    messages_pb2_grpc,
    threads_pb2_grpc,
)

__all__ = ["Code", "Mailbox", "build_message", "daemon", "mailbox", "sync_mailbox"]

Code = grpc.StatusCode
NOW = datetime.now(UTC).replace(microsecond=0)
FILLER = 17


def build_message(*, subject: str, sender: str = "team@example.com",
                  to: str = "owner@example.org", cc: str | None = None,
                  bcc: str | None = None, body: str = "hello", message_id: str,
                  in_reply_to: str | None = None,
                  attachments: tuple[tuple[str, str, bytes | str], ...] = ()) -> bytes:
    """RFC 5322 bytes with CRLF line ends, as a mail server stores and serves them.

    `attachments` holds (file name, MIME type, content); text content is sent
    quoted-printable, bytes as base64."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if bcc:
        msg["Bcc"] = bcc
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(NOW)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    for name, mime_type, content in attachments:
        maintype, subtype = mime_type.split("/")
        if isinstance(content, str):
            msg.add_attachment(content, subtype=subtype, filename=name, cte="quoted-printable")
        else:
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=email.policy.SMTP)


@dataclass
class Mailbox:
    """A grant synced from a seeded Dovecot user; `raw` maps subjects to the bytes seeded."""

    daemon: Daemon
    grant: grants_pb2.Grant
    user: str
    password: str
    raw: dict[str, bytes] = field(default_factory=dict)
    dates: dict[str, int] = field(default_factory=dict)
    dovecot: Dovecot | None = None

    @property
    def grant_id(self) -> str:
        return str(self.grant.id)

    @property
    def messages(self) -> messages_pb2_grpc.MessageServiceStub:
        return messages_pb2_grpc.MessageServiceStub(self.daemon.channel)

    @property
    def threads(self) -> threads_pb2_grpc.ThreadServiceStub:
        return threads_pb2_grpc.ThreadServiceStub(self.daemon.channel)

    @property
    def folders(self) -> folders_pb2_grpc.FolderServiceStub:
        return folders_pb2_grpc.FolderServiceStub(self.daemon.channel)

    @property
    def attachments(self) -> attachments_pb2_grpc.AttachmentServiceStub:
        return attachments_pb2_grpc.AttachmentServiceStub(self.daemon.channel)

    async def call(self, method: Callable[..., Any], request: Any) -> Any:
        return await self.daemon.call(method, request)

    async def failure(self, method: Callable[..., Any], request: Any) -> grpc.RpcError:
        return await self.daemon.failure(method, request)

    async def folder_ids(self) -> dict[str, str]:
        """Folder path → id."""
        reply = await self.call(self.folders.ListFolders,
                                folders_pb2.ListFoldersRequest(grant_id=self.grant_id))
        return {folder.path: folder.id for folder in reply.folders}


def _seed(dovecot: Dovecot, user: str, box: dict[str, bytes], dates: dict[str, int],
          subject: str, raw: bytes, *, folder: str = "INBOX", flags: str = "",
          days_ago: float) -> None:
    when = NOW - timedelta(days=days_ago)
    dovecot.seed(user, [raw], folder=folder, flags=flags, when=when, chown=False)
    box[subject] = raw
    dates[subject] = int(when.timestamp())


def seed_known_mailbox(dovecot: Dovecot, user: str) -> tuple[dict[str, bytes], dict[str, int]]:
    box: dict[str, bytes] = {}
    dates: dict[str, int] = {}
    seed = _seed
    seed(dovecot, user, box, dates, "Quarterly budget", build_message(
        subject="Quarterly budget", sender="Ann Lee <ann@example.com>",
        body="The zebra crossing is in the budget.", message_id="<q1@example.com>"),
        flags="S", days_ago=10)
    seed(dovecot, user, box, dates, "Lunch plans", build_message(
        subject="Lunch plans", sender="bob@example.net", cc="carol@example.org",
        body="Noodles?", message_id="<lunch@example.net>"), flags="F", days_ago=9)
    seed(dovecot, user, box, dates, "Re: Quarterly budget", build_message(
        subject="Re: Quarterly budget", sender="dave@example.com",
        body="Numbers attached.", message_id="<q2@example.com>",
        in_reply_to="<q1@example.com>",
        attachments=(("numbers.bin", "application/octet-stream", bytes(range(256)) * 4),)),
        days_ago=8)
    seed(dovecot, user, box, dates, "Re: Re: Quarterly budget", build_message(
        subject="Re: Re: Quarterly budget", sender="owner@example.org",
        to="ann@example.com", bcc="erin@example.com", body="Thanks, all good.",
        message_id="<q3@example.org>", in_reply_to="<q2@example.com>"),
        folder="Sent", flags="S", days_ago=7)
    seed(dovecot, user, box, dates, "Old archive", build_message(
        subject="Old archive", sender="frank@example.com", message_id="<old@example.com>"),
        folder="Archive", flags="S", days_ago=20)
    seed(dovecot, user, box, dates, "Project kickoff", build_message(
        subject="Project kickoff", message_id="<kick@example.com>"),
        folder="Projects", flags="S", days_ago=6)
    seed(dovecot, user, box, dates, "Alpha status", build_message(
        subject="Alpha status", message_id="<alpha@example.com>"),
        folder="Projects/Alpha", days_ago=5)
    for n in range(FILLER):
        subject = f"Filler {n:02d}"
        seed(dovecot, user, box, dates, subject, build_message(
            subject=subject, sender="news@example.com", message_id=f"<filler{n}@example.com>"),
            flags="S", days_ago=30 + n)
    dovecot.chown_mail(user)
    return box, dates


async def sync_mailbox(daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer,
                       seed: Callable[[str], tuple[dict[str, bytes], dict[str, int]]]
                       ) -> Mailbox:
    """A new Dovecot user, seeded by `seed(user)`, as a grant whose first sync is done."""
    if not await daemon.running.store.list_connectors():
        # The connector's interval is the one a grant polls at (its default is 60 s);
        # `settle` waits for a poll of folders without IDLE.
        await daemon.create_connector(poll_interval_seconds=5)
    user, password = dovecot.add_user()
    box, dates = seed(user)
    subscription = daemon.subscribe(events_pb2.SubscribeRequest(cursor=await daemon.cursor_at(0)))
    grant = await daemon.call(daemon.grants.CreateGrant,
                              grant_request(dovecot, smtp_server, user, password))
    await subscription.wait_type("grant.imap_sync_completed", grant.id, seconds=60)
    subscription.close()
    return Mailbox(daemon, grant, user, password, box, dates, dovecot)


@pytest.fixture
async def mailbox(daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> Mailbox:
    return await sync_mailbox(daemon, dovecot, smtp_server,
                              lambda user: seed_known_mailbox(dovecot, user))
