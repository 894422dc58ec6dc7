"""Changes through the API against the real Dovecot: flags, moves, copies, deletes and
folders. Each is visible on the server when the call returns, is recorded at once, and
makes exactly one event even after the sync has looked at the folders again."""

from __future__ import annotations

from tests.mailapi.changes import events_for, server_flags, server_subjects, settle
from tests.mailapi.conftest import Code, Mailbox
from tidings.v1 import folders_pb2, messages_pb2, threads_pb2


async def _message(mailbox: Mailbox, subject: str) -> messages_pb2.Message:
    reply = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
        grant_id=mailbox.grant_id, subject=subject, limit=200))
    found = [m for m in reply.messages if m.subject == subject]
    assert len(found) == 1, [m.subject for m in reply.messages]
    return found[0]


async def test_flags_reach_the_server_with_one_event(mailbox: Mailbox) -> None:
    before = await _message(mailbox, "Lunch plans")
    assert before.unread and before.starred
    updated = await mailbox.call(mailbox.messages.UpdateMessage, messages_pb2.UpdateMessageRequest(
        grant_id=mailbox.grant_id, id=before.id, unread=False, starred=False))
    assert not updated.unread and not updated.starred
    flags = {f.lower() for f in await server_flags(mailbox, "INBOX", "Lunch plans")}
    assert "\\seen" in flags and "\\flagged" not in flags
    # The store answers at once, without waiting for a sync.
    again = await _message(mailbox, "Lunch plans")
    assert not again.unread and not again.starred
    await settle(mailbox, "INBOX")
    assert await events_for(mailbox, before.id, "message.updated") == 1
    # The same change again is no change: no call to make an event for.
    await mailbox.call(mailbox.messages.UpdateMessage, messages_pb2.UpdateMessageRequest(
        grant_id=mailbox.grant_id, id=before.id, unread=False))
    assert await events_for(mailbox, before.id, "message.updated") == 1


async def test_move_keeps_the_id_and_makes_one_event(mailbox: Mailbox) -> None:
    folders = await mailbox.folder_ids()
    message = await _message(mailbox, "Quarterly budget")
    moved = await mailbox.call(mailbox.messages.UpdateMessage, messages_pb2.UpdateMessageRequest(
        grant_id=mailbox.grant_id, id=message.id,
        folders=messages_pb2.FolderIds(ids=[folders["Archive"]])))
    assert moved.id == message.id
    assert list(moved.folders) == [folders["Archive"]]
    assert "Quarterly budget" in await server_subjects(mailbox, "Archive")
    assert "Quarterly budget" not in await server_subjects(mailbox, "INBOX")
    await settle(mailbox, "INBOX", "Archive")
    assert await events_for(mailbox, message.id, "message.updated") == 1
    assert await events_for(mailbox, message.id, "message.deleted") == 0
    assert list((await _message(mailbox, "Quarterly budget")).folders) == [folders["Archive"]]


async def test_copy_to_a_second_folder_then_leave_the_first(mailbox: Mailbox) -> None:
    folders = await mailbox.folder_ids()
    message = await _message(mailbox, "Old archive")
    both = [folders["Archive"], folders["Projects"]]
    copied = await mailbox.call(mailbox.messages.UpdateMessage, messages_pb2.UpdateMessageRequest(
        grant_id=mailbox.grant_id, id=message.id, folders=messages_pb2.FolderIds(ids=both)))
    assert sorted(copied.folders) == sorted(both)
    assert "Old archive" in await server_subjects(mailbox, "Projects")
    assert "Old archive" in await server_subjects(mailbox, "Archive")
    left = await mailbox.call(mailbox.messages.UpdateMessage, messages_pb2.UpdateMessageRequest(
        grant_id=mailbox.grant_id, id=message.id,
        folders=messages_pb2.FolderIds(ids=[folders["Projects"]])))
    assert list(left.folders) == [folders["Projects"]]
    assert "Old archive" not in await server_subjects(mailbox, "Archive")
    await settle(mailbox, "Archive", "Projects")
    assert await events_for(mailbox, message.id, "message.updated") == 2


