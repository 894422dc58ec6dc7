"""The subject filter through the trigram indexes gives what a plain case-folded substring
test gives, on both back ends, for messages and threads, through either query plan."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store import builders as b
from tests.store.conftest import BACKENDS
from tidings.domain import Message, new_id
from tidings.store import CredentialCipher, MessageQuery, ThreadQuery, WriteTx
from tidings.store.postgres import connection as pg_connection
from tidings.store.postgres import listing as pg_listing
from tidings.store.postgres.write_tx import PostgresWriteTx
from tidings.store.queries import MAX_LIMIT
from tidings.store.sqlite import connection as sqlite_connection
from tidings.store.sqlite import listing as sqlite_listing
from tidings.store.sqlite.write_tx import SqliteWriteTx

# Letters whose case folding is not a one-to-one lower-casing (ß → ss, İ → i̇, ﬁ → fi,
# final sigma), accents, the LIKE and FTS5 quoting characters, and a few others.
_ALPHABET = st.sampled_from(list("aAbBcC zZ'\"%_\\*-ßẞİıﬁΣσςÉéèçüÜ語日😀"))
_SUBJECT = st.text(_ALPHABET, max_size=14) | st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=10
)


@dataclass
class Backend:
    """A store's write transactions and list queries, called directly on one connection."""

    name: str
    write: Callable[[Callable[[WriteTx], object]], None]
    listing: Any  # tidings.store.sqlite.listing or tidings.store.postgres.listing
    conn: Any

    def messages(self, grant_id: str, query: MessageQuery) -> set[str]:
        return {m.id for m in self.listing.list_messages(self.conn, grant_id, query).items}

    def threads(self, grant_id: str, query: ThreadQuery) -> set[str]:
        return {t.id for t in self.listing.list_threads(self.conn, grant_id, query).items}


