"""Thread assignment for a batch of new messages (JWZ-style, with a subject fallback).

Each message, in order, joins the thread of every stored or earlier-in-the-batch message
that shares a Message-ID with its References/In-Reply-To/Message-ID; when it ties several
threads together they merge into the oldest. A reply with no known reference joins the
latest thread with its normalized subject from the last 30 days. Anything else starts a
thread.

The store is asked twice per batch (links by Message-ID, latest message per subject) and
the rest runs in memory: the result is the same as storing the messages one at a time and
asking the store before each, at a fraction of the statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tidings.domain import Message, new_id, normalize_subject
from tidings.store import SubjectLatest, WriteTx

__all__ = ["SUBJECT_THREAD_SPAN", "Threading", "assign_threads"]

# A reply whose references are unknown joins a thread by subject only within this span.
SUBJECT_THREAD_SPAN = 30 * 86400


@dataclass(frozen=True, slots=True)
class Threading:
    """The batch's thread ids (in message order), whether each joined an existing
    thread, and the merges the store must make: survivor → threads folded into it."""

    thread_ids: tuple[str, ...]
    joined: tuple[bool, ...]
    merges: dict[str, list[str]] = field(default_factory=dict)


def _references(message: Message) -> list[str]:
    return list(dict.fromkeys((*message.references, *message.in_reply_to,
                               message.message_id_header)))


def _had_reply_prefix(subject: str) -> bool:
    return normalize_subject(subject) != " ".join(subject.split()).casefold()


def _wants_subject(message: Message) -> bool:
    return _had_reply_prefix(message.subject) or bool(message.in_reply_to)


class _Batch:
    """What is known while the batch is assigned: messages by Message-ID key, their
    threads (with merges applied lazily), and the latest message per subject."""

    def __init__(self, latest: dict[str, SubjectLatest]) -> None:
        self.by_key: dict[str, dict[str, int]] = {}  # key → {message id: date}
        self.thread_of: dict[str, str] = {}  # message id → thread id (before merges)
        self.merged_into: dict[str, str] = {}
        self.latest = latest

    def link(self, key: str, message_id: str, thread_id: str, date: int) -> None:
        self.by_key.setdefault(key, {})[message_id] = date
        self.thread_of[message_id] = thread_id

    def resolve(self, thread_id: str) -> str:
        while thread_id in self.merged_into:
            thread_id = self.merged_into[thread_id]
        return thread_id

    def threads_for(self, keys: Sequence[str]) -> list[str]:
        """Threads holding a message linked to any key, oldest first (by the earliest
        linked message, then id), as `WriteTx.threads_for_references` orders them."""
        matched: dict[str, int] = {}
        for key in keys:
            matched.update(self.by_key.get(key, {}))
        first: dict[str, int] = {}
        for message_id, date in matched.items():
            thread_id = self.resolve(self.thread_of[message_id])
            first[thread_id] = min(date, first.get(thread_id, date))
        return sorted(first, key=lambda t: (first[t], t))

    def by_subject(self, subject: str, since: int) -> str | None:
        found = self.latest.get(subject) if subject else None
        if found is None or found.date < since:
            return None
        return self.resolve(found.thread_id)

    def add(self, message: Message, thread_id: str) -> None:
        self.link(message.message_id_header, message.id, thread_id, message.date)
        for ref in (*message.in_reply_to, *message.references):
            self.link(ref, message.id, thread_id, message.date)
        subject = normalize_subject(message.subject)
        if subject:
            current = self.latest.get(subject)
            if current is None or (message.date, message.id) > (current.date,
                                                                  current.message_id):
                self.latest[subject] = SubjectLatest(message.date, message.id, thread_id)


def assign_threads(tx: WriteTx, grant_id: str, messages: Sequence[Message]) -> Threading:
    """Threads for `messages` (new, not yet stored, all of one grant), in order."""
    keys = {key for message in messages for key in _references(message)}
    subjects = {normalize_subject(m.subject) for m in messages if _wants_subject(m)}
    batch = _Batch(tx.latest_by_subject(grant_id, sorted(subjects)) if subjects else {})
    for link in tx.thread_links(grant_id, sorted(keys)):
        batch.link(link.key, link.message_id, link.thread_id, link.date)
    assigned: list[str] = []
    joined: list[bool] = []
    for message in messages:
        thread_id, found = _thread_for(batch, message)
        batch.add(message, thread_id)
        assigned.append(thread_id)
        joined.append(found)
    merges: dict[str, list[str]] = {}
    for merged in sorted(batch.merged_into):
        merges.setdefault(batch.resolve(merged), []).append(merged)
    return Threading(tuple(batch.resolve(t) for t in assigned), tuple(joined), merges)


def _thread_for(batch: _Batch, message: Message) -> tuple[str, bool]:
    """(thread id, whether it existed) for the next message of the batch."""
    threads = batch.threads_for(_references(message))
    if threads:
        for other in threads[1:]:
            batch.merged_into[other] = threads[0]
        return threads[0], True
    if _wants_subject(message):
        found = batch.by_subject(normalize_subject(message.subject),
                                 message.date - SUBJECT_THREAD_SPAN)
        if found is not None:
            return found, True
    return new_id(), False
