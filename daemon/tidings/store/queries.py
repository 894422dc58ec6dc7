"""List queries, their pages, and the marker for "leave this field as it is"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Generic, TypeVar

from tidings.store.errors import InvalidQuery

__all__ = [
    "DEFAULT_LIMIT",
    "KEEP",
    "MAX_ANY_EMAIL",
    "MAX_LIMIT",
    "Keep",
    "MessageQuery",
    "Page",
    "ThreadQuery",
]

T = TypeVar("T")

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
MAX_ANY_EMAIL: Final = 25  # as many addresses as Nylas takes in any_email


class Keep(Enum):
    """Marks an argument the caller does not want to change."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_page_token: str | None  # None on the last page


def _check_common(limit: int, emails: tuple[tuple[str, ...], ...]) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    for addresses in emails:
        if len(addresses) > MAX_ANY_EMAIL:
            raise InvalidQuery(f"at most {MAX_ANY_EMAIL} addresses per filter")


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageQuery:
    """Filters for listing messages, newest first (by INTERNALDATE).

    Address filters match any of the given addresses, case-insensitively.
    `received_before` and `received_after` are exclusive bounds in unix seconds.

    `ids` and `thread_ids`, when given, keep only those messages, or the messages of
    those threads: one call for what would otherwise be a call per message or thread.

    `bodies` and `headers` say what the listed messages carry: without `bodies` their
    text and HTML bodies are None, without `headers` their header fields are empty. A
    listing that returns neither reads only the short message rows.
    """

    limit: int = DEFAULT_LIMIT
    page_token: str | None = None
    subject: str | None = None  # substring, case-insensitive
    any_email: tuple[str, ...] = ()
    from_: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    folder_id: str | None = None
    unread: bool | None = None
    starred: bool | None = None
    has_attachment: bool | None = None
    received_before: int | None = None
    received_after: int | None = None
    thread_id: str | None = None
    ids: tuple[str, ...] = ()
    thread_ids: tuple[str, ...] = ()
    bodies: bool = True
    headers: bool = True

    def __post_init__(self) -> None:
        _check_common(self.limit, (self.any_email, self.from_, self.to, self.cc, self.bcc))
        for name, values in (("ids", self.ids), ("thread_ids", self.thread_ids)):
            if len(values) > MAX_LIMIT:
                raise InvalidQuery(f"at most {MAX_LIMIT} {name} per query")


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadQuery:
    """Filters for listing threads, most recently active first.

    A thread matches an address or folder filter when any of its messages does.
    """

    limit: int = DEFAULT_LIMIT
    page_token: str | None = None
    subject: str | None = None
    any_email: tuple[str, ...] = ()
    from_: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    folder_id: str | None = None
    unread: bool | None = None
    starred: bool | None = None
    has_attachment: bool | None = None
    latest_message_before: int | None = None
    latest_message_after: int | None = None

    def __post_init__(self) -> None:
        _check_common(self.limit, (self.any_email, self.from_, self.to, self.cc, self.bcc))
