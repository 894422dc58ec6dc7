"""Scale-out benchmark: the same grants synced by one `tidings serve` process on SQLite
(the baseline, measured in the same run), one process on PostgreSQL, and three processes
sharing that PostgreSQL, all against one private Dovecot on this machine.

For each set-up, with fresh stores and the same mailboxes:

1. Time to all synced: from the first CreateGrant (spread round-robin over the nodes,
   eight at a time; each checks the IMAP and SMTP logins) until a subscriber on the first
   node has been told `grant.imap_sync_completed` for every grant.
2. Events/s to subscribers: three subscribers (spread over the nodes) replay the whole log
   from its start at once; events delivered in all, divided by the time until the last
   of them holds the newest event.
3. DB statements and write transactions per synced message (PostgreSQL only): from
   pg_stat_statements over the benchmark's database for the span of figure 1: every
   statement a node ran (sync writes, lease rounds, heartbeats, the subscriber's reads,
   grant creation), and the COMMITs of write transactions. A CreateGrant that fails with
   INTERNAL is retried (twice at most) and the failure printed. psycopg sends one statement
   per round trip here (no pipelining), so statements count round trips.
4. RSS per grant: the nodes' resident memory once all are synced, less what they held
   with no grant, divided by the grants.
5. DB statements/s at rest (PostgreSQL only): over `--rest-window` seconds (default one
   poll interval) once all are synced and nothing changes: lease rounds, heartbeats,
   polls of the folders that have no IDLE connection.

    .venv/bin/python bench/cluster.py [--grants 200] [--messages 5] [--nodes 3]
                                      [--rest-window 60]
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Figure, print_table
from tests.cluster.test_processes_launch import (
    NodeClient,
    NodeOptions,
    NodeProcess,
    start_node,
    stopping,
)
from tests.daemon.conftest import Subscription, grant_request
from tests.support.dovecot import Dovecot
from tests.support.mailgen import generate
from tests.support.postgres import PostgresServer, restart_postgres, running_postgres
from tests.support.smtpserver import SmtpServer
from tidings.events.cursor import decode_cursor, encode_cursor
from tidings.log import configure_logging
from tidings.service.api_keys import ApiKeys
from tidings.store import Store, open_store
from tidings.store.queries import MessageQuery
from tidings.v1 import events_pb2

KEY = bytes(range(32))
CREATE_CONCURRENCY = 8
CREATE_ATTEMPTS = 3
SUBSCRIBERS = 3
SYNC_TIMEOUT = 900.0


@dataclass(frozen=True, slots=True)
class Run:
    """One set-up's figures."""

    label: str
    seconds_to_synced: float
    messages: int
    events_per_second: float
    rss_per_grant_kb: float
    statements: float  # nan: not counted (SQLite, or pg_stat_statements missing)
    commits: float
    idle_statements_per_second: float
    node_base_rss_mb: float  # one node's RSS before it had any grant


@dataclass(frozen=True, slots=True)
class Mailboxes:
    dovecot: Dovecot
    smtp: SmtpServer
    users: list[tuple[str, str]]


@contextmanager
def mailboxes(grants: int, messages: int) -> Iterator[Mailboxes]:
    """A private Dovecot with one user per grant, each holding `messages` reproducible
    messages inside the default window, and an SMTP server delivering to it."""
    root = Path(tempfile.mkdtemp(prefix="tidings-bench-cluster-"))
    os.chmod(root, 0o755)
    dovecot = Dovecot(root)
    dovecot.start()
    smtp = SmtpServer(dovecot)
    smtp.start()
    try:
        users = []
        for index in range(grants):
            user, password = dovecot.add_user(f"bench{index}")
            for item in generate(messages, seed=index + 1, days=80):
                dovecot.seed(user, [item.raw], folder=item.folder, when=item.when,
                             chown=False)
            dovecot.chown_mail(user)
            users.append((user, password))
        yield Mailboxes(dovecot, smtp, users)
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


def statement_counting(server: PostgresServer) -> bool:
    """Load pg_stat_statements (a restart); False when the server lacks it."""
    try:
        with server.admin() as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        restart_postgres(server)
        with server.admin() as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except psycopg.Error as exc:
        print(f"pg_stat_statements unavailable ({exc}); statements not counted")
        return False
    return True


def statement_counts(server: PostgresServer, database: str) -> tuple[float, float]:
    """(statements, COMMITs) run in `database` so far."""
    with server.admin() as conn:
        row = conn.execute(
            "SELECT coalesce(sum(calls), 0),"
            " coalesce(sum(calls) FILTER (WHERE query ILIKE 'commit%%'), 0)"
            " FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)",
            (database,)).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


