"""Helpers for the tests of changes made through the API: what Dovecot holds, and a way
to know that the sync has looked at a folder since the change (so a second event, had
there been one, would be in the log)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

from tests.mailapi.conftest import Mailbox, build_message
from tidings.imap import ConnectParams, ImapClient, Raw, open_imap
from tidings.v1 import events_pb2

__all__ = ["events_for", "imap", "server_flags", "server_subjects", "settle"]


@asynccontextmanager
async def imap(mailbox: Mailbox) -> AsyncIterator[ImapClient]:
    box = mailbox.dovecot
    assert box is not None
    params = ConnectParams(host=box.host, port=box.tls_port, security="tls",
                           ssl_context=box.ssl_context())
    async with open_imap(params) as client:
        await client.login(mailbox.user, mailbox.password)
        yield client


async def server_subjects(mailbox: Mailbox, folder: str) -> dict[str, tuple[str, ...]]:
    """Subject → flags of every message in a Dovecot folder."""
    async with imap(mailbox) as client:
        await client.examine(folder)
        uids = await client.uid_search(Raw("ALL"))
        found: dict[str, tuple[str, ...]] = {}
        if not uids:
            return found
        async with aclosing(client.uid_fetch(
                uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])) as fetches:
            async for fetch in fetches:
                header = fetch.sections.get("BODY[HEADER.FIELDS (SUBJECT)]") or b""
                subject = header.decode().partition(":")[2].strip()
                found[subject] = tuple(fetch.flags or ())
        return found


async def server_flags(mailbox: Mailbox, folder: str, subject: str) -> tuple[str, ...]:
    return (await server_subjects(mailbox, folder))[subject]


async def settle(mailbox: Mailbox, *folders: str) -> None:
    """Put a marker message in each folder and wait until the sync has stored it: by then
    the sync has compared the folder with the store after the change under test."""
    subscription = mailbox.daemon.subscribe(events_pb2.SubscribeRequest(
        grant_ids=[mailbox.grant_id], types=["message.created"]))
    try:
        for folder in folders:
            subject = f"marker {uuid.uuid4().hex[:8]}"
            raw = build_message(subject=subject, message_id=f"<{subject.replace(' ', '.')}@t>")
            assert mailbox.dovecot is not None
            mailbox.dovecot.seed(mailbox.user, [raw], folder=folder)
            await subscription.wait_for(lambda e, s=subject: s in e.message.subject
                                        if e.HasField("message") else False, seconds=60)
    finally:
        subscription.close()


async def events_for(mailbox: Mailbox, object_id: str, kind: str) -> int:
    """How many events of this kind the log holds for the object."""
    return sum(1 for event in await mailbox.daemon.log()
               if event.object_id == object_id and event.type == kind)
