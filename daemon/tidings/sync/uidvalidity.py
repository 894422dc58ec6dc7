"""UIDVALIDITY bookkeeping of one grant: telling a misconfigured server from an
occasional reset, and recording when each folder was last checked.

RFC 9051 §2.3.1.1: a server should keep UIDVALIDITY across sessions; a new value voids
every UID we hold for the folder, so a change is synced (UID map dropped, messages
rematched by identity). A server that changes it on most sessions cannot keep stable
UIDs at all, and the grant is marked degraded instead of resyncing forever.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence

from tidings.domain import Folder
from tidings.store import WriteTx

__all__ = ["FLAP_CHANGES", "FLAP_WINDOW", "FlappingUidValidity", "UidValidityHistory",
           "mark_checked"]

# A folder whose UIDVALIDITY changed on at least this many of its last sessions (and on
# most of them) belongs to a misconfigured server.
FLAP_WINDOW = 6
FLAP_CHANGES = 3


class FlappingUidValidity(Exception):
    def __init__(self, folder: str) -> None:
        super().__init__(f"UIDVALIDITY of {folder!r} changes on most sessions: the server "
                         "cannot keep stable UIDs; serving stored mail, rechecking slowly")
        self.folder = folder


class UidValidityHistory:
    """Whether UIDVALIDITY changed, for each folder's last FLAP_WINDOW sessions."""

    def __init__(self) -> None:
        self._seen: defaultdict[str, deque[bool]] = defaultdict(
            lambda: deque(maxlen=FLAP_WINDOW))

    def note(self, folder: Folder, changed: bool) -> None:
        """Record one session; raise FlappingUidValidity when changes are the rule."""
        history = self._seen[folder.id]
        history.append(changed)
        flips = sum(history)
        if flips >= FLAP_CHANGES and flips * 2 > len(history):
            raise FlappingUidValidity(folder.name)

    def clear(self) -> None:
        self._seen.clear()


def mark_checked(tx: WriteTx, *, folder_ids: Sequence[str], at: float) -> None:
    """Record when the folders' UIDVALIDITY was last confirmed (folders deleted
    meanwhile are skipped)."""
    for folder_id in folder_ids:
        if tx.folder(folder_id) is not None:
            tx.set_folder_sync(folder_id, last_uidvalidity_check=at)
