"""The blocking client's mail methods against a real daemon and Dovecot: flags, moves and
deletes of messages and threads, folder changes, attachment downloads. Each change is
checked in the values returned and on the IMAP server."""

from __future__ import annotations

import functools
import io
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.clients.conftest import ClientDaemon, call, imap_session
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tidings.imap import Raw
from tidings_client import (
    TOP_LEVEL,
    FailedPrecondition,
    Folder,
    FolderRole,
    Grant,
    Message,
    NotFound,
    Thread,
    ThreadPage,
    Tidings,
)

pytestmark = pytest.mark.dovecot

T = TypeVar("T")
PAYLOAD = bytes(range(256)) * 6000  # 1,536,000 bytes, every byte value: two 1 MiB pieces


@dataclass
class Account:
    """A synced grant of a seeded Dovecot user, and the client that made it."""

    client: Tidings
    grant: Grant
    dovecot: Dovecot
    user: str
    password: str

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await call(functools.partial(fn, *args, **kwargs))

    async def folders(self) -> dict[str, Folder]:
        return {f.path: f for f in await self.run(self.client.list_folders, self.grant.id)}

    async def message(self, subject: str) -> Message:
        page = await self.run(self.client.list_messages, self.grant.id, subject=subject)
        [message] = [m for m in page.messages if m.subject == subject]
        return message

    async def server_subjects(self, folder: str) -> set[str]:
        """The subjects Dovecot holds in ``folder``."""
        async with imap_session(self.dovecot, self.user, self.password) as imap:
            await imap.examine(folder)
            uids = await imap.uid_search(Raw("ALL"))
            if not uids:
                return set()
            subjects = set()
            async with aclosing(imap.uid_fetch(
                    uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])) as fetches:
                async for fetch in fetches:
                    header = fetch.sections.get("BODY[HEADER.FIELDS (SUBJECT)]") or b""
                    subjects.add(header.decode().partition(":")[2].strip())
            return subjects


@pytest.fixture
async def account(client_daemon: ClientDaemon, dovecot: Dovecot) -> AsyncIterator[Account]:
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject="Budget", message_id="<budget@example.com>")],
                 when=datetime.now(UTC) - timedelta(hours=1))
    dovecot.seed(user, [
        make_message(subject="Re: Budget", message_id="<budget2@example.com>",
                     in_reply_to="<budget@example.com>"),
        make_message(subject="Report", message_id="<report@example.com>",
                     attachment=("report.bin", PAYLOAD)),
        make_message(subject="Lunch", message_id="<lunch@example.com>"),
    ])
    with client_daemon.client() as client:
        await call(client.create_connector, "mail")
        grant = await client_daemon.synced_grant(client, user, password)
        yield Account(client, grant, dovecot, user, password)


async def test_update_flags_move_and_delete_to_trash(account: Account) -> None:
    client, grant_id = account.client, account.grant.id
    folders = await account.folders()
    lunch = await account.message("Lunch")
    assert lunch.unread and not lunch.starred

    flagged = await account.run(client.update_message, grant_id, lunch.id,
                                unread=False, starred=True)
    assert isinstance(flagged, Message)
    assert (flagged.id, flagged.unread, flagged.starred) == (lunch.id, False, True)
    assert flagged.folders == (folders["INBOX"].id,)  # left alone
    assert await account.run(client.get_message, grant_id, lunch.id) == flagged

    moved = await account.run(client.update_message, grant_id, lunch.id,
                              folders=[folders["Archive"].id])
    assert moved.folders == (folders["Archive"].id,)
    assert (moved.unread, moved.starred) == (False, True)  # left alone
    assert "Lunch" in await account.server_subjects("Archive")
    assert "Lunch" not in await account.server_subjects("INBOX")

    await account.run(client.delete_message, grant_id, lunch.id)
    in_trash = await account.run(client.get_message, grant_id, lunch.id)
    assert in_trash.folders == (folders["Trash"].id,)
    assert "Lunch" in await account.server_subjects("Trash")
    await account.run(client.delete_message, grant_id, lunch.id)  # from Trash: expunged
    with pytest.raises(NotFound):
        await account.run(client.get_message, grant_id, lunch.id)
    assert "Lunch" not in await account.server_subjects("Trash")


