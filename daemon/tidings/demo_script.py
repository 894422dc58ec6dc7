"""The changes `tidings demo` makes from a second IMAP client, the event each one must
cause, and how events are printed.

Each step waits for its event before the next one starts: a message appended, flagged
and moved at once could reach the daemon as one change, and the point is to show one
event per change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Final

from tidings.imap import ImapClient
from tidings_client import Event, Folder, Message

__all__ = ["ARCHIVE", "STEPS", "SUBJECT_SENT", "Seen", "Step", "describe"]

SUBJECT_KEEP: Final = "Quarterly numbers are in"
SUBJECT_DROP: Final = "Lunch on Friday?"
SUBJECT_SENT: Final = "Hello from Tidings"
NEW_FOLDER: Final = "Projects"
ARCHIVE: Final = "Archive"


@dataclass
class Seen:
    """What the events so far told: message subjects, folders and ids, folder names."""

    subjects: dict[str, str] = field(default_factory=dict)
    message_folders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ids_by_subject: dict[str, str] = field(default_factory=dict)
    folder_names: dict[str, str] = field(default_factory=dict)

    def note(self, event: Event) -> None:
        changed = event.object
        if isinstance(changed, Message):
            self.subjects[changed.id] = changed.subject
            self.ids_by_subject[changed.subject] = changed.id
            self.message_folders[changed.id] = changed.folders
        elif isinstance(changed, Folder):
            self.folder_names[changed.id] = changed.path

    def folder_list(self, ids: tuple[str, ...]) -> str:
        return ", ".join(self.folder_names.get(i, i) for i in ids) or "no folder"


def describe(event: Event, seen: Seen) -> str:
    """One line for an event: its type, the object id and what changed."""
    changed = event.object
    if isinstance(changed, Message):
        state = ("unread" if changed.unread else "read") + (", starred" if changed.starred
                                                            else "")
        what = f'"{changed.subject}" in {seen.folder_list(changed.folders)} ({state})'
    elif isinstance(changed, Folder):
        what = f"folder {changed.path}"
    elif event.type == "message.deleted":
        what = f'"{seen.subjects.get(event.object_id, "?")}"'
    elif event.type.startswith("folder."):
        what = f"folder {seen.folder_names.get(event.object_id, event.object_id)}"
    else:
        what = event.type.split(".", 1)[0]
    return f"{event.type:<26} {event.object_id:<28} {what}"


def new_message(subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Dana Reyes <dana@example.net>"
    message["To"] = "demo@example.org"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(body)
    return message.as_bytes()


async def _uid(client: ImapClient, folder: str, subject: str) -> list[int]:
    await client.select(folder)
    uids = await client.uid_search("SUBJECT", subject)
    if not uids:
        raise LookupError(f"{subject!r} is not in {folder}")
    return list(uids)


async def _append_keep(client: ImapClient) -> None:
    await client.append("INBOX", new_message(SUBJECT_KEEP, "Revenue is up 12% on Q2."))


async def _append_drop(client: ImapClient) -> None:
    await client.append("INBOX", new_message(SUBJECT_DROP, "The usual place at noon?"))


async def _flag(client: ImapClient) -> None:
    await client.uid_store(await _uid(client, "INBOX", SUBJECT_KEEP), "+FLAGS", ["\\Flagged"])


async def _move(client: ImapClient) -> None:
    await client.uid_move(await _uid(client, "INBOX", SUBJECT_KEEP), ARCHIVE)


async def _delete(client: ImapClient) -> None:
    uids = await _uid(client, "INBOX", SUBJECT_DROP)
    await client.uid_store(uids, "+FLAGS", ["\\Deleted"])
    await client.uid_expunge(uids)


async def _create_folder(client: ImapClient) -> None:
    await client.create(NEW_FOLDER)


def _created(subject: str) -> Callable[[Seen], Callable[[Event], bool]]:
    def expect(_seen: Seen) -> Callable[[Event], bool]:
        return lambda e: e.type == "message.created" and e.subject == subject
    return expect


def _flagged(seen: Seen) -> Callable[[Event], bool]:
    target = seen.ids_by_subject[SUBJECT_KEEP]
    return lambda e: (e.type == "message.updated" and e.object_id == target
                      and isinstance(e.object, Message) and e.object.starred)


def _moved(seen: Seen) -> Callable[[Event], bool]:
    target = seen.ids_by_subject[SUBJECT_KEEP]
    before = seen.message_folders.get(target, ())
    return lambda e: (e.type == "message.updated" and e.object_id == target
                      and isinstance(e.object, Message) and bool(e.object.folders)
                      and e.object.folders != before)


def _deleted(seen: Seen) -> Callable[[Event], bool]:
    target = seen.ids_by_subject[SUBJECT_DROP]
    return lambda e: e.type == "message.deleted" and e.object_id == target


def _folder_created(_seen: Seen) -> Callable[[Event], bool]:
    return lambda e: (e.type == "folder.created" and isinstance(e.object, Folder)
                      and e.object.name == NEW_FOLDER)


@dataclass(frozen=True, slots=True)
class Step:
    """A change on the server and, made when the step starts, the test for its event."""

    title: str
    change: Callable[[ImapClient], Awaitable[None]]
    expect: Callable[[Seen], Callable[[Event], bool]]


STEPS: Final = (
    Step(f'APPEND "{SUBJECT_KEEP}" to INBOX', _append_keep, _created(SUBJECT_KEEP)),
    Step(f'APPEND "{SUBJECT_DROP}" to INBOX', _append_drop, _created(SUBJECT_DROP)),
    Step(f'STORE +FLAGS \\Flagged on "{SUBJECT_KEEP}"', _flag, _flagged),
    Step(f'MOVE "{SUBJECT_KEEP}" to {ARCHIVE}', _move, _moved),
    Step(f'STORE \\Deleted + EXPUNGE "{SUBJECT_DROP}"', _delete, _deleted),
    Step(f"CREATE folder {NEW_FOLDER}", _create_folder, _folder_created),
)
