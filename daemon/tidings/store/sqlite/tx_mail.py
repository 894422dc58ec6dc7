"""Write operations on messages, their locations and threads."""

# ruff: noqa: S608 -- only column lists, table names and `?` placeholders are put into
# the SQL text; every value is a bound parameter.

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from tidings.domain import Message, has_flag
from tidings.store.errors import Conflict, NotFound
from tidings.store.sqlite import reads
from tidings.store.sqlite.rows import (
    MESSAGE_TABLE_COLUMNS,
    address_rows,
    attachment_params,
    body_params,
    encode_flags,
    message_params,
    placeholders,
)
from tidings.store.sqlite.tx_base import TxBase
from tidings.store.write_tx import SubjectLatest, ThreadLink

__all__ = ["MailTx"]

# Keys per look-up statement: short IN lists, well under the variable limit.
_KEYS_PER_QUERY: Final = 500


class MailTx(TxBase):
    # -- messages ---------------------------------------------------------------------------
    def message(self, message_id: str) -> Message | None:
        return reads.get_message(self._conn, message_id)

    def insert_message(self, message: Message) -> None:
        # A folder of the message's grant proves the grant exists (folders reference
        # grants, foreign keys on), which saves a lookup per message during a sync.
        try:
            for location in message.locations:
                self._check_folder(location.folder_id, message.grant_id)
        except (NotFound, Conflict):
            self._require("grants", "grant", message.grant_id)  # a missing grant first
            raise
        if not message.locations:
            self._require("grants", "grant", message.grant_id)
        self._exec(
            f"INSERT INTO messages ({MESSAGE_TABLE_COLUMNS}) VALUES ({placeholders(21)})",
            message_params(message),
        )
        self._exec(
            "INSERT INTO message_bodies (message_id, text_body, html_body, headers)"
            " VALUES (?, ?, ?, ?)",
            body_params(message),
        )
        addresses = address_rows(message)
        if addresses:
            self._exec_many(
                "INSERT INTO message_addresses (message_id, grant_id, role, email)"
                " VALUES (?, ?, ?, ?)",
                addresses,
            )
        refs = dict.fromkeys((*message.in_reply_to, *message.references))
        if refs:
            self._exec_many(
                "INSERT INTO message_refs (message_id, grant_id, ref) VALUES (?, ?, ?)",
                [(message.id, message.grant_id, ref) for ref in refs],
            )
        if message.attachments:
            self._exec_many(
                "INSERT INTO attachments (id, message_id, ordinal, part, filename,"
                " content_type, size, content_id, disposition, is_inline, encoding)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [attachment_params(a, n) for n, a in enumerate(message.attachments)],
            )
        flags = encode_flags(message.flags)
        for location in message.locations:
            try:
                self._conn.execute(
                    "INSERT INTO locations (folder_id, message_id, uid, date, flags)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (location.folder_id, message.id, location.uid, message.date, flags),
                )
            except sqlite3.IntegrityError as exc:
                # The unique (folder, uid) index refused it: say which message holds it.
                if location.uid is not None:
                    self._check_uid_free(location.folder_id, location.uid, message.id)
                raise Conflict(str(exc)) from exc
        self._touch_threads([message.thread_id])

    def insert_messages(self, messages: Sequence[Message]) -> None:
        """Every table's rows for all the messages in a few multi-row statements. When
        one is refused (a UID or identity already taken), the batch is undone and the
        messages go in one by one, so the error names the message at fault."""
        if len(messages) < 2:
            self._insert_each(messages)
            return
        checked: set[tuple[str, str]] = set()
        for message in messages:
            if not message.locations:
                self._require("grants", "grant", message.grant_id)
            for location in message.locations:
                if (location.folder_id, message.grant_id) not in checked:
                    try:
                        self._check_folder(location.folder_id, message.grant_id)
                    except (NotFound, Conflict):
                        self._require("grants", "grant", message.grant_id)
                        raise
                    checked.add((location.folder_id, message.grant_id))
        self._conn.execute("SAVEPOINT bulk_insert")
        try:
            self._insert_all(messages)
        except Conflict:
            self._conn.execute("ROLLBACK TO bulk_insert")
            self._conn.execute("RELEASE bulk_insert")
            self._insert_each(messages)
            return
        self._conn.execute("RELEASE bulk_insert")
        self._touch_threads(m.thread_id for m in messages)

    def _insert_each(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.insert_message(message)

    def _insert_all(self, messages: Sequence[Message]) -> None:
        self._insert_rows(
            f"INSERT INTO messages ({MESSAGE_TABLE_COLUMNS}) VALUES",
            [message_params(m) for m in messages],
        )
        self._insert_rows(
            "INSERT INTO message_bodies (message_id, text_body, html_body, headers) VALUES",
            [body_params(m) for m in messages],
        )
        self._insert_rows(
            "INSERT INTO message_addresses (message_id, grant_id, role, email) VALUES",
            [row for m in messages for row in sorted(address_rows(m))],
        )
        self._insert_rows(
            "INSERT INTO message_refs (message_id, grant_id, ref) VALUES",
            [(m.id, m.grant_id, ref) for m in messages
             for ref in dict.fromkeys((*m.in_reply_to, *m.references))],
        )
        self._insert_rows(
            "INSERT INTO attachments (id, message_id, ordinal, part, filename,"
            " content_type, size, content_id, disposition, is_inline, encoding) VALUES",
            [attachment_params(a, n) for m in messages for n, a in enumerate(m.attachments)],
        )
        rows: list[tuple[Any, ...]] = []
        for m in messages:
            flags = encode_flags(m.flags)
            rows.extend((loc.folder_id, m.id, loc.uid, m.date, flags) for loc in m.locations)
        self._insert_rows("INSERT INTO locations (folder_id, message_id, uid, date, flags) VALUES",
                          rows)

    def find_messages(
        self, grant_id: str, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        wanted = set(identities)
        headers = sorted({header for header, _hash in wanted})
        found: dict[tuple[str, str], str] = {}
        for start in range(0, len(headers), _KEYS_PER_QUERY):
            chunk = headers[start : start + _KEYS_PER_QUERY]
            for header, content_hash, message_id in self._conn.execute(
                "SELECT message_id_header, content_hash, id FROM messages"
                f" WHERE grant_id = ? AND message_id_header IN ({placeholders(len(chunk))})",
                (grant_id, *chunk),
            ):
                if (header, content_hash) in wanted:
                    found[(header, content_hash)] = message_id
        return found

    def find_message(
        self, grant_id: str, message_id_header: str, content_hash: str | None
    ) -> str | None:
        if content_hash is None:
            row = self._conn.execute(
                "SELECT id FROM messages WHERE grant_id = ? AND message_id_header = ?"
                " ORDER BY date, id LIMIT 1",
                (grant_id, message_id_header),
            ).fetchone()
        else:
            row = self._conn.execute(
                "SELECT id FROM messages WHERE grant_id = ? AND message_id_header = ?"
                " AND content_hash = ?",
                (grant_id, message_id_header, content_hash),
            ).fetchone()
        return str(row[0]) if row else None

    def add_location(self, message_id: str, folder_id: str, uid: int) -> None:
        row = self._conn.execute(
            "SELECT grant_id, thread_id, date, flags FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        grant_id, thread_id, date, flags = row
        self._check_folder(folder_id, grant_id)
        if self._check_uid_free(folder_id, uid, message_id):
            return  # already recorded
        unmatched = self._conn.execute(
            "SELECT id FROM locations WHERE folder_id = ? AND message_id = ? AND uid IS NULL"
            " LIMIT 1",
            (folder_id, message_id),
        ).fetchone()
        if unmatched is not None:
            self._exec("UPDATE locations SET uid = ? WHERE id = ?", (uid, unmatched[0]))
        else:
            self._exec(
                "INSERT INTO locations (folder_id, message_id, uid, date, flags)"
                " VALUES (?, ?, ?, ?, ?)",
                (folder_id, message_id, uid, date, flags),
            )
        self._touch_threads([thread_id])

    def _check_folder(self, folder_id: str, grant_id: str) -> None:
        row = self._conn.execute(
            "SELECT grant_id FROM folders WHERE id = ?", (folder_id,)
        ).fetchone()
        if row is None:
            raise NotFound("folder", folder_id)
        if row[0] != grant_id:
            raise Conflict(f"folder {folder_id!r} belongs to another grant than the message")

    def _check_uid_free(self, folder_id: str, uid: int, message_id: str) -> bool:
        """True when the UID already points to this message; Conflict if to another.

        A UID names one message for the life of a UIDVALIDITY (RFC 3501 §2.3.1.1).
        """
        row = self._conn.execute(
            "SELECT message_id FROM locations WHERE folder_id = ? AND uid = ?", (folder_id, uid)
        ).fetchone()
        if row is None:
            return False
        if row[0] != message_id:
            raise Conflict(f"UID {uid} of folder {folder_id!r} already names message {row[0]!r}")
        return True

    def remove_location(self, folder_id: str, uid: int) -> str | None:
        row = self._conn.execute(
            "SELECT l.id, l.message_id, m.thread_id FROM locations l"
            " JOIN messages m ON m.id = l.message_id WHERE l.folder_id = ? AND l.uid = ?",
            (folder_id, uid),
        ).fetchone()
        if row is None:
            return None
        location_id, message_id, thread_id = row
        self._exec("DELETE FROM locations WHERE id = ?", (location_id,))
        self._touch_threads([thread_id])
        return str(message_id)

    def drop_folder_uids(self, folder_id: str) -> int:
        self._require("folders", "folder", folder_id)
        return self._exec(
            "UPDATE locations SET uid = NULL WHERE folder_id = ? AND uid IS NOT NULL", (folder_id,)
        ).rowcount

    def unmatched_in_folder(self, folder_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT message_id FROM locations WHERE folder_id = ? AND uid IS NULL"
            " ORDER BY message_id",
            (folder_id,),
        )
        return [message_id for (message_id,) in rows]

    def clear_unmatched(self, folder_id: str) -> list[str]:
        message_ids = self.unmatched_in_folder(folder_id)
        self._touch_threads_of(message_ids)
        self._exec("DELETE FROM locations WHERE folder_id = ? AND uid IS NULL", (folder_id,))
        return message_ids

    def set_flags(self, message_id: str, flags: Sequence[str]) -> None:
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        encoded = encode_flags(flags)
        self._exec(
            "UPDATE messages SET flags = ?, unread = ?, starred = ? WHERE id = ?",
            (
                encoded,
                int(not has_flag(flags, "\\Seen")),
                int(has_flag(flags, "\\Flagged")),
                message_id,
            ),
        )
        self._exec("UPDATE locations SET flags = ? WHERE message_id = ?", (encoded, message_id))
        self._touch_threads([row[0]])

    def delete_message(self, message_id: str) -> None:
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        self._exec("DELETE FROM messages WHERE id = ?", (message_id,))
        self._touch_threads([row[0]])

    def messages_without_location(self, grant_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT m.id FROM messages m WHERE m.grant_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.message_id = m.id)"
            " ORDER BY m.id",
            (grant_id,),
        )
        return [message_id for (message_id,) in rows]

    def purge_messages_before(self, grant_id: str, date: int) -> int:
        self._touch_threads(
            thread_id
            for (thread_id,) in self._conn.execute(
                "SELECT DISTINCT thread_id FROM messages WHERE grant_id = ? AND date < ?",
                (grant_id, date),
            )
        )
        return self._exec(
            "DELETE FROM messages WHERE grant_id = ? AND date < ?", (grant_id, date)
        ).rowcount

    # -- threads ----------------------------------------------------------------------------
    def thread_for_references(self, grant_id: str, message_ids: Sequence[str]) -> str | None:
        threads = self.threads_for_references(grant_id, message_ids)
        return threads[0] if threads else None

    def threads_for_references(self, grant_id: str, message_ids: Sequence[str]) -> list[str]:
        ids = sorted(set(message_ids))
        if not ids:
            return []
        marks = placeholders(len(ids))
        rows = self._conn.execute(
            "SELECT thread_id, min(date) AS first FROM messages WHERE id IN ("
            f" SELECT id FROM messages WHERE grant_id = ? AND message_id_header IN ({marks})"
            f" UNION SELECT message_id FROM message_refs WHERE grant_id = ? AND ref IN ({marks})"
            ") GROUP BY thread_id ORDER BY first, thread_id",
            (grant_id, *ids, grant_id, *ids),
        )
        return [thread_id for thread_id, _first in rows]

    def thread_for_subject(self, grant_id: str, normalized_subject: str, since: int) -> str | None:
        if not normalized_subject:
            return None  # messages without a subject have nothing in common
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE grant_id = ? AND subject_norm = ? AND date >= ?"
            " ORDER BY date DESC, id DESC LIMIT 1",
            (grant_id, normalized_subject, since),
        ).fetchone()
        return str(row[0]) if row else None

    def thread_links(self, grant_id: str, keys: Sequence[str]) -> list[ThreadLink]:
        wanted = sorted(set(keys))
        links: list[ThreadLink] = []
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            marks = placeholders(len(chunk))
            rows = self._conn.execute(
                "SELECT message_id_header, id, thread_id, date FROM messages"
                f" WHERE grant_id = ? AND message_id_header IN ({marks})"
                " UNION ALL SELECT r.ref, m.id, m.thread_id, m.date FROM message_refs r"
                " JOIN messages m ON m.id = r.message_id"
                f" WHERE r.grant_id = ? AND r.ref IN ({marks})",
                (grant_id, *chunk, grant_id, *chunk),
            )
            links.extend(ThreadLink(key, message_id, thread_id, date)
                         for key, message_id, thread_id, date in rows)
        return links

    def latest_by_subject(
        self, grant_id: str, normalized_subjects: Sequence[str]
    ) -> dict[str, SubjectLatest]:
        wanted = sorted({subject for subject in normalized_subjects if subject})
        latest: dict[str, SubjectLatest] = {}
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            rows = self._conn.execute(
                "SELECT subject_norm, date, id, thread_id FROM (SELECT subject_norm, date, id,"
                " thread_id, row_number() OVER (PARTITION BY subject_norm"
                " ORDER BY date DESC, id DESC) AS rank FROM messages"
                f" WHERE grant_id = ? AND subject_norm IN ({placeholders(len(chunk))}))"
                " WHERE rank = 1",
                (grant_id, *chunk),
            )
            latest.update((subject, SubjectLatest(date, message_id, thread_id))
                          for subject, date, message_id, thread_id in rows)
        return latest

    def set_message_thread(self, message_id: str, thread_id: str) -> None:
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        self._exec("UPDATE messages SET thread_id = ? WHERE id = ?", (thread_id, message_id))
        self._touch_threads([row[0], thread_id])

    def merge_threads(self, into_thread_id: str, thread_ids: Sequence[str]) -> int:
        others = sorted(set(thread_ids) - {into_thread_id})
        if not others:
            return 0
        moved = self._exec(
            f"UPDATE messages SET thread_id = ? WHERE thread_id IN ({placeholders(len(others))})",
            (into_thread_id, *others),
        ).rowcount
        self._touch_threads([into_thread_id, *others])
        return moved
