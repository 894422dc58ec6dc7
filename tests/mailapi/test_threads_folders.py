"""ThreadService and FolderService over a real socket: thread rollups, thread filters and
pages, folders with counts, roles, parents and children, and access across grants."""

from __future__ import annotations

from tests.daemon.conftest import Daemon
from tests.mailapi.conftest import FILLER, Code, Mailbox, build_message, sync_mailbox
from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.v1 import (
    attachments_pb2,
    folders_pb2,
    messages_pb2,
    threads_pb2,
)


async def _threads(mailbox: Mailbox, **filters: object) -> list[threads_pb2.Thread]:
    request = threads_pb2.ListThreadsRequest(grant_id=mailbox.grant_id, limit=200, **filters)
    reply = await mailbox.call(mailbox.threads.ListThreads, request)
    assert reply.next_cursor == ""
    return list(reply.threads)


async def test_thread_rolls_up_its_messages(mailbox: Mailbox) -> None:
    (thread,) = await _threads(mailbox, subject="quarterly")
    messages = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
        grant_id=mailbox.grant_id, thread_id=thread.id))
    oldest_first = [m.id for m in reversed(messages.messages)]
    assert list(thread.message_ids) == oldest_first
    assert thread.subject == "Quarterly budget"
    assert {p.email for p in thread.participants} == {
        "ann@example.com", "owner@example.org", "dave@example.com", "erin@example.com"}
    folders = await mailbox.folder_ids()
    assert set(thread.folders) == {folders["INBOX"], folders["Sent"]}
    assert thread.unread and thread.has_attachments and not thread.starred
    assert thread.earliest_message_date == mailbox.dates["Quarterly budget"]
    latest = mailbox.dates["Re: Re: Quarterly budget"]
    assert thread.latest_message_received_date == latest
    assert thread.latest_message_sent_date == latest
    assert thread.latest_message.subject == "Re: Re: Quarterly budget"
    assert thread.latest_message.id == oldest_first[-1]
    assert thread.snippet == thread.latest_message.snippet
    fetched = await mailbox.call(mailbox.threads.GetThread, threads_pb2.GetThreadRequest(
        grant_id=mailbox.grant_id, id=thread.id))
    assert fetched == thread
    # A thread the grant never wrote in has no sent date.
    (lunch,) = await _threads(mailbox, subject="lunch")
    assert not lunch.HasField("latest_message_sent_date") and lunch.starred


async def test_thread_filters_and_pages(mailbox: Mailbox) -> None:
    everything = await _threads(mailbox)
    assert len(everything) == 5 + FILLER
    dates = [t.latest_message_received_date for t in everything]
    assert dates == sorted(dates, reverse=True)
    seen: list[str] = []
    token = ""
    while True:
        reply = await mailbox.call(mailbox.threads.ListThreads, threads_pb2.ListThreadsRequest(
            grant_id=mailbox.grant_id, limit=4, page_token=token))
        seen += [t.id for t in reply.threads]
        token = reply.next_cursor
        if not token:
            break
    assert seen == [t.id for t in everything]
    folders = await mailbox.folder_ids()
    subjects = lambda threads: sorted(t.subject for t in threads)  # noqa: E731
    assert subjects(await _threads(mailbox, in_=folders["Sent"])) == ["Quarterly budget"]
    assert subjects(await _threads(mailbox, bcc=["erin@example.com"])) == ["Quarterly budget"]
    assert subjects(await _threads(mailbox, any_email=["carol@example.org"])) == ["Lunch plans"]
    assert subjects(await _threads(mailbox, unread=True)) == [
        "Alpha status", "Lunch plans", "Quarterly budget"]
    assert subjects(await _threads(mailbox, starred=True)) == ["Lunch plans"]
    assert subjects(await _threads(mailbox, has_attachment=True)) == ["Quarterly budget"]
    latest = mailbox.dates["Re: Re: Quarterly budget"]
    assert subjects(await _threads(mailbox, latest_message_after=latest)) == [
        "Alpha status", "Project kickoff"]
    assert subjects(await _threads(mailbox, latest_message_before=latest + 1,
                                   latest_message_after=latest - 1)) == ["Quarterly budget"]
    error = await mailbox.failure(mailbox.threads.ListThreads, threads_pb2.ListThreadsRequest(
        grant_id=mailbox.grant_id, limit=500))
    assert error.code() == Code.INVALID_ARGUMENT and error.details().startswith("limit:")
    error = await mailbox.failure(mailbox.threads.UpdateThread, threads_pb2.UpdateThreadRequest(
        grant_id=mailbox.grant_id, id="no-such-thread", starred=True))
    assert error.code() == Code.NOT_FOUND


