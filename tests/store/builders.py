"""Builders for store tests: domain objects with sensible defaults, and an open store."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tidings.domain import (
    Attachment,
    Connector,
    EmailAddress,
    Endpoint,
    EventType,
    Folder,
    FolderRole,
    Grant,
    Location,
    Message,
    NewEvent,
    Security,
    new_id,
)
from tidings.store import Store, WriteTx, open_store

KEY = bytes(range(32))
NOW = 1_700_000_000.0
_counter = itertools.count(1)


@asynccontextmanager
async def opened_store(target: Path | str) -> AsyncIterator[Store]:
    """An open store: in `tidings.db` of a directory, or at a path or database URL."""
    where = target / "tidings.db" if isinstance(target, Path) else target
    async with open_store(where, KEY) as store:
        yield store


def connector(**changes: object) -> Connector:
    fields: dict[str, object] = {
        "id": new_id(),
        "name": "imap",
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return Connector(**fields)  # type: ignore[arg-type]


def grant(connector_id: str, **changes: object) -> Grant:
    fields: dict[str, object] = {
        "id": new_id(),
        "connector_id": connector_id,
        "email": "ada@example.org",
        "imap": Endpoint("imap.example.org", 993, Security.TLS),
        "smtp": Endpoint("smtp.example.org", 587, Security.STARTTLS),
        "imap_username": "ada",
        "smtp_username": "ada",
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return Grant(**fields)  # type: ignore[arg-type]


def folder(grant_id: str, name: str = "INBOX", **changes: object) -> Folder:
    fields: dict[str, object] = {
        "id": new_id(),
        "grant_id": grant_id,
        "name": name,
        "delimiter": "/",
        "role": FolderRole.NONE,
    }
    fields.update(changes)
    return Folder(**fields)  # type: ignore[arg-type]


def message(grant_id: str, **changes: object) -> Message:
    n = next(_counter)
    message_id = str(changes.get("id") or new_id())
    fields: dict[str, object] = {
        "id": message_id,
        "grant_id": grant_id,
        "thread_id": new_id(),
        "message_id_header": f"<m{n}@example.org>",
        "content_hash": f"hash{n}",
        "subject": f"subject {n}",
        "from_": (EmailAddress("Ada", "ada@example.org"),),
        "to": (EmailAddress(None, "bob@example.org"),),
        "date": 1_000_000 + n,
        "snippet": f"snippet {n}",
    }
    fields.update(changes)
    fields["id"] = message_id
    return Message(**fields)  # type: ignore[arg-type]


def attachment(message_id: str, part: str = "2", **changes: object) -> Attachment:
    fields: dict[str, object] = {
        "id": new_id(),
        "message_id": message_id,
        "part": part,
        "filename": "report.pdf",
        "content_type": "application/pdf",
        "size": 1234,
        "disposition": "attachment",
    }
    fields.update(changes)
    return Attachment(**fields)  # type: ignore[arg-type]


def at(folder_id: str, uid: int) -> tuple[Location, ...]:
    return (Location(folder_id, uid),)


def event(
    grant_id: str | None,
    kind: EventType = EventType.MESSAGE_CREATED,
    object_id: str | None = None,
    **payload: object,
) -> NewEvent:
    return NewEvent(grant_id=grant_id, type=kind, object_id=object_id or new_id(), payload=payload)


async def account(store: Store) -> tuple[Grant, Folder]:
    """A connector, a grant and its INBOX, stored."""
    c = connector()
    g = grant(c.id)
    inbox = folder(g.id, "INBOX", role=FolderRole.INBOX)

    def create(tx: WriteTx) -> None:
        tx.create_connector(c)
        tx.create_grant(g)
        tx.upsert_folder(inbox)

    await store.write(create)
    return g, inbox


async def insert(store: Store, *messages: Message) -> None:
    def write(tx: WriteTx) -> None:
        for m in messages:
            tx.insert_message(m)

    await store.write(write)
