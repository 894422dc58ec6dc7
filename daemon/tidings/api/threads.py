"""ThreadService, the reading half: List (the message filters, with the latest message's
date instead of the received date) and Get. Each thread carries its newest message and
when the grant last sent a message in it.

UpdateThread is not overridden: grpc's base servicer answers it UNIMPLEMENTED.
"""

from __future__ import annotations

from typing import Any

from tidings.api.bridge import TrioBridge
from tidings.api.convert import thread_to_proto
from tidings.api.errors import rpc
from tidings.api.messages import (
    email_filter,
    message_change,
    optional_id,
    page_limit,
    subject_filter,
    unix_bound,
)
from tidings.api.requests import require_id
from tidings.service.mail_read import MailReader, ThreadView
from tidings.service.mail_write import MailWriter
from tidings.store import ThreadQuery
from tidings.v1 import threads_pb2, threads_pb2_grpc

__all__ = ["ThreadServicer"]


def _thread_query(request: threads_pb2.ListThreadsRequest) -> ThreadQuery:
    return ThreadQuery(
        limit=page_limit(request.limit),
        page_token=request.page_token or None,
        subject=subject_filter(request),
        any_email=email_filter("any_email", request.any_email),
        from_=email_filter("from_", request.from_),
        to=email_filter("to", request.to),
        cc=email_filter("cc", request.cc),
        bcc=email_filter("bcc", request.bcc),
        folder_id=optional_id("in_", request),
        unread=request.unread if request.HasField("unread") else None,
        starred=request.starred if request.HasField("starred") else None,
        has_attachment=request.has_attachment if request.HasField("has_attachment") else None,
        latest_message_before=unix_bound("latest_message_before", request),
        latest_message_after=unix_bound("latest_message_after", request),
    )


def _to_proto(view: ThreadView) -> threads_pb2.Thread:
    return thread_to_proto(view.thread, latest_message=view.latest_message,
                           latest_sent_date=view.latest_sent_date)


class ThreadServicer(threads_pb2_grpc.ThreadServiceServicer):
    def __init__(self, bridge: TrioBridge, mail: MailReader, writer: MailWriter) -> None:
        self._bridge = bridge
        self._mail = mail
        self._writer = writer

    @rpc
    async def UpdateThread(
        self, request: threads_pb2.UpdateThreadRequest, context: Any
    ) -> threads_pb2.Thread:
        view = await self._bridge.call(self._writer.update_thread,
                                       require_id("grant_id", request.grant_id),
                                       require_id("id", request.id), message_change(request))
        return _to_proto(view)

    @rpc
    async def ListThreads(
        self, request: threads_pb2.ListThreadsRequest, context: Any
    ) -> threads_pb2.ListThreadsResponse:
        grant_id = require_id("grant_id", request.grant_id)
        page = await self._bridge.call(self._mail.list_threads, grant_id, _thread_query(request))
        return threads_pb2.ListThreadsResponse(
            threads=[_to_proto(view) for view in page.items],
            next_cursor=page.next_page_token or "",
        )

    @rpc
    async def GetThread(
        self, request: threads_pb2.GetThreadRequest, context: Any
    ) -> threads_pb2.Thread:
        view = await self._bridge.call(self._mail.get_thread,
                                       require_id("grant_id", request.grant_id),
                                       require_id("id", request.id))
        return _to_proto(view)
