"""The database schema as an ordered list of migrations, shared by every SQL backend.

The statements use the common subset of SQLite and PostgreSQL; the few type names that
differ are placeholders filled from `DIALECTS`. Booleans are stored as 0/1 integers in both,
so partial indexes and filters read the same. Append a migration to change the schema;
never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = ["DIALECTS", "LATEST_VERSION", "MIGRATIONS", "Migration", "statements_for"]

DIALECTS: Final[dict[str, dict[str, str]]] = {
    "sqlite": {
        # AUTOINCREMENT: a position is never handed out twice, even after the newest
        # events are purged (plain rowids would restart at max(rowid) + 1).
        "log_pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "row_pk": "INTEGER PRIMARY KEY",
        "blob": "BLOB",
        "float": "REAL",
    },
    "postgresql": {
        "log_pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "row_pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "blob": "BYTEA",
        "float": "DOUBLE PRECISION",
    },
}


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    # Statements one dialect runs after the common ones, for a feature that has no common
    # form (SQLite's FTS5, PostgreSQL's pg_trgm): dialect name -> statements.
    dialect_statements: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_BASE = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE connectors (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        provider TEXT NOT NULL,
        settings TEXT NOT NULL,
        created_at {float} NOT NULL,
        updated_at {float} NOT NULL
    )""",
    """CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        connector_id TEXT NOT NULL REFERENCES connectors (id),
        email TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        imap_host TEXT NOT NULL,
        imap_port INTEGER NOT NULL,
        imap_security TEXT NOT NULL,
        smtp_host TEXT NOT NULL,
        smtp_port INTEGER NOT NULL,
        smtp_security TEXT NOT NULL,
        imap_username TEXT NOT NULL,
        smtp_username TEXT NOT NULL,
        allow_plaintext INTEGER NOT NULL,
        sync_window_days INTEGER NOT NULL,
        state TEXT NOT NULL,
        state_reason TEXT,
        folders_done INTEGER NOT NULL,
        folders_total INTEGER NOT NULL,
        messages_done INTEGER NOT NULL,
        messages_total INTEGER NOT NULL,
        caller_state TEXT,
        created_at {float} NOT NULL,
        updated_at {float} NOT NULL
    )""",
    "CREATE INDEX grants_by_connector ON grants (connector_id)",
    """CREATE TABLE credentials (
        grant_id TEXT PRIMARY KEY REFERENCES grants (id) ON DELETE CASCADE,
        sealed {blob} NOT NULL
    )""",
    """CREATE TABLE folders (
        id TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        delimiter TEXT,
        attributes TEXT NOT NULL,
        role TEXT NOT NULL,
        parent_id TEXT,
        uidvalidity BIGINT,
        uidnext BIGINT,
        highestmodseq BIGINT,
        total_count INTEGER NOT NULL,
        unread_count INTEGER NOT NULL,
        sync_state TEXT NOT NULL,
        uidvalidity_changes INTEGER NOT NULL,
        last_uidvalidity_check {float},
        UNIQUE (grant_id, name)
    )""",
    # The columns filters read come first and the bodies live in message_bodies, so a scan
    # over messages reads short rows. subject_search is the case-folded subject for
    # substring filters; subject_norm is normalize_subject(subject) for threading;
    # addresses and the lists are JSON.
    """CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        thread_id TEXT NOT NULL,
        date BIGINT NOT NULL,
        unread INTEGER NOT NULL,
        starred INTEGER NOT NULL,
        has_attachments INTEGER NOT NULL,
        subject_search TEXT NOT NULL,
        subject_norm TEXT NOT NULL,
        message_id_header TEXT NOT NULL,
        synthetic_id INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        flags TEXT NOT NULL,
        subject TEXT NOT NULL,
        addresses TEXT NOT NULL,
        sent_date BIGINT,
        snippet TEXT NOT NULL,
        size BIGINT NOT NULL,
        in_reply_to TEXT NOT NULL,
        refs TEXT NOT NULL,
        warnings TEXT NOT NULL,
        UNIQUE (grant_id, message_id_header, content_hash)
    )""",
    """CREATE TABLE message_bodies (
        message_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        text_body TEXT,
        html_body TEXT,
        headers TEXT NOT NULL
    )""",
    "CREATE INDEX messages_by_date ON messages (grant_id, date DESC, id DESC)",
    "CREATE INDEX messages_by_thread ON messages (thread_id, date, id)",
    "CREATE INDEX messages_by_subject ON messages (grant_id, subject_norm, date)",
    # One row per (message, role, address), lower-cased: the address filters drive from it.
    """CREATE TABLE message_addresses (
        message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        grant_id TEXT NOT NULL,
        role TEXT NOT NULL,
        email TEXT NOT NULL,
        PRIMARY KEY (message_id, role, email)
    )""",
    "CREATE INDEX message_addresses_by_email ON message_addresses (grant_id, email, role)",
    # In-Reply-To and References ids, to find a thread from either end (RFC 5322 §3.6.4).
    """CREATE TABLE message_refs (
        message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        grant_id TEXT NOT NULL,
        ref TEXT NOT NULL,
        PRIMARY KEY (message_id, ref)
    )""",
    "CREATE INDEX message_refs_by_ref ON message_refs (grant_id, ref)",
    # date and flags repeat the message's: a folder's messages list from this table's
    # index in date order, and its UID → (message, flags) map reads no other table.
    """CREATE TABLE locations (
        id {row_pk},
        folder_id TEXT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
        message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        uid BIGINT,
        date BIGINT NOT NULL,
        flags TEXT NOT NULL
    )""",
    "CREATE UNIQUE INDEX locations_by_uid ON locations (folder_id, uid) WHERE uid IS NOT NULL",
    "CREATE INDEX locations_by_message ON locations (message_id)",
    "CREATE INDEX locations_by_folder_date ON locations (folder_id, date DESC, message_id DESC)",
    """CREATE TABLE attachments (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        part TEXT NOT NULL,
        filename TEXT,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        content_id TEXT,
        disposition TEXT,
        is_inline INTEGER NOT NULL,
        encoding TEXT
    )""",
    "CREATE INDEX attachments_by_message ON attachments (message_id, ordinal)",
    """CREATE TABLE threads (
        id TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        subject TEXT NOT NULL,
        subject_search TEXT NOT NULL,
        participants TEXT NOT NULL,
        message_ids TEXT NOT NULL,
        folder_ids TEXT NOT NULL,
        unread INTEGER NOT NULL,
        starred INTEGER NOT NULL,
        has_attachments INTEGER NOT NULL,
        earliest_message_date BIGINT NOT NULL,
        latest_message_date BIGINT NOT NULL,
        snippet TEXT NOT NULL
    )""",
    "CREATE INDEX threads_by_date ON threads (grant_id, latest_message_date DESC, id DESC)",
    # No foreign key: a deleted grant's events stay in the log.
    """CREATE TABLE events (
        position {log_pk},
        id TEXT NOT NULL UNIQUE,
        grant_id TEXT,
        type TEXT NOT NULL,
        object_id TEXT,
        payload TEXT NOT NULL,
        created_at {float} NOT NULL
    )""",
    "CREATE INDEX events_by_grant ON events (grant_id, position)",
    "CREATE INDEX events_by_time ON events (created_at)",
)

