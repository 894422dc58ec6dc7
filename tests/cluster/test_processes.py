"""Three `tidings serve` processes, one PostgreSQL, one Dovecot, fifty grants with a few
messages each: a node killed with SIGKILL, a node frozen with SIGSTOP past its lease, and
PostgreSQL restarted under the nodes while they sync.

The Dovecot users of a cluster are written to its passwd-file together and become valid
at one re-read (Dovecot looks at the file at most once a second), and the grants are
created a few at a time: what fifty grants cost is their sync, not their setup.

Which node wrote what is read from each node's own JSON log: `folder.synced` is logged
only after a folder's changes were committed, so a node that logs none for a grant wrote
nothing for it.

Mail delivered to a grant whose sync is already idling is told within seconds, but mail
that reaches the INBOX watcher's connection while that connection syncs (a grant just
started or taken over) is pushed then, not during IDLE, and waits for the next poll to
take the watcher out of IDLE: the connector polls every `NodeOptions.poll_interval`
(5 s), and waits for such mail allow `IDLE_NOTICE`, a loaded machine included; mail for
grants changing hands is found by the new holder's first sync and must arrive within
`TAKEOVER`.
"""

from __future__ import annotations

import base64
import collections
import functools
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.daemon.conftest import Subscription, grant_request
from tests.support.dovecot import DOVECOT_PASSWORD, Dovecot
from tests.support.mailgen import make_message
from tests.support.postgres import (
    PostgresError,
    PostgresServer,
    running_postgres,
)
from tests.support.smtpserver import SmtpServer
from tidings.domain import Event, EventType
from tidings.events.cursor import decode_cursor
from tidings.imap import ConnectParams, open_imap
from tidings.service.api_keys import ApiKeys
from tidings.store import Store, StoreError, open_store
from tidings.store.leases import ClusterView
from tidings.v1 import events_pb2

from .test_processes_launch import NodeClient, NodeOptions, NodeProcess, start_node, stopping

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

GRANTS = 50
NODES = 3
SEEDED = 2  # messages already in each grant's INBOX when it is created
TAKEOVER = 30.0
IDLE_NOTICE = 45.0
INITIAL_SYNC = 120.0  # every grant's initial sync, from the creation of the last one
KEY = bytes(range(32))
REPO_ROOT = Path(__file__).resolve().parents[2]
POLL = 0.2  # between reads of the shared database while waiting for a state
AT_ONCE = 4  # grants created, and messages delivered, at the same time
# What a failed test prints of each node's log: warnings, errors and lease changes.
TOLD_ON_FAILURE = ("cluster.", "grant.", "store.", "daemon.")
NOT_TOLD = {"grant.created"}


@dataclass(eq=False)
class Cluster:
    nodes: list[NodeProcess]
    front: NodeClient  # gRPC on node0, which no test stops
    store: Store  # the tests' own connection to the shared database
    users: dict[str, tuple[str, str]]  # grant id -> Dovecot user and password
    subscription: Subscription  # on node0, opened before the grants were created
    options: NodeOptions
    dovecot: Dovecot

    def node(self, node_id: str) -> NodeProcess:
        return next(node for node in self.nodes if node.node_id == node_id)

    async def view(self) -> ClusterView:
        return await self.store.cluster_view()

    async def holders(self) -> dict[str, str]:
        """Grant id -> node id of every lease held now."""
        now = time.time()
        return {lease.grant_id: lease.node_id for lease in (await self.view()).leases
                if lease.node_id is not None and lease.expires_at > now}

    async def wait_spread(self, node_ids: set[str], seconds: float = TAKEOVER) -> None:
        """Wait until every grant is leased to one of `node_ids`, evenly."""
        with trio.fail_after(seconds):
            while True:
                holders = await self.holders()
                load = collections.Counter(holders.values())
                if set(holders) == set(self.users) and set(load) == node_ids and \
                        max(load.values()) - min(load.values()) <= 1:
                    return
                await trio.sleep(POLL)

    async def log(self) -> list[Event]:
        return await self.store.read_events(0, 100_000)

    async def deliver(self, grant_ids: set[str], subject: str) -> dict[str, str]:
        """Append one message to each grant's INBOX; returns grant id -> subject."""
        subjects = {grant_id: f"{subject} {grant_id}" for grant_id in sorted(grant_ids)}
        params = ConnectParams(host=self.dovecot.host, port=self.dovecot.tls_port,
                               security="tls", ssl_context=self.dovecot.ssl_context())
        limiter = trio.CapacityLimiter(AT_ONCE)

        async def one(grant_id: str) -> None:
            user, password = self.users[grant_id]
            async with limiter, open_imap(params) as client:
                await client.login(user, password)
                await client.append("INBOX", make_message(subject=subjects[grant_id]))

        async with trio.open_nursery() as nursery:
            for grant_id in subjects:
                nursery.start_soon(one, grant_id)
        return subjects

    async def wait_created(self, subjects: dict[str, str], seconds: float) -> None:
        """Wait until the log holds a message.created for every subject."""
        wanted = set(subjects.values())
        with trio.move_on_after(seconds):
            while True:
                missing = wanted - set(created_subjects(await self.log()))
                if not missing:
                    return
                await trio.sleep(POLL)
        holders = await self.holders()
        late = {g: holders.get(g) for g, text in subjects.items() if text in missing}
        raise AssertionError(f"no message.created within {seconds:g} s for {len(late)}"
                             f" grants (grant -> lease holder): {late}")

    async def wait_completed(self, seconds: float) -> collections.Counter[str]:
        """Wait until every grant's initial sync completed; returns the completions by
        grant. The tests' own store may see the database go away and come back."""
        completed: collections.Counter[str] = collections.Counter()
        with trio.move_on_after(seconds):
            while True:
                try:
                    completed = collections.Counter(
                        str(e.grant_id) for e in await self.log()
                        if e.type is EventType.GRANT_IMAP_SYNC_COMPLETED)
                except StoreError:
                    completed = collections.Counter()
                if set(completed) == set(self.users):
                    return completed
                await trio.sleep(POLL)
        holders = await self.holders()
        late = {g: holders.get(g) for g in sorted(set(self.users) - set(completed))}
        raise AssertionError(f"no initial sync completed within {seconds:g} s for"
                             f" {len(late)} grants (grant -> lease holder): {late}")