@contextmanager
def _sqlite(path: Path) -> Iterator[Backend]:
    conn = sqlite_connection.connect_writer(path)
    sqlite_connection.migrate(conn)
    tx = SqliteWriteTx(conn, CredentialCipher(b.KEY))

    def write(job: Callable[[WriteTx], object]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        tx.begin_job()
        job(tx)
        tx.end_job()
        conn.execute("COMMIT")

    try:
        yield Backend("sqlite", write, sqlite_listing, conn)
    finally:
        conn.close()


@contextmanager
def _postgres(dsn: str) -> Iterator[Backend]:
    with pg_connection.connect(dsn) as conn:
        pg_connection.migrate(conn)
        tx = PostgresWriteTx(conn, CredentialCipher(b.KEY))

        def write(job: Callable[[WriteTx], object]) -> None:
            with conn.transaction():
                tx.begin_job()
                job(tx)
                tx.end_job()

        yield Backend("postgresql", write, pg_listing, conn)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgresql":
        with _postgres(request.getfixturevalue("postgres_dsn")) as opened:
            yield opened
    else:
        with _sqlite(tmp_path / "tidings.db") as opened:
            yield opened


@contextmanager
def _walking_in_date_order(backend: Backend) -> Iterator[None]:
    """The SQLite plan that tests instr() row by row instead of starting from the index
    (what it does when the text is in many subjects)."""
    if backend.name != "sqlite":
        yield
        return
    with mock.patch.object(sqlite_listing, "_SELECTIVE_ROWS", -1):
        yield


def _grant_with(backend: Backend, subjects: list[str]) -> tuple[str, list[Message]]:
    """A new grant holding one message per subject, each in a thread of its own."""
    c = b.connector()
    g = b.grant(c.id)
    inbox = b.folder(g.id)
    messages = [
        b.message(g.id, subject=subject, thread_id=new_id(), locations=b.at(inbox.id, uid))
        for uid, subject in enumerate(subjects, start=1)
    ]

    def create(tx: WriteTx) -> None:
        tx.create_connector(c)
        tx.create_grant(g)
        tx.upsert_folder(inbox)
        for m in messages:
            tx.insert_message(m)

    backend.write(create)
    return g.id, messages


@st.composite
def _subjects_and_query(draw: st.DrawFn) -> tuple[list[str], str]:
    subjects = draw(st.lists(_SUBJECT, min_size=1, max_size=12))
    source = draw(st.sampled_from(subjects))
    start = draw(st.integers(0, len(source)))
    end = draw(st.integers(start, len(source)))
    piece = source[start:end]
    # A piece of a subject in another case, or any text at all (mostly found nowhere).
    query = draw(
        st.sampled_from([piece, piece.upper(), piece.swapcase()]) | st.text(_ALPHABET, max_size=5)
    )
    return subjects, query


# Every example makes a grant of its own, so sharing the test's database is safe.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_subjects_and_query())
def test_the_subject_filter_is_a_case_folded_substring_test(
    backend: Backend, case: tuple[list[str], str]
) -> None:
    subjects, text = case
    grant_id, messages = _grant_with(backend, subjects)
    if not text:
        return  # an empty filter is no filter
    wanted = {m.id for m in messages if text.casefold() in m.subject.casefold()}
    wanted_threads = {m.thread_id for m in messages if m.id in wanted}
    messages_query = MessageQuery(subject=text, limit=MAX_LIMIT)
    threads_query = ThreadQuery(subject=text, limit=MAX_LIMIT)
    assert backend.messages(grant_id, messages_query) == wanted
    assert backend.threads(grant_id, threads_query) == wanted_threads
    with _walking_in_date_order(backend):
        assert backend.messages(grant_id, messages_query) == wanted
        assert backend.threads(grant_id, threads_query) == wanted_threads


def test_a_subject_in_a_folder_with_other_filters_pages_in_order(backend: Backend) -> None:
    subjects = [f"{'Budget' if n % 3 == 0 else 'Lunch'} {n}" for n in range(40)]
    grant_id, messages = _grant_with(backend, subjects)
    folder_id = messages[0].locations[0].folder_id
    wanted = sorted(
        (m for m in messages if "budget" in m.subject.casefold()),
        key=lambda m: (m.date, m.id),
        reverse=True,
    )
    got: list[str] = []
    token = None
    while True:
        page = backend.listing.list_messages(
            backend.conn,
            grant_id,
            MessageQuery(subject="UDGE", folder_id=folder_id, unread=True, limit=4,
                         page_token=token),
        )  # fmt: skip
        got += [m.id for m in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert got == [m.id for m in wanted]


def _fts_rows(conn: sqlite3.Connection, text: str) -> int:
    phrase = '"' + text.replace('"', '""') + '"'
    row = conn.execute(
        "SELECT count(*) FROM message_subjects WHERE message_subjects MATCH ?", (phrase,)
    )
    return int(row.fetchone()[0])


def _check_fts(conn: sqlite3.Connection) -> None:
    """The index holds exactly the messages' subjects, and is sound."""
    indexed = conn.execute("SELECT rowid, subject_search FROM message_subjects ORDER BY 1")
    stored = conn.execute("SELECT rowid, subject_search FROM messages ORDER BY 1")
    assert indexed.fetchall() == stored.fetchall()
    conn.execute("INSERT INTO message_subjects (message_subjects) VALUES ('integrity-check')")


def test_the_sqlite_index_follows_every_write(tmp_path: Path) -> None:
    with _sqlite(tmp_path / "tidings.db") as backend:
        conn: sqlite3.Connection = backend.conn
        grant_id, messages = _grant_with(backend, ["Quarterly numbers", "Lunch", "numbers again"])
        _grant_with(backend, ["numbers elsewhere"])
        assert _fts_rows(conn, "numbers") == 3
        first, lunch, again = messages

        backend.write(lambda tx: tx.delete_message(again.id))
        assert _fts_rows(conn, "numbers") == 2
        # A thread takes the subject of its earliest message: merged, the lunch thread is
        # about quarterly numbers, though its message about lunch is what the index finds.
        backend.write(lambda tx: tx.merge_threads(lunch.thread_id, [first.thread_id]))
        _check_fts(conn)
        assert backend.threads(grant_id, ThreadQuery(subject="quarterly")) == {lunch.thread_id}
        assert backend.threads(grant_id, ThreadQuery(subject="lunch")) == set()
        backend.write(lambda tx: tx.purge_messages_before(grant_id, lunch.date + 1))
        _check_fts(conn)
        assert backend.messages(grant_id, MessageQuery(subject="lunch")) == set()
        backend.write(lambda tx: tx.delete_grant(grant_id))
        _check_fts(conn)
        assert _fts_rows(conn, "numbers") == 1
