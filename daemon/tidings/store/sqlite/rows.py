"""Domain objects to table rows and back. The column lists here match the converters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from tidings.domain import (
    Attachment,
    Connector,
    ConnectorSettings,
    EmailAddress,
    Endpoint,
    Event,
    EventType,
    Folder,
    FolderRole,
    Grant,
    GrantState,
    Location,
    Message,
    Security,
    SyncProgress,
    Thread,
    normalize_subject,
)

__all__ = [
    "ATTACHMENT_COLUMNS",
    "CONNECTOR_COLUMNS",
    "EVENT_COLUMNS",
    "FOLDER_COLUMNS",
    "GRANT_COLUMNS",
    "MESSAGE_COLUMNS",
    "MESSAGE_SOURCE",
    "MESSAGE_TABLE_COLUMNS",
    "THREAD_COLUMNS",
    "FlagDecoder",
    "address_rows",
    "addresses_from_json",
    "addresses_to_json",
    "attachment_from_row",
    "attachment_params",
    "body_params",
    "connector_from_row",
    "connector_params",
    "dumps",
    "encode_flags",
    "event_from_row",
    "folder_from_row",
    "folder_params",
    "grant_from_row",
    "grant_params",
    "listed_message_columns",
    "message_from_row",
    "message_params",
    "placeholders",
    "thread_from_row",
]

Row = Sequence[Any]

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
dumps = _ENCODER.encode

ADDRESS_ROLES: Final = ("from", "to", "cc", "bcc", "reply_to")


def placeholders(count: int) -> str:
    return ",".join("?" * count)


# -- connectors ---------------------------------------------------------------------------

CONNECTOR_COLUMNS: Final = "id, name, provider, settings, created_at, updated_at"


def connector_params(c: Connector) -> tuple[Any, ...]:
    s = c.settings
    settings = {
        "sync_window_days": s.sync_window_days,
        "strict_message_id": s.strict_message_id,
        "poll_interval": s.poll_interval,
        "allowed_redirect_uris": list(s.allowed_redirect_uris),
    }
    return (c.id, c.name, c.provider, dumps(settings), c.created_at, c.updated_at)


def connector_from_row(row: Row) -> Connector:
    settings = json.loads(row[3])
    return Connector(
        id=row[0],
        name=row[1],
        provider=row[2],
        settings=ConnectorSettings(
            sync_window_days=settings["sync_window_days"],
            strict_message_id=settings["strict_message_id"],
            poll_interval=settings.get("poll_interval"),
            allowed_redirect_uris=tuple(settings["allowed_redirect_uris"]),
        ),
        created_at=row[4],
        updated_at=row[5],
    )


# -- grants -------------------------------------------------------------------------------

GRANT_COLUMNS: Final = (
    "id, connector_id, email, name, provider_type, imap_host, imap_port, imap_security,"
    " smtp_host, smtp_port, smtp_security, imap_username, smtp_username, allow_plaintext,"
    " sync_window_days, state, state_reason, folders_done, folders_total, messages_done,"
    " messages_total, caller_state, created_at, updated_at"
)


def grant_params(g: Grant) -> tuple[Any, ...]:
    p = g.progress
    return (
        g.id, g.connector_id, g.email, g.name, g.provider_type,
        g.imap.host, g.imap.port, g.imap.security.value,
        g.smtp.host, g.smtp.port, g.smtp.security.value,
        g.imap_username, g.smtp_username, int(g.allow_plaintext), g.sync_window_days,
        g.state.value, g.state_reason,
        p.folders_done, p.folders_total, p.messages_done, p.messages_total,
        g.caller_state, g.created_at, g.updated_at,
    )  # fmt: skip


def grant_from_row(row: Row) -> Grant:
    return Grant(
        id=row[0],
        connector_id=row[1],
        email=row[2],
        name=row[3],
        provider_type=row[4],
        imap=Endpoint(row[5], row[6], Security(row[7])),
        smtp=Endpoint(row[8], row[9], Security(row[10])),
        imap_username=row[11],
        smtp_username=row[12],
        allow_plaintext=bool(row[13]),
        sync_window_days=row[14],
        state=GrantState(row[15]),
        state_reason=row[16],
        progress=SyncProgress(row[17], row[18], row[19], row[20]),
        caller_state=row[21],
        created_at=row[22],
        updated_at=row[23],
    )


# -- folders ------------------------------------------------------------------------------

FOLDER_COLUMNS: Final = (
    "id, grant_id, name, delimiter, attributes, role, parent_id, uidvalidity, uidnext,"
    " highestmodseq, total_count, unread_count, sync_state, uidvalidity_changes,"
    " last_uidvalidity_check"
)


def folder_params(f: Folder) -> tuple[Any, ...]:
    return (
        f.id, f.grant_id, f.name, f.delimiter, dumps(list(f.attributes)), f.role.value,
        f.parent_id, f.uidvalidity, f.uidnext, f.highestmodseq, f.total_count,
        f.unread_count, f.sync_state, f.uidvalidity_changes, f.last_uidvalidity_check,
    )  # fmt: skip


def folder_from_row(row: Row) -> Folder:
    return Folder(
        id=row[0],
        grant_id=row[1],
        name=row[2],
        delimiter=row[3],
        attributes=tuple(json.loads(row[4])),
        role=FolderRole(row[5]),
        parent_id=row[6],
        uidvalidity=row[7],
        uidnext=row[8],
        highestmodseq=row[9],
        total_count=row[10],
        unread_count=row[11],
        sync_state=row[12],
        uidvalidity_changes=row[13],
        last_uidvalidity_check=row[14],
    )


# -- messages -----------------------------------------------------------------------------


def encode_flags(flags: Iterable[str]) -> str:
    # Flags are atoms, which cannot contain a space (RFC 3501 §9, flag-keyword = atom).
    return " ".join(sorted(set(flags)))


class FlagDecoder:
    """Turns stored flag strings into tuples, sharing one tuple per distinct string: a
    folder of 50,000 messages has only a handful of distinct flag sets."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, ...]] = {}

    def __call__(self, text: str) -> tuple[str, ...]:
        flags = self._seen.get(text)
        if flags is None:
            flags = self._seen[text] = tuple(text.split())
        return flags


