"""FolderService: List (all of a grant's folders, or the children of one) and Get, with
counts, role, LIST attributes, parent and child count; Create, Update (rename or move)
and Delete, mirrored on the mail server."""

from __future__ import annotations

from typing import Any

from tidings.api.bridge import TrioBridge
from tidings.api.convert import folder_to_proto
from tidings.api.errors import InvalidArgument, rpc
from tidings.api.messages import optional_id
from tidings.api.requests import require_id
from tidings.service.folder_write import FolderWriter
from tidings.service.mail_read import FolderView, MailReader
from tidings.v1 import folders_pb2, folders_pb2_grpc

__all__ = ["FolderServicer"]


def _to_proto(view: FolderView) -> folders_pb2.Folder:
    return folder_to_proto(view.folder, child_count=view.child_count)


class FolderServicer(folders_pb2_grpc.FolderServiceServicer):
    def __init__(self, bridge: TrioBridge, mail: MailReader, writer: FolderWriter) -> None:
        self._bridge = bridge
        self._mail = mail
        self._writer = writer

    async def _view(self, grant_id: str, folder_id: str) -> folders_pb2.Folder:
        return _to_proto(await self._bridge.call(self._mail.get_folder, grant_id, folder_id))

    @rpc
    async def CreateFolder(
        self, request: folders_pb2.CreateFolderRequest, context: Any
    ) -> folders_pb2.Folder:
        grant_id = require_id("grant_id", request.grant_id)
        if not request.name.strip():
            raise InvalidArgument("name", "is required")
        folder = await self._bridge.call(self._writer.create_folder, grant_id, request.name,
                                         optional_id("parent_id", request))
        return await self._view(grant_id, folder.id)

    @rpc
    async def UpdateFolder(
        self, request: folders_pb2.UpdateFolderRequest, context: Any
    ) -> folders_pb2.Folder:
        grant_id = require_id("grant_id", request.grant_id)
        folder_id = require_id("id", request.id)
        name = request.name if request.HasField("name") else None
        move = request.HasField("parent_id")
        parent = (require_id("parent_id", request.parent_id)
                  if move and request.parent_id else None)
        folder = await self._bridge.call(self._writer.update_folder, grant_id, folder_id, name,
                                         parent, move)
        return await self._view(grant_id, folder.id)

    @rpc
    async def DeleteFolder(
        self, request: folders_pb2.DeleteFolderRequest, context: Any
    ) -> folders_pb2.DeleteFolderResponse:
        await self._bridge.call(self._writer.delete_folder,
                                require_id("grant_id", request.grant_id),
                                require_id("id", request.id))
        return folders_pb2.DeleteFolderResponse()

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