# Partial indexes for the selective boolean filters: a query for the few unread messages
# among thousands reads only those. Filters must compare with a literal 1 to use them.
_FILTER_INDEXES = (
    "CREATE INDEX messages_unread ON messages (grant_id, date DESC, id DESC) WHERE unread = 1",
    "CREATE INDEX messages_starred ON messages (grant_id, date DESC, id DESC) WHERE starred = 1",
    "CREATE INDEX messages_with_attachments ON messages (grant_id, date DESC, id DESC)"
    " WHERE has_attachments = 1",
    "CREATE INDEX threads_unread ON threads (grant_id, latest_message_date DESC, id DESC)"
    " WHERE unread = 1",
)

# API keys are stored as digests only (see tidings.service.api_keys): a copy of the
# database lets nobody call the API.
_API_KEYS = (
    """CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE,
        created_at {float} NOT NULL,
        revoked_at {float}
    )""",
)

# A hosted sign-in lives in the database so that any node can serve its page and any node
# can exchange its code, across restarts. Session ids and codes are bearer secrets: only
# their SHA-256 is stored. A used code is kept until it expires, so that a second exchange
# is told "already used" (RFC 6749 §4.1.2: a code is used at most once).
_HOSTED_AUTH = (
    """CREATE TABLE hosted_sessions (
        id_hash TEXT PRIMARY KEY,
        connector_id TEXT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
        redirect_uri TEXT NOT NULL,
        provider_type TEXT,
        login_hint TEXT,
        state TEXT,
        code_challenge TEXT,
        code_challenge_method TEXT,
        csrf_token TEXT NOT NULL,
        created_at {float} NOT NULL,
        expires_at {float} NOT NULL,
        busy_until {float}
    )""",
    "CREATE INDEX hosted_sessions_by_expiry ON hosted_sessions (expires_at)",
    """CREATE TABLE hosted_codes (
        code_hash TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT,
        code_challenge_method TEXT,
        created_at {float} NOT NULL,
        expires_at {float} NOT NULL,
        used_at {float}
    )""",
    "CREATE INDEX hosted_codes_by_expiry ON hosted_codes (expires_at)",
)