def addresses_to_json(roles: dict[str, tuple[EmailAddress, ...]]) -> str:
    return dumps(
        {role: [[a.name, a.email] for a in items] for role, items in roles.items() if items}
    )


def addresses_from_json(text: str) -> dict[str, tuple[EmailAddress, ...]]:
    return {
        role: tuple(EmailAddress(n, e) for n, e in items)
        for role, items in json.loads(text).items()
    }


def _message_roles(m: Message) -> dict[str, tuple[EmailAddress, ...]]:
    return {"from": m.from_, "to": m.to, "cc": m.cc, "bcc": m.bcc, "reply_to": m.reply_to}


# Reading a message joins its body: FROM MESSAGE_SOURCE SELECT MESSAGE_COLUMNS.
MESSAGE_SOURCE: Final = "messages m JOIN message_bodies b ON b.message_id = m.id"
MESSAGE_COLUMNS: Final = (
    "m.id, m.grant_id, m.thread_id, m.message_id_header, m.synthetic_id, m.content_hash,"
    " m.subject, m.addresses, m.date, m.sent_date, m.flags, m.snippet, b.text_body,"
    " b.html_body, b.headers, m.size, m.in_reply_to, m.refs, m.warnings"
)


def listed_message_columns(*, bodies: bool, headers: bool) -> tuple[str, str]:
    """(columns, source) like MESSAGE_COLUMNS and MESSAGE_SOURCE, with NULL bodies and an
    empty header list where the listing does not want them: the bodies are most of a
    message's bytes, and without either the body table is not read at all."""
    if bodies and headers:
        return MESSAGE_COLUMNS, MESSAGE_SOURCE
    body_columns = "b.text_body, b.html_body" if bodies else "NULL, NULL"
    header_column = "b.headers" if headers else "'[]'"
    columns = (
        "m.id, m.grant_id, m.thread_id, m.message_id_header, m.synthetic_id, m.content_hash,"
        f" m.subject, m.addresses, m.date, m.sent_date, m.flags, m.snippet, {body_columns},"
        f" {header_column}, m.size, m.in_reply_to, m.refs, m.warnings"
    )
    return columns, MESSAGE_SOURCE if bodies or headers else "messages m"


MESSAGE_TABLE_COLUMNS: Final = (
    "id, grant_id, thread_id, date, unread, starred, has_attachments, subject_search,"
    " subject_norm, message_id_header, synthetic_id, content_hash, flags, subject, addresses,"
    " sent_date, snippet, size, in_reply_to, refs, warnings"
)