def add_users(dovecot: Dovecot, count: int) -> list[tuple[str, str]]:
    """`count` new Dovecot users, valid from one re-read of the passwd-file: all but the
    last are written to it directly, and adding the last waits until the re-read."""
    stamp = f"{os.getpid()}x{time.time_ns() % 10**9}"
    users = [(f"cluster{stamp}x{n}", DOVECOT_PASSWORD) for n in range(count - 1)]
    with dovecot.users_path.open("a") as passwd:
        passwd.writelines(f"{user}:{{PLAIN}}{password}\n" for user, password in users)
    return [*users, dovecot.add_user()]


def tell_logs(nodes: list[NodeProcess]) -> None:
    """Print what each node logged that explains a failure: its warnings and errors and
    its cluster, grant and store records (pytest shows the output of a failed test)."""
    for node in nodes:
        told = [r for r in node.records
                if r.get("level") in ("warning", "error", "critical")
                or (str(r.get("event", "")).startswith(TOLD_ON_FAILURE)
                    and r.get("event") not in NOT_TOLD)
                or r.get("event") == "text"]
        print(f"--- {node.node_id} (pid {node.pid}, full log {node.log_path}):"
              f" {len(told)} of {len(node.records)} records", file=sys.stdout)
        for record in told[-400:]:
            print(json.dumps({k: v for k, v in record.items() if k != "exception"},
                             default=str)[:400], file=sys.stdout)


def created_subjects(log: list[Event]) -> collections.Counter[str]:
    return collections.Counter(str(e.payload.get("subject")) for e in log
                               if e.type is EventType.MESSAGE_CREATED)


def tells_created(subject: str, event: events_pb2.Event) -> bool:
    return event.type == "message.created" and event.message.subject == subject


def brought_new(grant_id: str, record: dict[str, Any]) -> bool:
    return record.get("grant") == grant_id and record.get("new", 0) > 0


def synced_new(node: NodeProcess, grant_ids: set[str], after: int = 0,
               until: int | None = None) -> list[str]:
    """Grants for which `node` committed new mail, in its log records `after` to `until`
    (one entry per commit)."""
    return [r["grant"] for r in node.records[after:until]
            if r.get("event") == "folder.synced" and r.get("grant") in grant_ids
            and r.get("new", 0) > 0]


