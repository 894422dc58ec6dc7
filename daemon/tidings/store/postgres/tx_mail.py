"""Write operations on messages, their locations and threads."""

from __future__ import annotations

from collections.abc import Sequence

from tidings.domain import Message, has_flag
from tidings.store.errors import Conflict, NotFound
from tidings.store.postgres import reads
from tidings.store.postgres.connection import insert_into
from tidings.store.postgres.tx_base import TxBase
from tidings.store.sqlite.rows import (
    MESSAGE_TABLE_COLUMNS,
    address_rows,
    attachment_params,
    body_params,
    encode_flags,
    message_params,
)
from tidings.store.write_tx import SubjectLatest, ThreadLink

__all__ = ["MailTx"]


class MailTx(TxBase):
    # -- messages ---------------------------------------------------------------------------
    def message(self, message_id: str) -> Message | None:
        return reads.get_message(self._conn, message_id)

    def insert_message(self, message: Message) -> None:
        # A folder of the message's grant proves the grant exists (folders reference
        # grants), which saves a round trip per message during a sync.
        for location in message.locations:
            self._check_folder(location.folder_id, message.grant_id)
        if not message.locations:
            self._require("grants", "grant", message.grant_id)
        self._exec(
            insert_into("messages", MESSAGE_TABLE_COLUMNS),
            message_params(message),
        )
        self._exec(
            "INSERT INTO message_bodies (message_id, text_body, html_body, headers)"
            " VALUES (%s, %s, %s, %s)",
            body_params(message),
        )
        self._exec_many(
            "INSERT INTO message_addresses (message_id, grant_id, role, email)"
            " VALUES (%s, %s, %s, %s)",
            address_rows(message),
        )
        refs = dict.fromkeys((*message.in_reply_to, *message.references))
        self._exec_many(
            "INSERT INTO message_refs (message_id, grant_id, ref) VALUES (%s, %s, %s)",
            [(message.id, message.grant_id, ref) for ref in refs],
        )
        self._exec_many(
            "INSERT INTO attachments (id, message_id, ordinal, part, filename, content_type,"
            " size, content_id, disposition, is_inline, encoding)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [attachment_params(a, n) for n, a in enumerate(message.attachments)],
        )
        flags = encode_flags(message.flags)
        for location in message.locations:
            if location.uid is not None:
                self._check_uid_free(location.folder_id, location.uid, message.id)
            self._exec(
                "INSERT INTO locations (folder_id, message_id, uid, date, flags)"
                " VALUES (%s, %s, %s, %s, %s)",
                (location.folder_id, message.id, location.uid, message.date, flags),
            )
        self._touch_threads([message.thread_id])

    def find_message(
        self, grant_id: str, message_id_header: str, content_hash: str | None
    ) -> str | None:
        if content_hash is None:
            row = self._conn.execute(
                "SELECT id FROM messages WHERE grant_id = %s AND message_id_header = %s"
                " ORDER BY date, id LIMIT 1",
                (grant_id, message_id_header),
            ).fetchone()
        else:
            row = self._conn.execute(
                "SELECT id FROM messages WHERE grant_id = %s AND message_id_header = %s"
                " AND content_hash = %s",
                (grant_id, message_id_header, content_hash),
            ).fetchone()
        return str(row[0]) if row else None

    def add_location(self, message_id: str, folder_id: str, uid: int) -> None:
        row = self._conn.execute(
            "SELECT grant_id, thread_id, date, flags FROM messages WHERE id = %s", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        grant_id, thread_id, date, flags = row
        self._check_folder(folder_id, grant_id)
        if self._check_uid_free(folder_id, uid, message_id):
            return  # already recorded
        unmatched = self._conn.execute(
            "SELECT id FROM locations WHERE folder_id = %s AND message_id = %s AND uid IS NULL"
            " LIMIT 1",
            (folder_id, message_id),
        ).fetchone()
        if unmatched is not None:
            self._exec("UPDATE locations SET uid = %s WHERE id = %s", (uid, unmatched[0]))
        else:
            self._exec(
                "INSERT INTO locations (folder_id, message_id, uid, date, flags)"
                " VALUES (%s, %s, %s, %s, %s)",
                (folder_id, message_id, uid, date, flags),
            )
        self._touch_threads([thread_id])

    def _check_folder(self, folder_id: str, grant_id: str) -> None:
        row = self._conn.execute(
            "SELECT grant_id FROM folders WHERE id = %s", (folder_id,)
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
            "SELECT message_id FROM locations WHERE folder_id = %s AND uid = %s", (folder_id, uid)
        ).fetchone()
        if row is None:
            return False
        if row[0] != message_id:
            raise Conflict(f"UID {uid} of folder {folder_id!r} already names message {row[0]!r}")
        return True

    def remove_location(self, folder_id: str, uid: int) -> str | None:
        row = self._conn.execute(
            "SELECT l.id, l.message_id, m.thread_id FROM locations l"
            " JOIN messages m ON m.id = l.message_id WHERE l.folder_id = %s AND l.uid = %s",
            (folder_id, uid),
        ).fetchone()
        if row is None:
            return None
        location_id, message_id, thread_id = row
        self._exec("DELETE FROM locations WHERE id = %s", (location_id,))
        self._touch_threads([thread_id])
        return str(message_id)

    def drop_folder_uids(self, folder_id: str) -> int:
        self._require("folders", "folder", folder_id)
        return self._exec(
            "UPDATE locations SET uid = NULL WHERE folder_id = %s AND uid IS NOT NULL", (folder_id,)
        ).rowcount

    def unmatched_in_folder(self, folder_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT message_id FROM locations WHERE folder_id = %s AND uid IS NULL"
            " ORDER BY message_id",
            (folder_id,),
        )
        return [message_id for (message_id,) in rows]

    def clear_unmatched(self, folder_id: str) -> list[str]:
        message_ids = self.unmatched_in_folder(folder_id)
        self._touch_threads_of(message_ids)
        self._exec("DELETE FROM locations WHERE folder_id = %s AND uid IS NULL", (folder_id,))
        return message_ids

    def set_flags(self, message_id: str, flags: Sequence[str]) -> None:
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE id = %s", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        encoded = encode_flags(flags)
        self._exec(
            "UPDATE messages SET flags = %s, unread = %s, starred = %s WHERE id = %s",
            (
                encoded,
                int(not has_flag(flags, "\\Seen")),
                int(has_flag(flags, "\\Flagged")),
                message_id,
            ),
        )
        self._exec("UPDATE locations SET flags = %s WHERE message_id = %s", (encoded, message_id))
        self._touch_threads([row[0]])

    def delete_message(self, message_id: str) -> None:
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE id = %s", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        self._exec("DELETE FROM messages WHERE id = %s", (message_id,))
        self._touch_threads([row[0]])

    def messages_without_location(self, grant_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT m.id FROM messages m WHERE m.grant_id = %s"
            " AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.message_id = m.id)"
            " ORDER BY m.id",
            (grant_id,),
        )
        return [message_id for (message_id,) in rows]

    def purge_messages_before(self, grant_id: str, date: int) -> int:
        self._touch_threads(
            thread_id
            for (thread_id,) in self._conn.execute(
                "SELECT DISTINCT thread_id FROM messages WHERE grant_id = %s AND date < %s",
                (grant_id, date),
            )
        )
        return self._exec(
            "DELETE FROM messages WHERE grant_id = %s AND date < %s", (grant_id, date)
        ).rowcount

    # -- threads ----------------------------------------------------------------------------
    def thread_for_references(self, grant_id: str, message_ids: Sequence[str]) -> str | None:
        threads = self.threads_for_references(grant_id, message_ids)
        return threads[0] if threads else None

    def threads_for_references(self, grant_id: str, message_ids: Sequence[str]) -> list[str]:
        ids = sorted(set(message_ids))
        if not ids:
            return []
        rows = self._conn.execute(
            "SELECT thread_id, min(date) AS first FROM messages WHERE id IN ("
            " SELECT id FROM messages WHERE grant_id = %s AND message_id_header = ANY(%s)"
            " UNION SELECT message_id FROM message_refs WHERE grant_id = %s AND ref = ANY(%s)"
            ") GROUP BY thread_id ORDER BY first, thread_id",
            (grant_id, ids, grant_id, ids),
        )
        return [thread_id for thread_id, _first in rows]

    def thread_for_subject(self, grant_id: str, normalized_subject: str, since: int) -> str | None:
        if not normalized_subject:
            return None  # messages without a subject have nothing in common
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE grant_id = %s AND subject_norm = %s"
            " AND date >= %s ORDER BY date DESC, id DESC LIMIT 1",
            (grant_id, normalized_subject, since),
        ).fetchone()
        return str(row[0]) if row else None

    def thread_links(self, grant_id: str, keys: Sequence[str]) -> list[ThreadLink]:
        wanted = sorted(set(keys))
        if not wanted:
            return []
        rows = self._conn.execute(
            "SELECT message_id_header, id, thread_id, date FROM messages"
            " WHERE grant_id = %s AND message_id_header = ANY(%s)"
            " UNION ALL SELECT r.ref, m.id, m.thread_id, m.date FROM message_refs r"
            " JOIN messages m ON m.id = r.message_id WHERE r.grant_id = %s AND r.ref = ANY(%s)",
            (grant_id, wanted, grant_id, wanted),
        )
        return [ThreadLink(key, message_id, thread_id, date)
                for key, message_id, thread_id, date in rows]

    def latest_by_subject(
        self, grant_id: str, normalized_subjects: Sequence[str]
    ) -> dict[str, SubjectLatest]:
        wanted = sorted({s for s in normalized_subjects if s})
        if not wanted:
            return {}
        rows = self._conn.execute(
            "SELECT DISTINCT ON (subject_norm) subject_norm, date, id, thread_id FROM messages"
            " WHERE grant_id = %s AND subject_norm = ANY(%s)"
            " ORDER BY subject_norm, date DESC, id DESC",
            (grant_id, wanted),
        )
        return {subject: SubjectLatest(date, message_id, thread_id)
                for subject, date, message_id, thread_id in rows}

    def set_message_thread(self, message_id: str, thread_id: str) -> None:
        row = self._conn.execute(
            "SELECT thread_id FROM messages WHERE id = %s", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound("message", message_id)
        self._exec("UPDATE messages SET thread_id = %s WHERE id = %s", (thread_id, message_id))
        self._touch_threads([row[0], thread_id])

    def merge_threads(self, into_thread_id: str, thread_ids: Sequence[str]) -> int:
        others = sorted(set(thread_ids) - {into_thread_id})
        if not others:
            return 0
        moved = self._exec(
            "UPDATE messages SET thread_id = %s WHERE thread_id = ANY(%s)",
            (into_thread_id, others),
        ).rowcount
        self._touch_threads([into_thread_id, *others])
        return moved