async def test_folders_with_counts_roles_and_hierarchy(mailbox: Mailbox) -> None:
    reply = await mailbox.call(mailbox.folders.ListFolders,
                               folders_pb2.ListFoldersRequest(grant_id=mailbox.grant_id))
    by_path = {f.path: f for f in reply.folders}
    assert {path: f.role for path, f in by_path.items()} == {
        "INBOX": folders_pb2.FOLDER_ROLE_INBOX, "Sent": folders_pb2.FOLDER_ROLE_SENT,
        "Drafts": folders_pb2.FOLDER_ROLE_DRAFTS, "Trash": folders_pb2.FOLDER_ROLE_TRASH,
        "Junk": folders_pb2.FOLDER_ROLE_JUNK, "Archive": folders_pb2.FOLDER_ROLE_ARCHIVE,
        "Projects": folders_pb2.FOLDER_ROLE_UNSPECIFIED,
        "Projects/Alpha": folders_pb2.FOLDER_ROLE_UNSPECIFIED}
    inbox = by_path["INBOX"]
    assert (inbox.total_count, inbox.unread_count) == (3 + FILLER, 2)
    assert (by_path["Sent"].total_count, by_path["Sent"].unread_count) == (1, 0)
    assert "\\Sent" in by_path["Sent"].attributes
    projects, alpha = by_path["Projects"], by_path["Projects/Alpha"]
    assert alpha.name == "Alpha" and alpha.parent_id == projects.id
    assert projects.child_count == 1 and alpha.child_count == 0
    assert not projects.HasField("parent_id")
    assert all(f.grant_id == mailbox.grant_id for f in reply.folders)
    children = await mailbox.call(mailbox.folders.ListFolders, folders_pb2.ListFoldersRequest(
        grant_id=mailbox.grant_id, parent_id=projects.id))
    assert [f.id for f in children.folders] == [alpha.id]
    fetched = await mailbox.call(mailbox.folders.GetFolder, folders_pb2.GetFolderRequest(
        grant_id=mailbox.grant_id, id=projects.id))
    assert fetched == projects
    error = await mailbox.failure(mailbox.folders.CreateFolder, folders_pb2.CreateFolderRequest(
        grant_id=mailbox.grant_id, name="Alpha", parent_id=projects.id))
    assert error.code() == Code.ALREADY_EXISTS


async def test_another_grants_objects_are_not_found(
        mailbox: Mailbox, daemon: Daemon, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    def seed(user: str) -> tuple[dict[str, bytes], dict[str, int]]:
        raw = build_message(subject="Other", message_id="<other@example.com>",
                            attachments=(("x.bin", "application/octet-stream", b"\x01" * 10),))
        dovecot.seed(user, [raw])
        return {"Other": raw}, {}

    other = await sync_mailbox(daemon, dovecot, smtp_server, seed)
    reply = await other.call(other.messages.ListMessages,
                             messages_pb2.ListMessagesRequest(grant_id=other.grant_id))
    (message,) = reply.messages
    folders = await other.folder_ids()
    mine = mailbox.grant_id
    calls = [
        (mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(grant_id=mine, id=message.id)),
        (mailbox.threads.GetThread, threads_pb2.GetThreadRequest(grant_id=mine,
                                                                  id=message.thread_id)),
        (mailbox.folders.GetFolder, folders_pb2.GetFolderRequest(grant_id=mine,
                                                                  id=folders["INBOX"])),
        (mailbox.folders.ListFolders, folders_pb2.ListFoldersRequest(
            grant_id=mine, parent_id=folders["INBOX"])),
        (mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
            grant_id=mine, in_=folders["INBOX"])),
        (mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
            grant_id=mine, in_=folders["INBOX"], search_query_native="ALL")),
        (mailbox.threads.ListThreads, threads_pb2.ListThreadsRequest(
            grant_id=mine, in_=folders["INBOX"])),
        (mailbox.attachments.GetAttachment, attachments_pb2.GetAttachmentRequest(
            grant_id=mine, message_id=message.id, id=message.attachments[0].id)),
        (mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(grant_id="0" * 24)),
        (mailbox.threads.ListThreads, threads_pb2.ListThreadsRequest(grant_id="0" * 24)),
    ]
    for method, request in calls:
        error = await mailbox.failure(method, request)
        assert error.code() == Code.NOT_FOUND, (method, error.details())
    stream = mailbox.attachments.DownloadAttachment(attachments_pb2.DownloadAttachmentRequest(
        grant_id=mine, message_id=message.id, id=message.attachments[0].id),
        metadata=mailbox.daemon.auth, timeout=30)
    error = await mailbox.failure(lambda request, **_: list(stream), None)
    assert error.code() == Code.NOT_FOUND
    # The other grant sees its own message.
    same = await other.call(other.messages.GetMessage, messages_pb2.GetMessageRequest(
        grant_id=other.grant_id, id=message.id))
    assert same.subject == "Other"
