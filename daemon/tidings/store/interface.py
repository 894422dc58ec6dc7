"""The storage interface every backend implements (SQLite now, PostgreSQL later)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from types import TracebackType
from typing import Self, TypeVar

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
from tidings.store.access import ApiKey
from tidings.store.hosted_auth import HostedSession
from tidings.store.leases import ClusterView
from tidings.store.queries import MessageQuery, Page, ThreadQuery
from tidings.store.write_tx import WriteTx

__all__ = ["CommitListener", "Store"]

T = TypeVar("T")

CommitListener = Callable[[int], None]


class Store(ABC):
    """Async storage for trio. Reads never wait for writes; writes are serialized.

    Read methods raise `NotFound` for a missing object. `write(fn)` runs `fn` with a
    `WriteTx` inside one transaction; what it returns is returned, what it raises is raised,
    and nothing it did is kept when it raises.
    """

    @abstractmethod
    async def open(self) -> None:
        """Create or migrate the schema and start serving. Call from the trio run that
        will use the store."""

    @abstractmethod
    async def aclose(self) -> None:
        """Finish the queued writes and close."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @abstractmethod
    async def write(self, fn: Callable[[WriteTx], T]) -> T:
        """Run `fn` in the writer, atomically. Once submitted it runs to the end even if
        the caller is cancelled meanwhile (the cancellation arrives after it).

        `fn` runs on the writer's thread while other writes wait: keep it to `WriteTx`
        calls and quick computation (no network, no trio, no sleeping).
        """

    @abstractmethod
    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call `listener(last_position)` in the trio thread after each commit that
        appended events."""

    # -- connectors and grants --------------------------------------------------------------
    @abstractmethod
    async def get_connector(self, connector_id: str) -> Connector: ...

    @abstractmethod
    async def list_connectors(self) -> list[Connector]: ...

    @abstractmethod
    async def get_grant(self, grant_id: str) -> Grant: ...

    @abstractmethod
    async def list_grants(self, connector_id: str | None = None) -> list[Grant]: ...

    @abstractmethod
    async def get_credentials(self, grant_id: str) -> Credentials: ...

    # -- folders ------------------------------------------------------------------------------
    @abstractmethod
    async def list_folders(self, grant_id: str) -> list[Folder]: ...

    @abstractmethod
    async def get_folder(self, folder_id: str) -> Folder: ...

    @abstractmethod
    async def folder_uid_map(self, folder_id: str) -> dict[int, tuple[str, tuple[str, ...]]]:
        """UID → (message id, flags) for every matched UID in the folder."""

    # -- messages and threads -----------------------------------------------------------------
    @abstractmethod
    async def get_message(self, message_id: str) -> Message: ...

    @abstractmethod
    async def list_messages(self, grant_id: str, query: MessageQuery) -> Page[Message]: ...

    @abstractmethod
    async def get_thread(self, thread_id: str) -> Thread: ...

    @abstractmethod
    async def list_threads(self, grant_id: str, query: ThreadQuery) -> Page[Thread]: ...

    # -- the event log --------------------------------------------------------------------------
    @abstractmethod
    async def read_events(
        self,
        after: int,
        limit: int,
        grant_ids: AbstractSet[str] | None = None,
        types: AbstractSet[EventType] | None = None,
        *,
        through: int | None = None,
    ) -> list[Event]:
        """Events with `after < position <= through`, oldest first, at most `limit`."""

    @abstractmethod
    async def first_position(self) -> int:
        """The position of the oldest retained event (the next one when none is retained).
        A cursor below `first_position() - 1` has lost events to retention."""

    @abstractmethod
    async def last_position(self) -> int:
        """The highest position ever given (0 for an empty log)."""

    @abstractmethod
    async def position_at(self, time: float) -> int:
        """A cursor after which come exactly the events created at or after `time`."""

    # -- hosted sign-in and figures ---------------------------------------------------------------
    @abstractmethod
    async def get_hosted_session(self, id_hash: str) -> HostedSession:
        """The sign-in session stored under this id hash, expired or not."""

    @abstractmethod
    async def count_grants_by_state(self) -> dict[str, int]:
        """How many grants are in each state (states without grants are left out)."""

    @abstractmethod
    async def count_folders_by_sync_state(self) -> dict[str, int]:
        """How many folders, over all grants, are in each sync state."""

    # -- API keys -------------------------------------------------------------------------------
    @abstractmethod
    async def find_api_key(self, digest: str) -> ApiKey | None:
        """The key stored with this digest (revoked or not), or None."""

    @abstractmethod
    async def list_api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""

    # -- cluster membership and grant leases ---------------------------------------------
    @abstractmethod
    async def cluster_view(self) -> ClusterView:
        """Every node, lease and grant id, from one snapshot."""
