"""The store as one grant's sync sees it on a cluster node: every write first checks, in
its own transaction, that this node still holds the grant's lease with the token it was
started under, and is refused with `Fenced` otherwise. Reads pass straight through.

So a node that was paused or cut off past its lease writes nothing once it runs again,
whatever its tasks had in flight: the check runs on the store's writer, at commit time.
A refusal is also reported to `on_refused` (the coordinator): the grant's sync ends on
it, and a node that still counts the lease as its own must learn that nothing runs the
grant any more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import TypeVar

from tidings.domain import (
    Connector,
    Credentials,
    Event,
    EventType,
    Folder,
    Grant,
    Message,
    Thread,
)
from tidings.store import StoreError, WriteTx
from tidings.store.access import ApiKey
from tidings.store.hosted_auth import HostedSession
from tidings.store.interface import CommitListener, Store
from tidings.store.leases import ClusterView, Fenced
from tidings.store.queries import MessageQuery, Page, ThreadQuery

__all__ = ["FencedStore"]

T = TypeVar("T")


class FencedStore(Store):
    """`store` for the sync of `grant_id` under lease `token` held by `node_id`.

    `clock` gives the wall-clock time a lease expiry is compared with; it is called on
    the store's writer thread. `on_refused` is called (in the trio thread) with every
    refusal of this lease, before the refused write raises it.
    """

    def __init__(self, store: Store, *, grant_id: str, node_id: str, token: int,
                 clock: Callable[[], float] = time.time,
                 on_refused: Callable[[Fenced], None] | None = None) -> None:
        self.inner = store
        self.grant_id = grant_id
        self.node_id = node_id
        self.token = token
        self._clock = clock
        self._on_refused = on_refused

    def __repr__(self) -> str:
        return (f"FencedStore({self.inner!r}, grant_id={self.grant_id!r},"
                f" node_id={self.node_id!r}, token={self.token})")

    async def open(self) -> None:
        raise StoreError("a grant's fenced view is opened and closed with its store")

    async def aclose(self) -> None:
        raise StoreError("a grant's fenced view is opened and closed with its store")

    async def write(self, fn: Callable[[WriteTx], T]) -> T:
        grant_id, node_id, token, clock = self.grant_id, self.node_id, self.token, self._clock

        def fenced(tx: WriteTx) -> T:
            tx.check_lease(grant_id, node_id, token, clock())
            return fn(tx)

        try:
            return await self.inner.write(fenced)
        except Fenced as refusal:
            if self._on_refused is not None and refusal.grant_id == grant_id and \
                    refusal.token == token:
                self._on_refused(refusal)
            raise

    def add_commit_listener(self, listener: CommitListener) -> None:
        self.inner.add_commit_listener(listener)

    # -- reads, unchanged -----------------------------------------------------------------
    async def get_connector(self, connector_id: str) -> Connector:
        return await self.inner.get_connector(connector_id)

    async def list_connectors(self) -> list[Connector]:
        return await self.inner.list_connectors()

    async def get_grant(self, grant_id: str) -> Grant:
        return await self.inner.get_grant(grant_id)

    async def list_grants(self, connector_id: str | None = None) -> list[Grant]:
        return await self.inner.list_grants(connector_id)

    async def get_credentials(self, grant_id: str) -> Credentials:
        return await self.inner.get_credentials(grant_id)

    async def list_folders(self, grant_id: str) -> list[Folder]:
        return await self.inner.list_folders(grant_id)

    async def get_folder(self, folder_id: str) -> Folder:
        return await self.inner.get_folder(folder_id)

    async def folder_uid_map(self, folder_id: str) -> dict[int, tuple[str, tuple[str, ...]]]:
        return await self.inner.folder_uid_map(folder_id)

    async def get_message(self, message_id: str) -> Message:
        return await self.inner.get_message(message_id)

    async def list_messages(self, grant_id: str, query: MessageQuery) -> Page[Message]:
        return await self.inner.list_messages(grant_id, query)

    async def get_thread(self, thread_id: str) -> Thread:
        return await self.inner.get_thread(thread_id)

    async def list_threads(self, grant_id: str, query: ThreadQuery) -> Page[Thread]:
        return await self.inner.list_threads(grant_id, query)

    async def read_events(
        self,
        after: int,
        limit: int,
        grant_ids: AbstractSet[str] | None = None,
        types: AbstractSet[EventType] | None = None,
        *,
        through: int | None = None,
    ) -> list[Event]:
        return await self.inner.read_events(after, limit, grant_ids, types, through=through)

    async def first_position(self) -> int:
        return await self.inner.first_position()

    async def last_position(self) -> int:
        return await self.inner.last_position()

    async def position_at(self, time: float) -> int:
        return await self.inner.position_at(time)

    async def get_hosted_session(self, id_hash: str) -> HostedSession:
        return await self.inner.get_hosted_session(id_hash)

    async def count_grants_by_state(self) -> dict[str, int]:
        return await self.inner.count_grants_by_state()

    async def count_folders_by_sync_state(self) -> dict[str, int]:
        return await self.inner.count_folders_by_sync_state()

    async def find_api_key(self, digest: str) -> ApiKey | None:
        return await self.inner.find_api_key(digest)

    async def list_api_keys(self) -> list[ApiKey]:
        return await self.inner.list_api_keys()

    async def cluster_view(self) -> ClusterView:
        return await self.inner.cluster_view()