async def _replay_all(clients: list[NodeClient], last: int, nursery: trio.Nursery) -> float:
    """Events/s delivered to subscribers that each replay the log from its start."""
    received = 0

    async def one(client: NodeClient) -> None:
        nonlocal received
        subscription = client.subscribe(events_pb2.SubscribeRequest(cursor=encode_cursor(0)))
        try:
            position = 0
            while position < last:
                batch = await subscription.next_batch(120)
                received += len(batch.events)
                position = decode_cursor(batch.cursor)
        finally:
            subscription.close()

    started = time.perf_counter()
    async with trio.open_nursery() as readers:
        for index in range(SUBSCRIBERS):
            readers.start_soon(one, clients[index % len(clients)])
    return received / (time.perf_counter() - started)


async def measure(label: str, boxes: Mailboxes, root: Path, options: NodeOptions,
                  nodes_wanted: int, count_statements: tuple[PostgresServer, str] | None,
                  rest_window: float) -> Run:
    grants = len(boxes.users)
    async with trio.open_nursery() as nursery:
        async with open_store(options.store or "", KEY) as store:
            key = (await ApiKeys(store).create("bench")).key
            nodes: list[NodeProcess] = []
            async with stopping(nodes):
                async with trio.open_nursery() as starting:
                    for index in range(nodes_wanted):
                        async def one(node_id: str = f"node{index}") -> None:
                            nodes.append(await start_node(nursery, root, node_id, options))
                        starting.start_soon(one)
                nodes.sort(key=lambda node: node.node_id)
                clients = [NodeClient(node.grpc_port, key, nursery) for node in nodes]
                try:
                    idle_rss = sum(node.rss_bytes() for node in nodes)
                    before = (statement_counts(*count_statements) if count_statements
                              else (math.nan, math.nan))
                    watcher: Subscription = clients[0].subscribe(events_pb2.SubscribeRequest(
                        types=["grant.imap_sync_completed"]))
                    started = time.perf_counter()
                    retried = await _create_grants(clients, boxes)
                    for failure in retried:
                        print(f"{label}: CreateGrant retried after: {failure}")
                    completed: set[str] = set()
                    with trio.fail_after(SYNC_TIMEOUT):
                        while len(completed) < grants:
                            batch = await watcher.next_batch(SYNC_TIMEOUT)
                            completed |= {e.grant_id for e in batch.events}
                    seconds = time.perf_counter() - started
                    after = (statement_counts(*count_statements) if count_statements
                             else (math.nan, math.nan))
                    rss = sum(node.rss_bytes() for node in nodes)
                    messages = await _stored_messages(store)
                    rate = await _replay_all(clients, await store.last_position(), nursery)
                    idle = math.nan
                    if count_statements:
                        resting = statement_counts(*count_statements)
                        await trio.sleep(rest_window)  # a measuring window, not a wait
                        idle = (statement_counts(*count_statements)[0] - resting[0]) \
                            / rest_window
                finally:
                    for client in clients:
                        client.close()
        nursery.cancel_scope.cancel()
    return Run(label=label, seconds_to_synced=seconds, messages=messages,
               events_per_second=rate, rss_per_grant_kb=(rss - idle_rss) / grants / 1024,
               statements=after[0] - before[0], commits=after[1] - before[1],
               idle_statements_per_second=idle,
               node_base_rss_mb=idle_rss / len(nodes) / 2**20)


async def _stored_messages(store: Store) -> int:
    """Messages the store holds, over every grant."""
    total = 0
    for grant in await store.list_grants():
        token: str | None = None
        while True:
            page = await store.list_messages(grant.id, MessageQuery(limit=100,
                                                                    page_token=token))
            total += len(page.items)
            token = page.next_page_token
            if not token:
                break
    return total


async def _create_grants(clients: list[NodeClient], boxes: Mailboxes) -> list[str]:
    """Create a grant per mailbox; returns the server errors that were retried."""
    retried: list[str] = []
    limiter = trio.CapacityLimiter(CREATE_CONCURRENCY)
    connector_id = await clients[0].create_connector()

    async def create(index: int, user: str, password: str) -> None:
        client = clients[index % len(clients)]
        request = grant_request(boxes.dovecot, boxes.smtp, user, password,
                                connector_id=connector_id)
        async with limiter:
            for attempt in range(CREATE_ATTEMPTS):
                try:
                    await client.call(client.grants.CreateGrant, request)
                    return
                except grpc.RpcError as exc:
                    if exc.code() is not grpc.StatusCode.INTERNAL or \
                            attempt == CREATE_ATTEMPTS - 1:
                        raise
                    # Counted and reported: a server-side failure, e.g. a database
                    # deadlock between nodes' transactions.
                    retried.append(f"{user}: {exc.details()}")

    async with trio.open_nursery() as nursery:
        for index, (user, password) in enumerate(boxes.users):
            nursery.start_soon(create, index, user, password)
    return retried


