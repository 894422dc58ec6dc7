"""Three daemons, one PostgreSQL, one Dovecot, ten grants: every grant is synced by
exactly one node; when a node stops, its grants resume on the others within 30 s and no
message event is told twice."""

from __future__ import annotations

import base64
import collections
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
import trio

from tests.daemon.conftest import Daemon, daemon_config, grant_request
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tests.support.smtpserver import SmtpServer
from tidings.app import RunningDaemon, run_daemon
from tidings.config import ClusterConfig, Config
from tidings.domain import EventType
from tidings.imap import ConnectParams, open_imap
from tidings.store.leases import ClusterView

pytestmark = pytest.mark.dovecot

GRANTS = 10
TAKEOVER = 30.0
KEY = base64.b64encode(bytes(range(32))).decode()


@dataclass
class Node:
    handle: Daemon
    scope: trio.CancelScope
    stopped: trio.Event

    @property
    def running(self) -> RunningDaemon:
        return self.handle.running

    @property
    def synced(self) -> frozenset[str]:
        return self.running.supervisor.running

    @property
    def held(self) -> set[str]:
        coordinator = self.running.coordinator
        assert coordinator is not None
        return set(coordinator.held)


async def _serve(config: Config, stopped: trio.Event, *,
                 task_status: trio.TaskStatus[tuple[RunningDaemon, trio.CancelScope]]
                 = trio.TASK_STATUS_IGNORED) -> None:
    try:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(functools.partial(run_daemon, config,
                                                            handle_signals=False))
            task_status.started((running, nursery.cancel_scope))
    finally:
        stopped.set()


@pytest.fixture
async def nodes(tmp_path: Path, dovecot: Dovecot, postgres_dsn: str,
                nursery: trio.Nursery) -> AsyncIterator[list[Node]]:
    started: list[Node] = []
    channels: list[grpc.Channel] = []
    api_key = ""
    for index in range(3):
        config = replace(daemon_config(tmp_path / f"node{index}", dovecot),
                         store=postgres_dsn, key=KEY,
                         cluster=ClusterConfig(node_id=f"node{index}", lease_ttl=4.0,
                                               renew_interval=0.5))
        stopped = trio.Event()
        running, scope = await nursery.start(_serve, config, stopped)
        if not api_key:
            _key_id, api_key = await running.accounts.create_api_key("tests")
        channel = grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}")
        channels.append(channel)
        started.append(Node(Daemon(running, config, api_key, channel, nursery), scope, stopped))
    try:
        yield started
    finally:
        for node in started:
            for subscription in node.handle.subscriptions:
                subscription.close()
        for channel in channels:
            channel.close()


async def _append(dovecot: Dovecot, user: str, password: str, subject: str) -> None:
    params = ConnectParams(host=dovecot.host, port=dovecot.tls_port, security="tls",
                           ssl_context=dovecot.ssl_context())
    async with open_imap(params) as client:
        await client.login(user, password)
        await client.append("INBOX", make_message(subject=subject))


async def _settled(nodes: list[Node], grant_ids: set[str]) -> None:
    """Wait, round by round, until the nodes sync every grant exactly once, each where
    its lease is held."""
    while True:
        synced = [node.synced for node in nodes]
        if all(node.synced == node.held for node in nodes) and \
                sum(len(s) for s in synced) == len(grant_ids) and \
                set().union(*synced) == grant_ids:
            return
        for node in nodes:
            coordinator = node.running.coordinator
            assert coordinator is not None
            await coordinator.wait_round()


@pytest.mark.slow
async def test_grants_are_spread_and_a_stopped_nodes_grants_resume_elsewhere(
        nodes: list[Node], dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    front = nodes[0].handle
    await front.create_connector()
    users = [await trio.to_thread.run_sync(dovecot.add_user) for _ in range(GRANTS)]
    for index, (user, _password) in enumerate(users):
        await trio.to_thread.run_sync(functools.partial(
            dovecot.seed, user, [make_message(subject=f"old {index}")]))
    subscription = front.subscribe()
    grant_users: dict[str, tuple[str, str]] = {}
    for user, password in users:
        created = await front.call(front.grants.CreateGrant,
                                   grant_request(dovecot, smtp_server, user, password))
        grant_users[created.id] = (user, password)
    grant_ids = set(grant_users)
    for grant_id in grant_ids:
        await subscription.wait_type("grant.imap_sync_completed", grant_id, seconds=60)
    with trio.fail_after(30):
        await _settled(nodes, grant_ids)
    assert sorted(len(node.synced) for node in nodes) == [3, 3, 4]
    view: ClusterView = await front.running.store.cluster_view()
    assert sorted(node.id for node in view.nodes) == ["node0", "node1", "node2"]

    # Stop the node with the most grants that is not serving the subscription.
    victim = max(nodes[1:], key=lambda node: len(node.synced))
    moved = set(victim.synced)
    tokens = {lease.grant_id: lease.token for lease in view.leases}
    victim.scope.cancel()
    stopped_at = trio.current_time()
    with trio.fail_after(15):
        await victim.stopped.wait()
    survivors = [node for node in nodes if node is not victim]
    for grant_id in sorted(moved):
        user, password = grant_users[grant_id]
        await _append(dovecot, user, password, f"after {grant_id}")
    for grant_id in sorted(moved):
        await subscription.wait_type("message.created", grant_id, seconds=TAKEOVER)
    assert trio.current_time() - stopped_at < TAKEOVER
    with trio.fail_after(TAKEOVER):
        await _settled(survivors, grant_ids)
    assert sorted(len(node.synced) for node in survivors) == [5, 5]
    after = {lease.grant_id: lease for lease in
             (await front.running.store.cluster_view()).leases}
    survivor_ids = {node.handle.config.cluster.node_id for node in survivors}
    assert all(after[g].token > tokens[g] and after[g].node_id in survivor_ids for g in moved)

    # Exactly what happened was told, once: one message.created per message delivered
    # after the initial sync (it tells none), one sync completion per grant.
    log = await front.log()
    created = collections.Counter(e.object_id for e in log
                                  if e.type is EventType.MESSAGE_CREATED)
    assert all(count == 1 for count in created.values())
    per_grant = collections.Counter(e.grant_id for e in log
                                    if e.type is EventType.MESSAGE_CREATED)
    assert per_grant == dict.fromkeys(moved, 1)
    completed = collections.Counter(e.grant_id for e in log
                                    if e.type is EventType.GRANT_IMAP_SYNC_COMPLETED)
    assert completed == dict.fromkeys(grant_ids, 1)