@asynccontextmanager
async def open_cluster(tmp_path: Path, dsn: str, dovecot: Dovecot, smtp: SmtpServer,
                       nursery: trio.Nursery, *, seeded: int = SEEDED,
                       wait_synced: bool = True) -> AsyncIterator[Cluster]:
    """Three nodes on `dsn` and GRANTS grants created through node0, each with `seeded`
    messages already in its INBOX; with `wait_synced`, returns once every grant finished
    its initial sync and the grants are spread over the nodes. When the block fails,
    what the nodes logged about it is printed."""
    options = NodeOptions(store=dsn, key=base64.b64encode(KEY).decode(),
                          ca_file=str(dovecot.cert_path))
    async with open_store(dsn, KEY) as store:
        created = await ApiKeys(store).create("tests")  # migrates the schema first
        nodes: list[NodeProcess] = []
        async with stopping(nodes):
            async with trio.open_nursery() as starting:
                for index in range(NODES):
                    async def one(node_id: str = f"node{index}") -> None:
                        nodes.append(await start_node(nursery, tmp_path, node_id, options))
                    starting.start_soon(one)
            nodes.sort(key=lambda node: node.node_id)
            front = NodeClient(nodes[0].grpc_port, created.key, nursery)
            try:
                users = await trio.to_thread.run_sync(add_users, dovecot, GRANTS)
                for index, (user, _password) in enumerate(users):
                    await trio.to_thread.run_sync(functools.partial(
                        dovecot.seed, user,
                        [make_message(subject=f"old {index}.{n}") for n in range(seeded)]))
                subscription = front.subscribe()
                # Polls as often as the nodes' config says. A poll also takes the INBOX
                # watcher out of IDLE, and so bounds how long mail that reached the
                # watcher's connection while it synced (pushed then, not during IDLE)
                # waits to be looked at.
                connector_id = await front.create_connector(int(options.poll_interval))
                by_grant: dict[str, tuple[str, str]] = {}
                limiter = trio.CapacityLimiter(AT_ONCE)

                async def create(user: str, password: str) -> None:
                    request = grant_request(dovecot, smtp, user, password,
                                            connector_id=connector_id)
                    async with limiter:
                        reply = await front.call(front.grants.CreateGrant, request)
                    by_grant[str(reply.id)] = (user, password)

                async with trio.open_nursery() as creating:
                    for user, password in users:
                        creating.start_soon(create, user, password)
                cluster = Cluster(nodes, front, store, by_grant, subscription, options,
                                  dovecot)
                if wait_synced:
                    await cluster.wait_completed(INITIAL_SYNC)
                    await cluster.wait_spread({node.node_id for node in nodes})
                yield cluster
            except BaseException:
                tell_logs(nodes)
                raise
            finally:
                front.close()


async def test_a_killed_nodes_grants_resume_elsewhere_and_a_stream_stays_whole(
        tmp_path: Path, postgres_dsn: str, dovecot: Dovecot, smtp_server: SmtpServer,
        nursery: trio.Nursery) -> None:
    async with open_cluster(tmp_path, postgres_dsn, dovecot, smtp_server, nursery) as cluster:
        before = await cluster.view()
        holders = await cluster.holders()
        load = collections.Counter(holders.values())
        victim = cluster.node(max(("node1", "node2"), key=lambda node_id: load[node_id]))
        moved = {grant_id for grant_id, node_id in holders.items()
                 if node_id == victim.node_id}
        tokens = {lease.grant_id: lease.token for lease in before.leases}
        survivors = {"node0", "node1", "node2"} - {victim.node_id}

        await victim.kill()
        killed_at = trio.current_time()
        subjects = await cluster.deliver(set(cluster.users), "after kill")
        for grant_id in sorted(moved):
            await cluster.subscription.wait_for(
                functools.partial(tells_created, subjects[grant_id]), seconds=TAKEOVER)
        assert trio.current_time() - killed_at < TAKEOVER
        for subject in subjects.values():
            await cluster.subscription.wait_for(functools.partial(tells_created, subject),
                                                seconds=IDLE_NOTICE)
        await cluster.wait_spread(survivors)

        after = await cluster.view()
        leases = {lease.grant_id: lease for lease in after.leases}
        assert all(leases[g].node_id in survivors and leases[g].token > tokens[g]
                   for g in moved)
        assert {node.id for node in after.nodes} >= survivors

        # Every delivered message was told exactly once, and the initial syncs told
        # nothing but their completion, once per grant.
        log = await cluster.log()
        assert created_subjects(log) == collections.Counter(subjects.values())
        completed = collections.Counter(e.grant_id for e in log
                                        if e.type is EventType.GRANT_IMAP_SYNC_COMPLETED)
        assert completed == dict.fromkeys(cluster.users, 1)

        # The subscriber on a surviving node saw the log as it is: no gap, no repeat.
        seen = cluster.subscription.events
        positions = [decode_cursor(e.cursor) for e in seen]
        assert positions == sorted(set(positions))
        in_range = [e.id for e in log if positions[0] <= e.position <= positions[-1]]
        assert [e.id for e in seen] == in_range