async def test_delete_moves_to_trash_then_removes_for_good(mailbox: Mailbox) -> None:
    folders = await mailbox.folder_ids()
    message = await _message(mailbox, "Filler 03")
    await mailbox.call(mailbox.messages.DeleteMessage, messages_pb2.DeleteMessageRequest(
        grant_id=mailbox.grant_id, id=message.id))
    assert "Filler 03" in await server_subjects(mailbox, "Trash")
    in_trash = await _message(mailbox, "Filler 03")
    assert list(in_trash.folders) == [folders["Trash"]]
    await mailbox.call(mailbox.messages.DeleteMessage, messages_pb2.DeleteMessageRequest(
        grant_id=mailbox.grant_id, id=message.id))
    assert "Filler 03" not in await server_subjects(mailbox, "Trash")
    failure = await mailbox.failure(mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(
        grant_id=mailbox.grant_id, id=message.id))
    assert failure.code() == Code.NOT_FOUND
    await settle(mailbox, "INBOX", "Trash")
    assert await events_for(mailbox, message.id, "message.updated") == 1
    assert await events_for(mailbox, message.id, "message.deleted") == 1


async def test_thread_update_reaches_every_message(mailbox: Mailbox) -> None:
    first = await _message(mailbox, "Re: Quarterly budget")
    thread = await mailbox.call(mailbox.threads.UpdateThread, threads_pb2.UpdateThreadRequest(
        grant_id=mailbox.grant_id, id=first.thread_id, starred=True))
    assert thread.starred
    assert len(thread.message_ids) == 3
    for subject, folder in (("Quarterly budget", "INBOX"), ("Re: Quarterly budget", "INBOX"),
                            ("Re: Re: Quarterly budget", "Sent")):
        flags = {f.lower() for f in await server_flags(mailbox, folder, subject)}
        assert "\\flagged" in flags, subject


async def test_refusals(mailbox: Mailbox) -> None:
    message = await _message(mailbox, "Lunch plans")
    cases = [
        (messages_pb2.UpdateMessageRequest(grant_id=mailbox.grant_id, id=message.id,
                                           folders=messages_pb2.FolderIds(ids=[])),
         Code.INVALID_ARGUMENT),
        (messages_pb2.UpdateMessageRequest(grant_id=mailbox.grant_id, id=message.id,
                                           folders=messages_pb2.FolderIds(ids=["nope"])),
         Code.NOT_FOUND),
        (messages_pb2.UpdateMessageRequest(grant_id=mailbox.grant_id, id="missing",
                                           unread=True), Code.NOT_FOUND),
        (messages_pb2.UpdateMessageRequest(grant_id="", id=message.id, unread=True),
         Code.INVALID_ARGUMENT),
    ]
    for request, code in cases:
        failure = await mailbox.failure(mailbox.messages.UpdateMessage, request)
        assert failure.code() == code, (request, failure.details())


async def test_folder_create_rename_delete(mailbox: Mailbox) -> None:
    folders = await mailbox.folder_ids()
    created = await mailbox.call(mailbox.folders.CreateFolder, folders_pb2.CreateFolderRequest(
        grant_id=mailbox.grant_id, name="Receipts", parent_id=folders["Projects"]))
    assert created.path == "Projects/Receipts"
    assert created.parent_id == folders["Projects"]
    renamed = await mailbox.call(mailbox.folders.UpdateFolder, folders_pb2.UpdateFolderRequest(
        grant_id=mailbox.grant_id, id=created.id, name="Invoices", parent_id=""))
    assert renamed.id == created.id
    assert renamed.path == "Invoices"
    assert not renamed.HasField("parent_id")
    listed = await mailbox.folder_ids()
    assert "Invoices" in listed and "Projects/Receipts" not in listed
    duplicate = await mailbox.failure(mailbox.folders.CreateFolder,
                                      folders_pb2.CreateFolderRequest(
                                          grant_id=mailbox.grant_id, name="invoices"))
    assert duplicate.code() == Code.ALREADY_EXISTS
    bad = await mailbox.failure(mailbox.folders.CreateFolder, folders_pb2.CreateFolderRequest(
        grant_id=mailbox.grant_id, name="a/b"))
    assert bad.code() == Code.INVALID_ARGUMENT
    await mailbox.call(mailbox.folders.DeleteFolder, folders_pb2.DeleteFolderRequest(
        grant_id=mailbox.grant_id, id=created.id))
    assert "Invoices" not in await mailbox.folder_ids()
    await settle(mailbox, "INBOX", "Archive")
    assert await events_for(mailbox, created.id, "folder.created") == 1
    assert await events_for(mailbox, created.id, "folder.updated") == 1
    assert await events_for(mailbox, created.id, "folder.deleted") == 1
    inbox = await mailbox.failure(mailbox.folders.DeleteFolder, folders_pb2.DeleteFolderRequest(
        grant_id=mailbox.grant_id, id=folders["INBOX"]))
    assert inbox.code() == Code.FAILED_PRECONDITION
