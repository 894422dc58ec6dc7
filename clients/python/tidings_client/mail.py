"""The mail half of `Tidings`: folders, messages, threads, attachments, drafts, sending.

Changes happen on the grant's IMAP server before a call returns; sends go out through
its SMTP server. Arguments left as None are left unset ("leave alone" on updates, "no
filter" on lists).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import IO, Any, Final, TypeVar, Unpack

import grpc

from tidings.v1 import (
    attachments_pb2,
    attachments_pb2_grpc,
    drafts_pb2,
    drafts_pb2_grpc,
    folders_pb2,
    folders_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
)
from tidings_client import _requests as req
from tidings_client import _send_requests as send_req
from tidings_client._convert import (
    attachment_from_proto,
    draft_from_proto,
    draft_page_from_proto,
    folder_from_proto,
    ignore_reply,
    message_from_proto,
    message_page_from_proto,
    sent_message_from_proto,
    thread_from_proto,
    thread_page_from_proto,
)
from tidings_client.errors import error_from_rpc
from tidings_client.models import (
    Attachment,
    Draft,
    DraftPage,
    Folder,
    Message,
    MessagePage,
    SentMessage,
    Thread,
    ThreadPage,
)
from tidings_client.outgoing import MessageFields

__all__ = ["TOP_LEVEL", "MailCalls"]

# update_folder(parent_id=TOP_LEVEL) moves a folder out of its parent; None leaves the
# parent alone (folders.proto: "the empty string moves it to the top level").
TOP_LEVEL: Final = ""
R = TypeVar("R")


class MailCalls:
    """Base of `Tidings`: the mail methods, and the call helper every method uses."""

    timeout: float
    inline_send_limit: int
    _metadata: tuple[tuple[str, str], ...]

    def _open_mail_services(self, channel: Any) -> None:
        self._folders = folders_pb2_grpc.FolderServiceStub(channel)
        self._messages = messages_pb2_grpc.MessageServiceStub(channel)
        self._threads = threads_pb2_grpc.ThreadServiceStub(channel)
        self._attachments = attachments_pb2_grpc.AttachmentServiceStub(channel)
        self._drafts = drafts_pb2_grpc.DraftServiceStub(channel)
        self._send = send_pb2_grpc.SendServiceStub(channel)

    def _call(self, method: Callable[..., Any], request: Any,
              convert: Callable[[Any], R]) -> R:
        try:
            reply = method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc
        return convert(reply)

    # Folders

    def list_folders(self, grant_id: str, *, parent_id: str | None = None) -> list[Folder]:
        return self._call(self._folders.ListFolders,
                          req.list_folders_request(grant_id, parent_id),
                          lambda reply: [folder_from_proto(f) for f in reply.folders])

    def get_folder(self, grant_id: str, folder_id: str) -> Folder:
        return self._call(self._folders.GetFolder,
                          folders_pb2.GetFolderRequest(grant_id=grant_id, id=folder_id),
                          folder_from_proto)

    def create_folder(self, grant_id: str, name: str, *,
                      parent_id: str | None = None) -> Folder:
        """A new folder on the server, under ``parent_id`` or at the top level."""
        return self._call(self._folders.CreateFolder,
                          req.create_folder_request(grant_id, name, parent_id),
                          folder_from_proto)

    def update_folder(self, grant_id: str, folder_id: str, *, name: str | None = None,
                      parent_id: str | None = None) -> Folder:
        """Rename the folder, or move it under ``parent_id`` (`TOP_LEVEL` for none)."""
        return self._call(self._folders.UpdateFolder,
                          req.update_folder_request(grant_id, folder_id, name=name,
                                                    parent_id=parent_id),
                          folder_from_proto)

    def delete_folder(self, grant_id: str, folder_id: str) -> None:
        """Delete the folder on the server; the inbox cannot be (RFC 9051 §6.3.5)."""
        self._call(self._folders.DeleteFolder,
                   folders_pb2.DeleteFolderRequest(grant_id=grant_id, id=folder_id),
                   ignore_reply)

    # Messages

    def list_messages(self, grant_id: str, *, limit: int = 0, page_token: str = "",
                      folder_id: str | None = None, subject: str | None = None,
                      unread: bool | None = None, starred: bool | None = None,
                      thread_id: str | None = None) -> MessagePage:
        """One page of messages, newest first; pass `next_cursor` as ``page_token``."""
        request = req.list_messages_request(
            grant_id, limit=limit, page_token=page_token, folder_id=folder_id,
            subject=subject, unread=unread, starred=starred, thread_id=thread_id)
        return self._call(self._messages.ListMessages, request, message_page_from_proto)

    def get_message(self, grant_id: str, message_id: str, *, include_headers: bool = False,
                    include_raw: bool = False) -> Message:
        request = messages_pb2.GetMessageRequest(
            grant_id=grant_id, id=message_id, include_headers=include_headers,
            include_raw=include_raw)
        return self._call(self._messages.GetMessage, request, message_from_proto)

    def update_message(self, grant_id: str, message_id: str, *, unread: bool | None = None,
                       starred: bool | None = None,
                       folders: Sequence[str] | None = None) -> Message:
        """Set the flags given, and with ``folders`` (folder ids) move or copy the
        message so that it is in exactly those."""
        request = req.update_message_request(grant_id, message_id, unread=unread,
                                             starred=starred, folders=folders)
        return self._call(self._messages.UpdateMessage, request, message_from_proto)

    def delete_message(self, grant_id: str, message_id: str) -> None:
        """Move the message to Trash; expunge it when it is there already (or the
        grant has no Trash)."""
        self._call(self._messages.DeleteMessage,
                   messages_pb2.DeleteMessageRequest(grant_id=grant_id, id=message_id),
                   ignore_reply)

    # Threads

    def list_threads(self, grant_id: str, *, limit: int = 0, page_token: str = "",
                     folder_id: str | None = None, subject: str | None = None,
                     unread: bool | None = None,
                     starred: bool | None = None) -> ThreadPage:
        """One page of threads, latest message first; pass `next_cursor` as
        ``page_token``."""
        request = req.list_threads_request(
            grant_id, limit=limit, page_token=page_token, folder_id=folder_id,
            subject=subject, unread=unread, starred=starred)
        return self._call(self._threads.ListThreads, request, thread_page_from_proto)

    def get_thread(self, grant_id: str, thread_id: str) -> Thread:
        return self._call(self._threads.GetThread,
                          threads_pb2.GetThreadRequest(grant_id=grant_id, id=thread_id),
                          thread_from_proto)

    def update_thread(self, grant_id: str, thread_id: str, *, unread: bool | None = None,
                      starred: bool | None = None,
                      folders: Sequence[str] | None = None) -> Thread:
        """`update_message` for every message of the thread."""
        request = req.update_thread_request(grant_id, thread_id, unread=unread,
                                            starred=starred, folders=folders)
        return self._call(self._threads.UpdateThread, request, thread_from_proto)

    # Attachments

    def get_attachment(self, grant_id: str, message_id: str,
                       attachment_id: str) -> Attachment:
        request = attachments_pb2.GetAttachmentRequest(
            grant_id=grant_id, message_id=message_id, id=attachment_id)
        return self._call(self._attachments.GetAttachment, request, attachment_from_proto)

    def download_attachment(self, grant_id: str, message_id: str,
                            attachment_id: str) -> Generator[bytes, None, None]:
        """The attachment's decoded bytes, in pieces, fetched from the mail server as
        the iteration goes (within the client's timeout). The call starts, and a
        refusal such as `NotFound` is raised, at the first piece; ``close()`` ends it
        early."""
        request = attachments_pb2.DownloadAttachmentRequest(
            grant_id=grant_id, message_id=message_id, id=attachment_id)
        stream = self._attachments.DownloadAttachment(request, timeout=self.timeout,
                                                      metadata=self._metadata)
        try:
            for chunk in stream:
                yield chunk.data
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc
        finally:
            stream.cancel()  # a no-op once done; ends the call if the caller stops early

    def download_attachment_to(self, grant_id: str, message_id: str, attachment_id: str,
                               file: IO[bytes]) -> int:
        """Write the attachment to a binary file; returns the number of bytes written."""
        written = 0
        for data in self.download_attachment(grant_id, message_id, attachment_id):
            file.write(data)
            written += len(data)
        return written

    # Drafts

    def create_draft(self, grant_id: str, **fields: Unpack[MessageFields]) -> Draft:
        """A draft in the grant's Drafts folder; no recipient is required yet."""
        return self._call(self._drafts.CreateDraft,
                          send_req.create_draft_request(grant_id, fields), draft_from_proto)

    def update_draft(self, grant_id: str, draft_id: str,
                     **fields: Unpack[MessageFields]) -> Draft:
        """Replace the draft's content entirely with ``fields``; its id stays."""
        return self._call(self._drafts.UpdateDraft,
                          send_req.update_draft_request(grant_id, draft_id, fields),
                          draft_from_proto)

    def delete_draft(self, grant_id: str, draft_id: str) -> None:
        self._call(self._drafts.DeleteDraft,
                   drafts_pb2.DeleteDraftRequest(grant_id=grant_id, id=draft_id),
                   ignore_reply)

    def list_drafts(self, grant_id: str, *, limit: int = 0, page_token: str = "",
                    thread_id: str | None = None) -> DraftPage:
        """One page of drafts, newest first; pass `next_cursor` as ``page_token``."""
        request = req.list_drafts_request(grant_id, limit=limit, page_token=page_token,
                                          thread_id=thread_id)
        return self._call(self._drafts.ListDrafts, request, draft_page_from_proto)

    def get_draft(self, grant_id: str, draft_id: str) -> Draft:
        return self._call(self._drafts.GetDraft,
                          drafts_pb2.GetDraftRequest(grant_id=grant_id, id=draft_id),
                          draft_from_proto)

    def send_draft(self, grant_id: str, draft_id: str, *,
                   idempotency_key: str | None = None) -> SentMessage:
        """Send the draft, then delete it; as `send_message` otherwise."""
        return self._call(self._drafts.SendDraft,
                          send_req.send_draft_request(grant_id, draft_id, idempotency_key),
                          sent_message_from_proto)

    # Sending

    def send_message(self, grant_id: str, *, idempotency_key: str | None = None,
                     **fields: Unpack[MessageFields]) -> SentMessage:
        """Send through the grant's SMTP server; the message as saved in Sent comes back.

        Attachments above `inline_send_limit` bytes in all (or from a file that cannot
        seek) go through the streaming call in 1 MiB pieces, read from their files only
        as they are sent. A repeated ``idempotency_key`` within an hour returns the
        first send's result (``idempotent_replay``) instead of sending again. The
        provider's size limit is `ResourceExhausted`; a string that is no email address
        is ValueError, before anything is sent.
        """
        payload = send_req.send_payload(grant_id, fields, idempotency_key,
                                        inline_limit=self.inline_send_limit)
        if isinstance(payload, send_pb2.SendMessageRequest):
            return self._call(self._send.SendMessage, payload, sent_message_from_proto)
        return self._call(self._send.SendMessageStream, payload, sent_message_from_proto)