# Idempotency keys of sends (RFC-free, Nylas-style): a key names one send for an hour.
# `message_id` stays NULL while the first send runs, so a concurrent retry can tell
# "in progress" from "done".
_SEND_KEYS = (
    """CREATE TABLE send_keys (
        grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        created_at {float} NOT NULL,
        message_id TEXT,
        PRIMARY KEY (grant_id, key)
    )""",
    "CREATE INDEX send_keys_by_age ON send_keys (created_at)",
)

# A grant's display name. Existing grants get none: their From name stays as it was.
_GRANT_NAME = ("ALTER TABLE grants ADD COLUMN name TEXT NOT NULL DEFAULT ''",)

# Cluster membership and grant leases (tidings.store.leases). A lease row outlives its
# holder (node_id NULL when given back) so that the fencing token only ever grows; it goes
# with its grant. Node rows are not referenced: a lease may name a node long gone.
_CLUSTER = (
    """CREATE TABLE cluster_nodes (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at {float} NOT NULL,
        heartbeat_at {float} NOT NULL
    )""",
    """CREATE TABLE grant_leases (
        grant_id TEXT PRIMARY KEY REFERENCES grants (id) ON DELETE CASCADE,
        node_id TEXT,
        token BIGINT NOT NULL,
        acquired_at {float} NOT NULL,
        expires_at {float} NOT NULL,
        restarts INTEGER NOT NULL
    )""",
    "CREATE INDEX grant_leases_by_node ON grant_leases (node_id)",
)

# Connections open to a grant's mail server, over every node of a cluster: a provider's
# connection cap is per account, not per daemon. A slot is held while its connection is
# open and renewed by its node; a node that dies frees its slots when they expire.
_CONNECTION_SLOTS = (
    """CREATE TABLE connection_slots (
        grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        slot INTEGER NOT NULL,
        node_id TEXT NOT NULL,
        holder TEXT NOT NULL,
        expires_at {float} NOT NULL,
        PRIMARY KEY (grant_id, slot)
    )""",
    "CREATE INDEX connection_slots_by_node ON connection_slots (node_id)",
)

# Indexes for the subject filter, a case-insensitive substring match on subject_search
# (the case-folded subject), so that a rare subject does not read every row.
#
# SQLite: an FTS5 trigram table of the messages' subjects, kept in step by triggers so that
# every write path keeps it right. Its rows carry the message's rowid, which the text
# primary key leaves implicit: inserts assign it, VACUUM keeps it for a table with indexes.
# The table keeps its own copy of each subject (a few dozen bytes a message) rather than
# reading the messages table: a delete then needs only the rowid, and a row that ever went
# stale costs a candidate that the exact test drops, never a damaged index. case_sensitive 1:
# the text is folded already, by Python's casefold, which the tokenizer's own folding would
# not match (ß, ﬁ). Threads are found through their messages: a thread's subject is its
# earliest message's, so the threads holding a matching message are a superset.
_SQLITE_SUBJECT_INDEX = (
    "CREATE VIRTUAL TABLE message_subjects USING fts5"
    "(subject_search, tokenize='trigram case_sensitive 1')",
    """CREATE TRIGGER message_subjects_insert AFTER INSERT ON messages BEGIN
        INSERT OR REPLACE INTO message_subjects (rowid, subject_search)
            VALUES (new.rowid, new.subject_search);
    END""",
    """CREATE TRIGGER message_subjects_delete AFTER DELETE ON messages BEGIN
        DELETE FROM message_subjects WHERE rowid = old.rowid;
    END""",
    """CREATE TRIGGER message_subjects_update AFTER UPDATE OF subject_search ON messages
    WHEN old.subject_search IS NOT new.subject_search BEGIN
        DELETE FROM message_subjects WHERE rowid = old.rowid;
        INSERT OR REPLACE INTO message_subjects (rowid, subject_search)
            VALUES (new.rowid, new.subject_search);
    END""",
    "INSERT INTO message_subjects (rowid, subject_search) SELECT rowid, subject_search"
    " FROM messages",
)

