"""FolderService, the reading half: List (all of a grant's folders, or the children of
one) and Get, with counts, role, LIST attributes, parent and child count.

Create, Update and Delete are not overridden: grpc's base servicer answers them
UNIMPLEMENTED.
"""

from __future__ import annotations

from typing import Any

from tidings.api.bridge import TrioBridge
from tidings.api.convert import folder_to_proto
from tidings.api.errors import rpc
from tidings.api.messages import optional_id
from tidings.api.requests import require_id
from tidings.service.mail_read import FolderView, MailReader
from tidings.v1 import folders_pb2, folders_pb2_grpc

__all__ = ["FolderServicer"]


def _to_proto(view: FolderView) -> folders_pb2.Folder:
    return folder_to_proto(view.folder, child_count=view.child_count)


class FolderServicer(folders_pb2_grpc.FolderServiceServicer):
    def __init__(self, bridge: TrioBridge, mail: MailReader) -> None:
        self._bridge = bridge
        self._mail = mail

    @rpc
    async def ListFolders(
        self, request: folders_pb2.ListFoldersRequest, context: Any
    ) -> folders_pb2.ListFoldersResponse:
        views = await self._bridge.call(self._mail.list_folders,
                                        require_id("grant_id", request.grant_id),
                                        optional_id("parent_id", request))
        return folders_pb2.ListFoldersResponse(folders=[_to_proto(view) for view in views])

    @rpc
    async def GetFolder(
        self, request: folders_pb2.GetFolderRequest, context: Any
    ) -> folders_pb2.Folder:
        view = await self._bridge.call(self._mail.get_folder,
                                       require_id("grant_id", request.grant_id),
                                       require_id("id", request.id))
        return _to_proto(view)
