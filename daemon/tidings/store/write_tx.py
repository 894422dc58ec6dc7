"""The write interface: what a function passed to `Store.write` may do.

A `WriteTx` method runs inside one database transaction on the store's writer thread.
Everything a write function does commits together, with the events it appends, or not at
all. Methods raise `NotFound` for a missing object and `Conflict` for a broken rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tidings.domain import (
    Connector,
    Credentials,
    Folder,
    Grant,
    GrantState,
    Message,
    NewEvent,
    SyncProgress,
)
from tidings.store.access import ApiKey
from tidings.store.hosted_auth import HostedCode, HostedSession
from tidings.store.leases import ClusterView, NodeRecord
from tidings.store.queries import KEEP, Keep
from tidings.store.send_keys import SendKey

__all__ = ["SubjectLatest", "ThreadLink", "WriteTx"]


@dataclass(frozen=True, slots=True)
class ThreadLink:
    """A stored message tied to a Message-ID: it has that Message-ID, or refers to it in
    In-Reply-To/References (RFC 5322 §3.6.4)."""

    key: str
    message_id: str
    thread_id: str
    date: int


@dataclass(frozen=True, slots=True)
class SubjectLatest:
    """The latest stored message (by date, then id) with a given normalized subject."""

    date: int
    message_id: str
    thread_id: str


class WriteTx(ABC):
    # -- connectors -----------------------------------------------------------------------
    @abstractmethod
    def connector(self, connector_id: str) -> Connector | None: ...

    @abstractmethod
    def create_connector(self, connector: Connector) -> None: ...

    @abstractmethod
    def update_connector(self, connector: Connector) -> None: ...

    @abstractmethod
    def delete_connector(self, connector_id: str) -> None:
        """Delete a connector that has no grants left (`Conflict` otherwise)."""

    # -- grants ---------------------------------------------------------------------------
    @abstractmethod
    def grant(self, grant_id: str) -> Grant | None: ...

    @abstractmethod
    def create_grant(self, grant: Grant) -> None: ...

    @abstractmethod
    def update_grant(self, grant: Grant) -> None: ...

    @abstractmethod
    def delete_grant(self, grant_id: str) -> None:
        """Delete a grant with its credentials, folders, messages and threads.

        Its events stay in the log: subscribers still learn what happened.
        """

    @abstractmethod
    def set_credentials(self, grant_id: str, credentials: Credentials) -> None:
        """Store the grant's passwords, encrypted."""

    @abstractmethod
    def set_grant_state(self, grant_id: str, state: GrantState, reason: str | None) -> None: ...

    @abstractmethod
    def set_grant_progress(self, grant_id: str, progress: SyncProgress) -> None: ...

    # -- folders --------------------------------------------------------------------------
    @abstractmethod
    def folder(self, folder_id: str) -> Folder | None: ...

    @abstractmethod
    def folders(self, grant_id: str) -> list[Folder]: ...

    @abstractmethod
    def upsert_folder(self, folder: Folder) -> None:
        """Create the folder or replace it; a name already used by another folder of the
        grant is a `Conflict`."""

    @abstractmethod
    def delete_folder(self, folder_id: str) -> list[str]:
        """Delete a folder and the locations in it; returns the ids of messages that were
        in it (they stay; the caller decides what to do with ones left without a folder)."""

    @abstractmethod
    def set_folder_sync(
        self,
        folder_id: str,
        *,
        uidvalidity: int | Keep | None = KEEP,
        uidnext: int | Keep | None = KEEP,
        highestmodseq: int | Keep | None = KEEP,
        sync_state: str | Keep = KEEP,
        total_count: int | Keep = KEEP,
        unread_count: int | Keep = KEEP,
        uidvalidity_changes: int | Keep = KEEP,
        last_uidvalidity_check: float | Keep | None = KEEP,
    ) -> None: ...

    @abstractmethod
    def folder_uid_map(self, folder_id: str) -> dict[int, tuple[str, tuple[str, ...]]]:
        """UID → (message id, flags) for every matched UID in the folder."""

    # -- messages -------------------------------------------------------------------------
    @abstractmethod
    def message(self, message_id: str) -> Message | None: ...

    @abstractmethod
    def insert_message(self, message: Message) -> None:
        """Store a new message with its locations, attachments and thread assignment.

        (grant, Message-ID, content hash) must be unique (`Conflict` otherwise).
        """

    def insert_messages(self, messages: Sequence[Message]) -> None:
        """`insert_message` for each, in order; a back end may write them in bulk (a sync
        stores hundreds at a time)."""
        for message in messages:
            self.insert_message(message)

    @abstractmethod
    def find_message(
        self, grant_id: str, message_id_header: str, content_hash: str | None
    ) -> str | None:
        """The id of the stored message with this identity.

        With a content hash, both must match: it tells apart different messages that share
        a Message-ID. Without one, the oldest message with that Message-ID is returned.
        """

    def find_messages(
        self, grant_id: str, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """`find_message` for many (Message-ID, content hash) pairs: the ids of those
        stored, by identity."""
        found: dict[tuple[str, str], str] = {}
        for identity in dict.fromkeys(identities):
            message_id = self.find_message(grant_id, *identity)
            if message_id is not None:
                found[identity] = message_id
        return found

    @abstractmethod
    def add_location(self, message_id: str, folder_id: str, uid: int) -> None:
        """Record that the message is `uid` in the folder. A copy left unmatched by
        `drop_folder_uids` is matched again instead of a second location being added."""

    @abstractmethod
    def remove_location(self, folder_id: str, uid: int) -> str | None:
        """Forget a UID (expunged or moved away); returns the message id it pointed to."""

    @abstractmethod
    def drop_folder_uids(self, folder_id: str) -> int:
        """Forget every UID of the folder after a UIDVALIDITY change (RFC 3501 §2.3.1.1).

        The messages stay in the folder, unmatched, until `add_location` matches them again
        by identity; `unmatched_in_folder` lists them and `clear_unmatched` ends the rematch.
        Returns how many locations became unmatched.
        """

    @abstractmethod
    def unmatched_in_folder(self, folder_id: str) -> list[str]: ...

    @abstractmethod
    def clear_unmatched(self, folder_id: str) -> list[str]:
        """Drop the folder's still-unmatched locations; returns the affected message ids."""

    @abstractmethod
    def set_flags(self, message_id: str, flags: Sequence[str]) -> None: ...

    @abstractmethod
    def delete_message(self, message_id: str) -> None: ...

    @abstractmethod
    def messages_without_location(self, grant_id: str) -> list[str]: ...

    @abstractmethod
    def purge_messages_before(self, grant_id: str, date: int) -> int:
        """Delete messages received before `date` (window ageing, so no events)."""

    # -- threads --------------------------------------------------------------------------
    @abstractmethod
    def thread_for_references(self, grant_id: str, message_ids: Sequence[str]) -> str | None:
        """The oldest thread holding a message whose Message-ID is listed, or one that
        refers to a listed Message-ID (so a reply that arrived first is found too)."""

    @abstractmethod
    def threads_for_references(self, grant_id: str, message_ids: Sequence[str]) -> list[str]:
        """Every thread `thread_for_references` could pick, oldest first (to merge them)."""

    @abstractmethod
    def thread_for_subject(self, grant_id: str, normalized_subject: str, since: int) -> str | None:
        """The thread of the latest message received since `since` whose normalized subject
        (`tidings.domain.normalize_subject`) is the one given."""

    @abstractmethod
    def thread_links(self, grant_id: str, keys: Sequence[str]) -> list[ThreadLink]:
        """Every stored message whose Message-ID is one of `keys` or that refers to one:
        what threading a batch of new messages needs, in one look-up."""

    @abstractmethod
    def latest_by_subject(
        self, grant_id: str, normalized_subjects: Sequence[str]
    ) -> dict[str, SubjectLatest]:
        """The latest message for each normalized subject that has one."""

    @abstractmethod
    def set_message_thread(self, message_id: str, thread_id: str) -> None: ...

    @abstractmethod
    def merge_threads(self, into_thread_id: str, thread_ids: Sequence[str]) -> int:
        """Move every message of `thread_ids` into `into_thread_id`; returns how many."""

    # -- events ---------------------------------------------------------------------------
    @abstractmethod
    def append_event(self, event: NewEvent) -> int:
        """Append to the log in this transaction; returns the event's position."""

    @abstractmethod
    def purge_events_before(self, time: float) -> int:
        """Delete the oldest events, up to the last one created before `time`."""

    # -- hosted sign-in -------------------------------------------------------------------
    @abstractmethod
    def create_hosted_session(self, session: HostedSession) -> None:
        """Store a new sign-in session (its connector must exist)."""

    @abstractmethod
    def claim_hosted_session(self, id_hash: str, now: float, until: float) -> HostedSession | None:
        """Mark the session busy until `until` and return it; None when it is unknown or
        expired at `now`, `Conflict` when another submission holds it."""

    @abstractmethod
    def release_hosted_session(self, id_hash: str) -> None:
        """End a claim without finishing: the user may submit the form again."""

    @abstractmethod
    def finish_hosted_session(self, id_hash: str, code: HostedCode) -> None:
        """Delete the session and store its code (`Conflict` if it is already gone)."""

    @abstractmethod
    def consume_hosted_code(self, code_hash: str, now: float) -> HostedCode | None:
        """The code as it was before this call (None when unknown); marks it used at `now`
        unless it already was."""

    @abstractmethod
    def purge_hosted_auth(self, now: float) -> int:
        """Delete sessions and codes expired at `now` (a session whose claim still runs
        stays); returns how many."""

    # -- API keys -----------------------------------------------------------------------
    @abstractmethod
    def api_key(self, key_id: str) -> ApiKey | None: ...

    @abstractmethod
    def create_api_key(self, key: ApiKey) -> None:
        """Store a key's record; a digest already stored is a `Conflict`."""

    @abstractmethod
    def revoke_api_key(self, key_id: str, at: float) -> None:
        """Mark the key revoked (`NotFound` for an unknown id); revoking again keeps the
        first time."""

    # -- idempotency keys of sends ----------------------------------------------------------
    @abstractmethod
    def claim_send_key(self, grant_id: str, key: str, now: float,
                       since: float) -> SendKey | None:
        """Claim `key` for a send starting `now`: None when it is claimed for this call,
        or the record of a claim made since `since` (pending or finished). Claims older
        than `since` are forgotten."""

    @abstractmethod
    def finish_send_key(self, grant_id: str, key: str, message_id: str) -> None:
        """Record the message that the claimed send made."""

    @abstractmethod
    def release_send_key(self, grant_id: str, key: str) -> None:
        """Forget a claim whose send failed, so that a retry sends."""

    # -- cluster membership and grant leases (see tidings.store.leases) --------------------
    @abstractmethod
    def heartbeat(self, node: NodeRecord) -> None:
        """Create the node's row or refresh it (its first `started_at` is kept)."""

    @abstractmethod
    def cluster_view(self) -> ClusterView: ...

    @abstractmethod
    def acquire_leases(self, node_id: str, grant_ids: Sequence[str], now: float,
                       until: float) -> dict[str, int]:
        """Take the leases of these grants that are free at `now` (never taken, given
        back, expired, or already this node's) until `until`, each with a token higher
        than any it had before; returns grant id → token for the ones taken. A lease
        that another transaction is using is skipped, not waited for."""

    @abstractmethod
    def renew_leases(self, node_id: str, tokens: Mapping[str, int], now: float,
                     until: float) -> set[str]:
        """Extend to `until` the leases still held at `now` with these tokens; returns
        the grant ids renewed (an expired lease is lost, even if nobody took it)."""

    @abstractmethod
    def release_leases(self, node_id: str, tokens: Mapping[str, int]) -> None:
        """Give back the leases held with these tokens (free for any node at once)."""

    @abstractmethod
    def check_lease(self, grant_id: str, node_id: str, token: int, now: float) -> None:
        """Raise `Fenced` unless the node holds the grant's lease with this token at
        `now`. In a shared database the lease stays locked until the transaction ends,
        so a takeover is ordered after the writes that passed this check."""

    @abstractmethod
    def request_restart(self, grant_id: str) -> None:
        """Ask whichever node holds the grant's lease to restart its sync."""

    @abstractmethod
    def remove_node(self, node_id: str) -> None:
        """Give back every lease of the node and delete its row (a clean shutdown)."""

    @abstractmethod
    def purge_nodes(self, before: float) -> int:
        """Delete the rows of nodes not heard from since `before`; returns how many."""

    # -- connection slots (a provider's cap over every node) ---------------------------------
    @abstractmethod
    def take_connection_slot(self, grant_id: str, cap: int, *, node_id: str, holder: str,
                             now: float, until: float) -> int | None:
        """Take the lowest free slot below `cap` for one connection to the grant's mail
        server, held until `until`; a slot whose holder let it expire is free. None when
        all `cap` slots are held."""

    @abstractmethod
    def release_connection_slot(self, grant_id: str, slot: int, holder: str) -> None:
        """Give a slot back (nothing happens when `holder` no longer holds it)."""

    @abstractmethod
    def renew_connection_slots(self, node_id: str, until: float) -> int:
        """Extend every slot the node holds to `until`; returns how many."""

    @abstractmethod
    def drop_node_slots(self, node_id: str) -> int:
        """Free every slot of the node (it restarted: its old connections are gone)."""