# PostgreSQL: pg_trgm GIN indexes, which serve `LIKE '%text%'`. The extension goes where
# CREATE EXTENSION puts it (the first schema of the search path) unless it is installed
# already; the operator class is named with the schema it is in. Without the right to
# install it (pg_trgm is a trusted extension from PostgreSQL 13: whoever may create in the
# database may install it) or to use it, or without the contrib files, the indexes are
# left out with a warning: the filter gives the same results, only by reading the rows.
# A GIN index collects new entries in a pending list that every search reads through until
# (auto)vacuum merges it; 256 kB (a few hundred subjects) instead of the default 4 MB
# bounds that read after a large sync.
_POSTGRES_SUBJECT_INDEX = (
    """DO $$
    DECLARE
        home TEXT;
    BEGIN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
        EXCEPTION
            WHEN unique_violation OR duplicate_object THEN
                NULL;  -- installed this moment by the migration of another schema
            WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
                RAISE WARNING 'pg_trgm cannot be installed (%): subject filters read rows',
                    SQLERRM;
                RETURN;
        END;
        SELECT n.nspname INTO home FROM pg_extension e
            JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
        BEGIN
            EXECUTE format('CREATE INDEX messages_subject_trigrams ON messages'
                           ' USING gin (subject_search %I.gin_trgm_ops)'
                           ' WITH (gin_pending_list_limit = 256)', home);
            EXECUTE format('CREATE INDEX threads_subject_trigrams ON threads'
                           ' USING gin (subject_search %I.gin_trgm_ops)'
                           ' WITH (gin_pending_list_limit = 256)', home);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'pg_trgm in schema % cannot be used (%): subject filters read rows',
                home, SQLERRM;
        END;
    END
    $$""",
)

# Whether a message is in a folder: the probe of every listing that starts from a few
# messages and keeps those in one folder (a thread page's dates in Sent, a subject filter
# within a folder). Without statistics SQLite served it from the folder's (folder_id,
# date) index, reading the folder's entries for every message tried: 31 ms instead of
# 4 ms for a thread page's Sent dates in a folder of 1,000 messages.
_LOCATIONS_BY_MESSAGE_FOLDER = (
    "CREATE INDEX locations_by_message_folder ON locations (message_id, folder_id)",
    "DROP INDEX locations_by_message",
)

MIGRATIONS: Final = (
    Migration(1, "base schema", _BASE),
    Migration(2, "partial indexes for the unread, starred and attachment filters", _FILTER_INDEXES),
    Migration(3, "API keys", _API_KEYS),
    Migration(4, "hosted sign-in sessions and their codes", _HOSTED_AUTH),
    Migration(5, "idempotency keys of sends", _SEND_KEYS),
    Migration(6, "grant display name", _GRANT_NAME),
    Migration(7, "cluster nodes and grant leases", _CLUSTER),
    Migration(8, "connection slots shared by a cluster", _CONNECTION_SLOTS),
    Migration(
        9,
        "trigram indexes for the subject filter",
        (),
        {"sqlite": _SQLITE_SUBJECT_INDEX, "postgresql": _POSTGRES_SUBJECT_INDEX},
    ),
    Migration(10, "locations by message and folder", _LOCATIONS_BY_MESSAGE_FOLDER),
)
LATEST_VERSION: Final = MIGRATIONS[-1].version


def statements_for(migration: Migration, dialect: str) -> list[str]:
    """The migration's statements with the dialect's type names filled in."""
    types = DIALECTS[dialect]
    own = migration.dialect_statements.get(dialect, ())
    return [statement.format_map(types) for statement in (*migration.statements, *own)]