async def test_thread_list_get_and_update(account: Account) -> None:
    client, grant_id = account.client, account.grant.id
    folders = await account.folders()
    page = await account.run(client.list_threads, grant_id, subject="Budget")
    assert isinstance(page, ThreadPage) and page.next_cursor == ""
    [thread] = page.threads
    assert isinstance(thread, Thread) and len(thread.message_ids) == 2
    assert thread.latest_message is not None and thread.latest_draft is None
    assert thread.latest_message.subject == "Re: Budget"
    assert await account.run(client.get_thread, grant_id, thread.id) == thread

    first = await account.run(client.list_threads, grant_id, limit=1)
    assert len(first.threads) == 1 and first.next_cursor
    second = await account.run(client.list_threads, grant_id, limit=1,
                               page_token=first.next_cursor)
    assert second.threads[0].id != first.threads[0].id

    read = await account.run(client.update_thread, grant_id, thread.id, unread=False,
                             starred=True)
    assert (read.unread, read.starred) == (False, True)
    assert (await account.run(client.list_threads, grant_id, unread=True, subject="Budget")
            ).threads == ()
    archived = await account.run(client.update_thread, grant_id, thread.id,
                                 folders=[folders["Archive"].id])
    assert archived.folders == (folders["Archive"].id,)
    for message_id in thread.message_ids:
        message = await account.run(client.get_message, grant_id, message_id)
        assert message.folders == (folders["Archive"].id,)
        assert (message.unread, message.starred) == (False, True)
    assert {"Budget", "Re: Budget"} <= await account.server_subjects("Archive")


async def test_folder_create_rename_move_and_delete(account: Account) -> None:
    client, grant_id = account.client, account.grant.id
    folders = await account.folders()
    parent = await account.run(client.create_folder, grant_id, "Projects")
    assert (parent.name, parent.path, parent.parent_id) == ("Projects", "Projects", None)
    child = await account.run(client.create_folder, grant_id, "Receipts",
                              parent_id=parent.id)
    assert child.parent_id == parent.id and child.role is FolderRole.NONE
    assert await account.run(client.get_folder, grant_id, child.id) == child
    assert [f.id for f in await account.run(client.list_folders, grant_id,
                                            parent_id=parent.id)] == [child.id]

    renamed = await account.run(client.update_folder, grant_id, child.id, name="Invoices")
    assert (renamed.id, renamed.name, renamed.parent_id) == (child.id, "Invoices", parent.id)
    moved = await account.run(client.update_folder, grant_id, child.id, parent_id=TOP_LEVEL)
    assert (moved.name, moved.path, moved.parent_id) == ("Invoices", "Invoices", None)
    async with imap_session(account.dovecot, account.user, account.password) as imap:
        names = {m.name for m in await imap.list("", "*")}
    assert {"Projects", "Invoices"} <= names and "Projects/Receipts" not in names

    await account.run(client.delete_folder, grant_id, moved.id)
    with pytest.raises(NotFound):
        await account.run(client.get_folder, grant_id, moved.id)
    with pytest.raises(FailedPrecondition, match="INBOX"):
        await account.run(client.delete_folder, grant_id, folders["INBOX"].id)


async def test_attachment_metadata_and_download(account: Account, tmp_path: Path) -> None:
    client, grant_id = account.client, account.grant.id
    report = await account.message("Report")
    [listed] = report.attachments
    attachment = await account.run(client.get_attachment, grant_id, report.id, listed.id)
    assert attachment == listed
    assert (attachment.filename, attachment.content_type) == (
        "report.bin", "application/octet-stream")

    chunks = await account.run(
        lambda: list(client.download_attachment(grant_id, report.id, attachment.id)))
    assert len(chunks) > 1 and b"".join(chunks) == PAYLOAD
    buffer = io.BytesIO()
    assert await account.run(client.download_attachment_to, grant_id, report.id,
                             attachment.id, buffer) == len(PAYLOAD)
    assert buffer.getvalue() == PAYLOAD
    path = tmp_path / "report.bin"
    with path.open("wb") as file:
        await account.run(client.download_attachment_to, grant_id, report.id,
                          attachment.id, file)
    assert path.read_bytes() == PAYLOAD

    # Stopping early ends the call; the next download still works.
    def first_piece() -> bytes:
        stream = client.download_attachment(grant_id, report.id, attachment.id)
        piece = next(stream)
        stream.close()
        return piece

    assert PAYLOAD.startswith(await account.run(first_piece))
    with pytest.raises(NotFound):
        await account.run(lambda: list(client.download_attachment(grant_id, report.id,
                                                                  "no-such-part")))