def message_params(m: Message) -> tuple[Any, ...]:
    """Values for MESSAGE_TABLE_COLUMNS."""
    return (
        m.id, m.grant_id, m.thread_id, m.date, int(m.unread), int(m.starred),
        int(m.has_attachments), m.subject.casefold(), normalize_subject(m.subject),
        m.message_id_header, int(m.synthetic_id), m.content_hash, encode_flags(m.flags),
        m.subject, addresses_to_json(_message_roles(m)), m.sent_date, m.snippet, m.size,
        dumps(list(m.in_reply_to)), dumps(list(m.references)), dumps(list(m.warnings)),
    )  # fmt: skip


def body_params(m: Message) -> tuple[Any, ...]:
    """Values for message_bodies (message_id, text_body, html_body, headers)."""
    return (m.id, m.text_body, m.html_body, dumps([list(h) for h in m.headers]))


def address_rows(m: Message) -> set[tuple[str, str, str, str]]:
    """(message id, grant id, role, lower-cased address) rows for the address index."""
    return {
        (m.id, m.grant_id, role, address.email.lower())
        for role, items in _message_roles(m).items()
        if role != "reply_to"
        for address in items
    }


def message_from_row(
    row: Row,
    locations: tuple[Location, ...],
    attachments: tuple[Attachment, ...],
    flags: FlagDecoder,
) -> Message:
    roles = addresses_from_json(row[7])
    return Message(
        id=row[0],
        grant_id=row[1],
        thread_id=row[2],
        message_id_header=row[3],
        synthetic_id=bool(row[4]),
        content_hash=row[5],
        subject=row[6],
        from_=roles.get("from", ()),
        to=roles.get("to", ()),
        cc=roles.get("cc", ()),
        bcc=roles.get("bcc", ()),
        reply_to=roles.get("reply_to", ()),
        date=row[8],
        sent_date=row[9],
        flags=flags(row[10]),
        locations=locations,
        snippet=row[11],
        text_body=row[12],
        html_body=row[13],
        headers=tuple((name, value) for name, value in _json_list(row[14])),
        attachments=attachments,
        size=row[15],
        in_reply_to=tuple(_json_list(row[16])),
        references=tuple(_json_list(row[17])),
        warnings=tuple(_json_list(row[18])),
    )


def _json_list(text: str) -> list[Any]:
    # Most of these lists are empty; a page of messages decodes hundreds of them.
    if text == "[]":
        return []
    decoded: list[Any] = json.loads(text)
    return decoded


ATTACHMENT_COLUMNS: Final = (
    "id, message_id, part, filename, content_type, size, content_id, disposition,"
    " is_inline, encoding"
)


def attachment_params(a: Attachment, ordinal: int) -> tuple[Any, ...]:
    return (
        a.id, a.message_id, ordinal, a.part, a.filename, a.content_type, a.size,
        a.content_id, a.disposition, int(a.is_inline), a.encoding,
    )  # fmt: skip


def attachment_from_row(row: Row) -> Attachment:
    return Attachment(
        id=row[0],
        message_id=row[1],
        part=row[2],
        filename=row[3],
        content_type=row[4],
        size=row[5],
        content_id=row[6],
        disposition=row[7],
        is_inline=bool(row[8]),
        encoding=row[9],
    )


# -- threads and events -------------------------------------------------------------------

THREAD_COLUMNS: Final = (
    "t.id, t.grant_id, t.subject, t.participants, t.message_ids, t.folder_ids, t.unread,"
    " t.starred, t.has_attachments, t.earliest_message_date, t.latest_message_date, t.snippet"
)


def thread_from_row(row: Row) -> Thread:
    return Thread(
        id=row[0],
        grant_id=row[1],
        subject=row[2],
        participants=tuple(EmailAddress(n, e) for n, e in json.loads(row[3])),
        message_ids=tuple(json.loads(row[4])),
        folder_ids=tuple(json.loads(row[5])),
        unread=bool(row[6]),
        starred=bool(row[7]),
        has_attachments=bool(row[8]),
        earliest_message_date=row[9],
        latest_message_date=row[10],
        snippet=row[11],
    )


EVENT_COLUMNS: Final = "position, id, grant_id, type, object_id, payload, created_at"


def event_from_row(row: Row) -> Event:
    return Event(
        position=row[0],
        id=row[1],
        grant_id=row[2],
        type=EventType(row[3]),
        object_id=row[4],
        payload=json.loads(row[5]),
        created_at=row[6],
    )
