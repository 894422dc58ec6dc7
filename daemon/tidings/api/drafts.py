"""DraftService: drafts in the grant's Drafts folder, and sending them."""

from __future__ import annotations

from typing import Any

from tidings.api.bridge import TrioBridge
from tidings.api.errors import InvalidArgument, rpc
from tidings.api.messages import optional_id, page_limit
from tidings.api.outgoing import draft_to_proto, outgoing_from_proto
from tidings.api.requests import require_id
from tidings.api.send import send_response
from tidings.service.drafts import Drafts
from tidings.v1 import drafts_pb2, drafts_pb2_grpc, send_pb2

__all__ = ["DraftServicer"]


def _content(request: Any) -> Any:
    if not request.HasField("draft"):
        raise InvalidArgument("draft", "is required")
    return outgoing_from_proto(request.draft, field="draft")


class DraftServicer(drafts_pb2_grpc.DraftServiceServicer):
    def __init__(self, bridge: TrioBridge, drafts: Drafts) -> None:
        self._bridge = bridge
        self._drafts = drafts

    @rpc
    async def CreateDraft(
        self, request: drafts_pb2.CreateDraftRequest, context: Any
    ) -> drafts_pb2.Draft:
        grant_id = require_id("grant_id", request.grant_id)
        view = await self._bridge.call(self._drafts.create, grant_id, _content(request))
        return draft_to_proto(view)

    @rpc
    async def UpdateDraft(
        self, request: drafts_pb2.UpdateDraftRequest, context: Any
    ) -> drafts_pb2.Draft:
        grant_id = require_id("grant_id", request.grant_id)
        draft_id = require_id("id", request.id)
        view = await self._bridge.call(self._drafts.update, grant_id, draft_id,
                                       _content(request))
        return draft_to_proto(view)

    @rpc
    async def DeleteDraft(
        self, request: drafts_pb2.DeleteDraftRequest, context: Any
    ) -> drafts_pb2.DeleteDraftResponse:
        await self._bridge.call(self._drafts.delete, require_id("grant_id", request.grant_id),
                                require_id("id", request.id))
        return drafts_pb2.DeleteDraftResponse()

    @rpc
    async def GetDraft(
        self, request: drafts_pb2.GetDraftRequest, context: Any
    ) -> drafts_pb2.Draft:
        view = await self._bridge.call(self._drafts.get, require_id("grant_id", request.grant_id),
                                       require_id("id", request.id))
        return draft_to_proto(view)

    @rpc
    async def ListDrafts(
        self, request: drafts_pb2.ListDraftsRequest, context: Any
    ) -> drafts_pb2.ListDraftsResponse:
        grant_id = require_id("grant_id", request.grant_id)
        limit = page_limit(request.limit)
        thread_id = optional_id("thread_id", request)

        async def page() -> Any:
            return await self._drafts.list(grant_id, limit=limit,
                                           page_token=request.page_token or None,
                                           thread_id=thread_id)

        found = await self._bridge.call(page)
        return drafts_pb2.ListDraftsResponse(drafts=[draft_to_proto(v) for v in found.items],
                                             next_cursor=found.next_page_token or "")

    @rpc
    async def SendDraft(
        self, request: drafts_pb2.SendDraftRequest, context: Any
    ) -> send_pb2.SendMessageResponse:
        outcome = await self._bridge.call(self._drafts.send,
                                          require_id("grant_id", request.grant_id),
                                          require_id("id", request.id),
                                          request.idempotency_key or None)
        return send_response(outcome)