def _options(store: str, boxes: Mailboxes) -> NodeOptions:
    # Lease timing and polling as shipped (10 s / 3 s, 60 s).
    return NodeOptions(store=store, key=base64.b64encode(KEY).decode(),
                       ca_file=str(boxes.dovecot.cert_path), lease_ttl=10.0,
                       renew_interval=3.0, poll_interval=60.0)


async def run_all(grants: int, messages: int, nodes: int, rest_window: float) -> list[Run]:
    runs: list[Run] = []
    with mailboxes(grants, messages) as boxes, running_postgres() as server:
        counting = statement_counting(server)
        work = Path(tempfile.mkdtemp(prefix="tidings-bench-nodes-"))
        try:
            sqlite = f"sqlite:///{work / 'sqlite' / 'tidings.db'}"
            (work / "sqlite").mkdir()
            runs.append(await measure("SQLite, 1 node", boxes, work / "sqlite",
                                      _options(sqlite, boxes), 1, None, rest_window))
            for wanted in (1, nodes):
                database = f"bench_{wanted}"
                dsn = server.create_database(database)
                if counting:
                    with psycopg.connect(dsn, autocommit=True) as conn:
                        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                label = f"PostgreSQL, {wanted} node{'s' if wanted > 1 else ''}"
                runs.append(await measure(label, boxes, work / database,
                                          _options(dsn, boxes), wanted,
                                          (server, database) if counting else None,
                                          rest_window))
                server.drop_database(database)
        except BaseException:
            print(f"the nodes' logs are kept in {work}", file=sys.stderr)
            raise
        else:
            shutil.rmtree(work, ignore_errors=True)
    return runs


def report(runs: list[Run], grants: int, messages: int) -> None:
    base = runs[0]
    figures: list[Figure] = []
    for run in runs[1:]:
        figures += [
            Figure(f"time to all synced, {run.label}", run.seconds_to_synced, "s",
                   base.label, base.seconds_to_synced),
            Figure(f"events/s to {SUBSCRIBERS} subscribers, {run.label}",
                   run.events_per_second, "ev/s", base.label, base.events_per_second),
            Figure(f"RSS per grant, {run.label}", run.rss_per_grant_kb, "KB", base.label,
                   base.rss_per_grant_kb),
        ]
    # SQLite counts no statements: the single PostgreSQL node is the baseline here.
    counted = [run for run in runs[1:] if not math.isnan(run.statements)]
    if counted:
        single = counted[0]
        for run in counted:
            other = run is not single
            figures += [
                Figure(f"DB statements per synced message, {run.label}",
                       run.statements / max(run.messages, 1), "",
                       single.label if other else "",
                       single.statements / max(single.messages, 1) if other else None),
                Figure(f"DB commits per synced message, {run.label}",
                       run.commits / max(run.messages, 1), "",
                       single.label if other else "",
                       single.commits / max(single.messages, 1) if other else None),
                Figure(f"DB statements/s at rest per 1k grants, {run.label}",
                       run.idle_statements_per_second * 1000 / grants, "/s",
                       single.label if other else "",
                       single.idle_statements_per_second * 1000 / grants if other else None),
            ]
    print_table(f"Cluster: {grants} grants x {messages} messages, one Dovecot, one PostgreSQL",
                figures)
    for run in counted:
        print(f"{run.label}: {run.statements:,.0f} statements, {run.commits:,.0f} commits"
              f" to sync {grants} grants ({run.statements / grants:,.1f} and"
              f" {run.commits / grants:,.1f} per grant)")
    print(f"\nmessages synced per set-up: {', '.join(f'{r.label}: {r.messages}' for r in runs)}")
    print("node RSS before any grant: "
          + ", ".join(f"{r.label}: {r.node_base_rss_mb:.0f} MB" for r in runs))
    print(f"baseline {base.label}: {base.seconds_to_synced:.1f} s to all synced,"
          f" {base.events_per_second:,.0f} ev/s, {base.rss_per_grant_kb:.0f} KB per grant")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--grants", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5, help="per grant")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--rest-window", type=float, default=60.0,
                        help="seconds of DB statements counted at rest (PostgreSQL runs)")
    args = parser.parse_args(argv)
    configure_logging("warning")
    runs = trio.run(run_all, args.grants, args.messages, args.nodes, args.rest_window)
    report(runs, args.grants, args.messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
