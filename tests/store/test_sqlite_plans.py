"""How SQLite runs the listing queries that matter for speed (plans, not timings)."""

from __future__ import annotations

from pathlib import Path

from tests.store import builders as b
from tidings.store import MessageQuery
from tidings.store.sqlite.connection import connect_reader
from tidings.store.sqlite.listing import list_messages


async def test_a_few_threads_in_a_folder_are_read_through_the_thread_and_message_indexes(
        tmp_path: Path) -> None:
    # A thread page asks for the dates of its threads' messages in Sent: a few messages,
    # each probed for the folder. Probed through the folder's own index, every probe
    # read the folder's entries, which grows with the folder; and walking the grant's
    # messages by date to find the threads' reads every message of the grant.
    async with b.opened_store(tmp_path) as store:
        grant, inbox = await b.account(store)
        sent = b.folder(grant.id, "Sent")
        await store.write(lambda tx: tx.upsert_folder(sent))
        messages = [b.message(grant.id, thread_id=f"t{n % 5}",
                              locations=b.at((inbox if n % 2 else sent).id, n + 1))
                    for n in range(40)]
        await b.insert(store, *messages)
    conn = connect_reader(tmp_path / "tidings.db")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    page = list_messages(conn, grant.id, MessageQuery(
        folder_id=sent.id, thread_ids=("t0", "t1"), bodies=False, headers=False))
    assert {m.thread_id for m in page.items} == {"t0", "t1"}
    assert all(sent.id in m.folder_ids for m in page.items) and len(page.items) == 8
    conn.set_trace_callback(None)
    page_ids = next(s for s in statements if "EXISTS (SELECT 1 FROM locations" in s)
    plan = " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + page_ids))
    assert "messages_by_thread (thread_id=?)" in plan, plan
    assert "locations_by_message_folder (message_id=? AND folder_id=?)" in plan, plan