async def test_a_frozen_node_writes_nothing_after_losing_its_leases_then_rejoins(
        tmp_path: Path, postgres_dsn: str, dovecot: Dovecot, smtp_server: SmtpServer,
        nursery: trio.Nursery) -> None:
    async with open_cluster(tmp_path, postgres_dsn, dovecot, smtp_server, nursery) as cluster:
        holders = await cluster.holders()
        victim = cluster.node("node1")
        moved = {grant_id for grant_id, node_id in holders.items() if node_id == "node1"}
        assert moved

        others = cluster.node("node0"), cluster.node("node2")
        others_from = [len(node.records) for node in others]
        victim.signal(signal.SIGSTOP)
        try:
            # Mail for its grants while it is frozen: its leases run out, the others take
            # its grants and their first sync finds the mail. The frozen node's IDLE
            # connections may be told too, and its tasks act on that when it runs again.
            frozen_mail = await cluster.deliver(moved, "while frozen")
            await cluster.wait_spread({"node0", "node2"}, seconds=TAKEOVER)
            await cluster.wait_created(frozen_mail, TAKEOVER)
            resumed_from = len(victim.records)
        finally:
            victim.signal(signal.SIGCONT)

        # On waking it finds its leases gone.
        await victim.wait_logged("cluster.leases_lost",
                                 lambda r: moved <= set(r.get("grants", ())))

        # It rejoins and gets its share again.
        await cluster.wait_spread({"node0", "node1", "node2"})
        mine = {g for g, node_id in (await cluster.holders()).items() if node_id == "node1"}
        assert len(mine) >= GRANTS // NODES
        rejoined_from = len(victim.records)
        # From waking until then it committed nothing for its former grants, though
        # their mail was waiting for its sync tasks.
        assert synced_new(victim, moved, resumed_from, rejoined_from) == []

        # And it syncs its new share.
        later_mail = await cluster.deliver(mine, "after rejoining")
        await cluster.wait_created(later_mail, IDLE_NOTICE)
        for grant_id in sorted(mine):
            await victim.wait_logged("folder.synced", functools.partial(brought_new, grant_id),
                                     after=rejoined_from, seconds=IDLE_NOTICE)

        # The mail that arrived while it was frozen was committed once, by the new
        # holders, whatever the frozen node's connections saw on waking.
        log = await cluster.log()
        counts = created_subjects(log)
        assert all(counts[s] == 1 for s in [*frozen_mail.values(), *later_mail.values()])
        taken_over = [g for node, start in zip(others, others_from, strict=True)
                      for g in synced_new(node, moved, start)]
        assert sorted(taken_over) == sorted(moved)


async def restart_from_own_process(server: PostgresServer) -> None:
    """`restart_postgres`, run by a process of its own (see postgres_restart.py)."""
    done = await trio.run_process(
        [sys.executable, "-m", "tests.cluster.postgres_restart", server.host,
         str(server.port), server.user], cwd=REPO_ROOT, check=False, capture_stdout=True,
        capture_stderr=True)
    if done.returncode != 0:
        raise AssertionError(f"restarting PostgreSQL failed ({done.returncode}):"
                             f" {done.stderr.decode(errors='replace')[-2000:]}")


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A server of the test's own, so that restarting it disturbs no other test."""
    try:
        with running_postgres() as server:
            server.create_database("tidings")
            yield server
    except PostgresError as exc:
        pytest.fail(f"{exc} (.ci/run installs the postgresql package)")


async def test_every_node_recovers_when_postgresql_restarts_mid_sync(
        tmp_path: Path, private_postgres: PostgresServer, dovecot: Dovecot,
        smtp_server: SmtpServer, nursery: trio.Nursery) -> None:
    dsn = private_postgres.dsn("tidings")
    async with open_cluster(tmp_path, dsn, dovecot, smtp_server, nursery,
                            wait_synced=False) as cluster:
        # The grants were just created: their initial syncs are under way.
        await restart_from_own_process(private_postgres)
        restarted_at = time.time()

        with trio.fail_after(TAKEOVER):
            while True:
                try:
                    view = await cluster.view()
                except StoreError:  # the tests' own connections recover like any other
                    view = ClusterView(nodes=(), leases=(), grant_ids=())
                if {n.id for n in view.nodes if n.heartbeat_at > restarted_at} == \
                        {node.node_id for node in cluster.nodes}:
                    break
                await trio.sleep(POLL)
        await cluster.wait_completed(INITIAL_SYNC)
        await cluster.wait_spread({node.node_id for node in cluster.nodes})

        subjects = await cluster.deliver(set(cluster.users), "after restart")
        await cluster.wait_created(subjects, IDLE_NOTICE)
        for subject in subjects.values():
            await cluster.subscription.wait_for(functools.partial(tells_created, subject),
                                                seconds=IDLE_NOTICE)
        log = await cluster.log()
        assert created_subjects(log) == collections.Counter(subjects.values())
        completed = collections.Counter(e.grant_id for e in log
                                        if e.type is EventType.GRANT_IMAP_SYNC_COMPLETED)
        assert completed == dict.fromkeys(cluster.users, 1)
