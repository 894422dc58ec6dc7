"""The mail half of `AsyncTidings`: the methods of `tidings_client.mail.MailCalls`,
awaited; see there for what each does."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from typing import IO, Any, TypeVar, Unpack

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

__all__ = ["AsyncMailCalls"]

R = TypeVar("R")
T = TypeVar("T")


async def _in_worker_thread(items: Iterator[T]) -> AsyncIterator[T]:
    """``items`` produced in a worker thread, one at a time: reading attachment files
    does not block the event loop."""
    take = functools.partial(next, items, None)
    while (item := await asyncio.to_thread(take)) is not None:
        yield item


class AsyncMailCalls:
    """Base of `AsyncTidings`: the mail methods, and the call helper every method uses."""

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

    async def _call(self, method: Callable[..., Any], request: Any,
                    convert: Callable[[Any], R]) -> R:
        try:
            reply = await method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from exc
        return convert(reply)

    # Folders

    async def list_folders(self, grant_id: str, *, parent_id: str | None = None
                           ) -> list[Folder]:
        return await self._call(self._folders.ListFolders,
                                req.list_folders_request(grant_id, parent_id),
                                lambda reply: [folder_from_proto(f) for f in reply.folders])

    async def get_folder(self, grant_id: str, folder_id: str) -> Folder:
        return await self._call(self._folders.GetFolder,
                                folders_pb2.GetFolderRequest(grant_id=grant_id, id=folder_id),
                                folder_from_proto)

    async def create_folder(self, grant_id: str, name: str, *,
                            parent_id: str | None = None) -> Folder:
        return await self._call(self._folders.CreateFolder,
                                req.create_folder_request(grant_id, name, parent_id),
                                folder_from_proto)

    async def update_folder(self, grant_id: str, folder_id: str, *, name: str | None = None,
                            parent_id: str | None = None) -> Folder:
        return await self._call(self._folders.UpdateFolder,
                                req.update_folder_request(grant_id, folder_id, name=name,
                                                          parent_id=parent_id),
                                folder_from_proto)

    async def delete_folder(self, grant_id: str, folder_id: str) -> None:
        await self._call(self._folders.DeleteFolder,
                         folders_pb2.DeleteFolderRequest(grant_id=grant_id, id=folder_id),
                         ignore_reply)

    # Messages

    async def list_messages(self, grant_id: str, *, limit: int = 0, page_token: str = "",
                            folder_id: str | None = None, subject: str | None = None,
                            unread: bool | None = None, starred: bool | None = None,
                            thread_id: str | None = None) -> MessagePage:
        request = req.list_messages_request(
            grant_id, limit=limit, page_token=page_token, folder_id=folder_id,
            subject=subject, unread=unread, starred=starred, thread_id=thread_id)
        return await self._call(self._messages.ListMessages, request, message_page_from_proto)

    async def get_message(self, grant_id: str, message_id: str, *,
                          include_headers: bool = False, include_raw: bool = False) -> Message:
        request = messages_pb2.GetMessageRequest(
            grant_id=grant_id, id=message_id, include_headers=include_headers,
            include_raw=include_raw)
        return await self._call(self._messages.GetMessage, request, message_from_proto)

    async def update_message(self, grant_id: str, message_id: str, *,
                             unread: bool | None = None, starred: bool | None = None,
                             folders: Sequence[str] | None = None) -> Message:
        request = req.update_message_request(grant_id, message_id, unread=unread,
                                             starred=starred, folders=folders)
        return await self._call(self._messages.UpdateMessage, request, message_from_proto)

    async def delete_message(self, grant_id: str, message_id: str) -> None:
        await self._call(self._messages.DeleteMessage,
                         messages_pb2.DeleteMessageRequest(grant_id=grant_id, id=message_id),
                         ignore_reply)

    # Threads

    async def list_threads(self, grant_id: str, *, limit: int = 0, page_token: str = "",
                           folder_id: str | None = None, subject: str | None = None,
                           unread: bool | None = None,
                           starred: bool | None = None) -> ThreadPage:
        request = req.list_threads_request(
            grant_id, limit=limit, page_token=page_token, folder_id=folder_id,
            subject=subject, unread=unread, starred=starred)
        return await self._call(self._threads.ListThreads, request, thread_page_from_proto)

    async def get_thread(self, grant_id: str, thread_id: str) -> Thread:
        return await self._call(self._threads.GetThread,
                                threads_pb2.GetThreadRequest(grant_id=grant_id, id=thread_id),
                                thread_from_proto)

    async def update_thread(self, grant_id: str, thread_id: str, *,
                            unread: bool | None = None, starred: bool | None = None,
                            folders: Sequence[str] | None = None) -> Thread:
        request = req.update_thread_request(grant_id, thread_id, unread=unread,
                                            starred=starred, folders=folders)
        return await self._call(self._threads.UpdateThread, request, thread_from_proto)

    # Attachments

    async def get_attachment(self, grant_id: str, message_id: str,
                             attachment_id: str) -> Attachment:
        request = attachments_pb2.GetAttachmentRequest(
            grant_id=grant_id, message_id=message_id, id=attachment_id)
        return await self._call(self._attachments.GetAttachment, request,
                                attachment_from_proto)

    async def download_attachment(self, grant_id: str, message_id: str,
                                  attachment_id: str) -> AsyncGenerator[bytes, None]:
        """``async for data in client.download_attachment(...)``; the call starts, and
        a refusal is raised, at the first piece; ``aclose()`` ends it early."""
        request = attachments_pb2.DownloadAttachmentRequest(
            grant_id=grant_id, message_id=message_id, id=attachment_id)
        stream = self._attachments.DownloadAttachment(request, timeout=self.timeout,
                                                      metadata=self._metadata)
        try:
            async for chunk in stream:
                yield chunk.data
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from exc
        finally:
            stream.cancel()  # a no-op once done; ends the call if the caller stops early

    async def download_attachment_to(self, grant_id: str, message_id: str,
                                     attachment_id: str, file: IO[bytes]) -> int:
        """Write the attachment to a binary file (from a worker thread); returns the
        number of bytes written."""
        written = 0
        async for data in self.download_attachment(grant_id, message_id, attachment_id):
            await asyncio.to_thread(file.write, data)
            written += len(data)
        return written

    # Drafts

    async def create_draft(self, grant_id: str, **fields: Unpack[MessageFields]) -> Draft:
        # Built in a worker thread: attachment files are read into the request.
        request = await asyncio.to_thread(send_req.create_draft_request, grant_id, fields)
        return await self._call(self._drafts.CreateDraft, request, draft_from_proto)

    async def update_draft(self, grant_id: str, draft_id: str,
                           **fields: Unpack[MessageFields]) -> Draft:
        request = await asyncio.to_thread(send_req.update_draft_request, grant_id, draft_id,
                                          fields)
        return await self._call(self._drafts.UpdateDraft, request, draft_from_proto)

    async def delete_draft(self, grant_id: str, draft_id: str) -> None:
        await self._call(self._drafts.DeleteDraft,
                         drafts_pb2.DeleteDraftRequest(grant_id=grant_id, id=draft_id),
                         ignore_reply)

    async def list_drafts(self, grant_id: str, *, limit: int = 0, page_token: str = "",
                          thread_id: str | None = None) -> DraftPage:
        request = req.list_drafts_request(grant_id, limit=limit, page_token=page_token,
                                          thread_id=thread_id)
        return await self._call(self._drafts.ListDrafts, request, draft_page_from_proto)

    async def get_draft(self, grant_id: str, draft_id: str) -> Draft:
        return await self._call(self._drafts.GetDraft,
                                drafts_pb2.GetDraftRequest(grant_id=grant_id, id=draft_id),
                                draft_from_proto)

    async def send_draft(self, grant_id: str, draft_id: str, *,
                         idempotency_key: str | None = None) -> SentMessage:
        return await self._call(
            self._drafts.SendDraft,
            send_req.send_draft_request(grant_id, draft_id, idempotency_key),
            sent_message_from_proto)

    # Sending

    async def send_message(self, grant_id: str, *, idempotency_key: str | None = None,
                           **fields: Unpack[MessageFields]) -> SentMessage:
        """As `Tidings.send_message`; attachment files are read in worker threads."""
        payload = await asyncio.to_thread(functools.partial(
            send_req.send_payload, grant_id, fields, idempotency_key,
            inline_limit=self.inline_send_limit))
        if isinstance(payload, send_pb2.SendMessageRequest):
            return await self._call(self._send.SendMessage, payload, sent_message_from_proto)
        return await self._call(self._send.SendMessageStream, _in_worker_thread(payload),
                                sent_message_from_proto)
