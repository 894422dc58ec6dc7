"""Real `tidings serve` processes for the process-level cluster tests and the cluster
benchmark: one config file each (shared store and storage key, own data directory, node
id and ports), their JSON log read line by line so a test waits for a logged event
itself, and signals (SIGKILL, SIGSTOP/SIGCONT, SIGTERM) sent by pid.

This module holds no tests; it is named for the test files that use it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import trio

from tests.daemon.conftest import Subscription
from tidings.devtools.dovecot import free_port
from tidings.v1 import (
    common_pb2,
    connectors_pb2,
    connectors_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    grants_pb2_grpc,
)

__all__ = [
    "NodeClient",
    "NodeOptions",
    "NodeProcess",
    "start_node",
    "stopping",
    "write_node_config",
]

T = TypeVar("T")
STOP_TIMEOUT = 20.0
CALL_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeOptions:
    """What a node's config file says, apart from its own directory and ports."""

    store: str | None  # None: SQLite in the data directory (a single daemon)
    key: str  # base64 of the 32-byte storage key, the same on every node
    ca_file: str
    lease_ttl: float = 6.0
    renew_interval: float = 1.5
    poll_interval: float = 5.0
    log_level: str = "info"


def _toml(value: object) -> str:
    # JSON string and number syntax is valid TOML for the values written here.
    return json.dumps(value)


def write_node_config(path: Path, data_dir: Path, node_id: str, grpc_port: int,
                      web_port: int, options: NodeOptions) -> Path:
    sections: dict[str, Mapping[str, object]] = {
        "grpc": {"host": "127.0.0.1", "port": grpc_port},
        "web": {"host": "127.0.0.1", "port": web_port},
        "log": {"level": options.log_level, "format": "json"},
        "sync": {"poll_interval": options.poll_interval, "max_backoff": 2.0},
        "imap": {"ca_file": options.ca_file, "timeout": 15.0},
        "smtp": {"ca_file": options.ca_file, "timeout": 15.0},
        "cluster": {"node_id": node_id, "lease_ttl": options.lease_ttl,
                    "renew_interval": options.renew_interval},
    }
    lines = [f"data_dir = {_toml(str(data_dir))}", f"key = {_toml(options.key)}"]
    if options.store is not None:
        lines.append(f"store = {_toml(options.store)}")
    for name, values in sections.items():
        lines.append(f"\n[{name}]")
        lines += [f"{setting} = {_toml(value)}" for setting, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(eq=False)
class NodeProcess:
    """One `tidings serve` process. `records` holds its log, one dict per JSON line
    (other lines, e.g. a traceback, are kept as {"event": "text", "text": ...})."""

    node_id: str
    process: trio.Process
    grpc_port: int
    web_port: int
    log_path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    _changed: trio.Event = field(default_factory=trio.Event)
    _ended: trio.Event = field(default_factory=trio.Event)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def pump(self) -> None:
        """Read the process's stderr to its end into `records` and the log file."""
        stream = self.process.stderr
        assert stream is not None
        buffered = b""
        with self.log_path.open("ab") as out:
            while True:
                chunk = await stream.receive_some(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                out.flush()
                *lines, buffered = (buffered + chunk).split(b"\n")
                for line in lines:
                    self._add(line)
        self._add(buffered)
        self._ended.set()
        self._wake()

    def _add(self, line: bytes) -> None:
        text = line.decode(errors="replace").strip()
        if not text:
            return
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        self.records.append(record if isinstance(record, dict)
                            else {"event": "text", "text": text})
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def logged(self, event: str, where: Callable[[dict[str, Any]], bool] = lambda _r: True,
               after: int = 0) -> list[dict[str, Any]]:
        """The log records of `event` that match, from record number `after` on."""
        return [r for r in self.records[after:] if r.get("event") == event and where(r)]

    async def wait_logged(self, event: str,
                          where: Callable[[dict[str, Any]], bool] = lambda _r: True,
                          seconds: float = 30.0, *, after: int = 0) -> dict[str, Any]:
        """The first log record of `event` that matches (from record number `after` on),
        waiting for it to be written."""
        with trio.fail_after(seconds):
            while True:
                found = self.logged(event, where, after)
                if found:
                    return found[0]
                if self._ended.is_set():
                    raise AssertionError(f"{self.node_id} ended without logging {event};"
                                         f" see {self.log_path}")
                await self._changed.wait()

    def signal(self, signum: signal.Signals) -> None:
        os.kill(self.pid, signum)

    async def kill(self) -> None:
        """SIGKILL: the node dies without giving anything back."""
        self.signal(signal.SIGKILL)
        with trio.fail_after(STOP_TIMEOUT):
            await self.process.wait()

    async def stop(self) -> None:
        """A clean stop (SIGTERM), or SIGKILL when it takes too long."""
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.signal(signal.SIGCONT)  # a paused node cannot handle SIGTERM
            self.signal(signal.SIGTERM)
        with trio.move_on_after(STOP_TIMEOUT):
            await self.process.wait()
            return
        with contextlib.suppress(ProcessLookupError):
            self.signal(signal.SIGKILL)
        await self.process.wait()

    def rss_bytes(self) -> int:
        """Resident memory now (VmRSS of /proc/PID/status)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for pid {self.pid}")


async def start_node(nursery: trio.Nursery, root: Path, node_id: str, options: NodeOptions,
                     *, started_within: float = 60.0) -> NodeProcess:
    """Start `tidings serve` with its own config under `root/node_id`; returns once it
    logs `daemon.started`. Its log is `root/node_id/daemon.log`."""
    home = root / node_id
    home.mkdir(parents=True, exist_ok=True)
    grpc_port, web_port = free_port(), free_port()
    config = write_node_config(home / "tidings.toml", home / "data", node_id, grpc_port,
                               web_port, options)
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tidings.cli", "serve", "--config", str(config)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    node = NodeProcess(node_id, process, grpc_port, web_port, home / "daemon.log")
    nursery.start_soon(node.pump)
    await node.wait_logged("daemon.started", seconds=started_within)
    return node


@asynccontextmanager
async def stopping(nodes: list[NodeProcess]) -> AsyncIterator[list[NodeProcess]]:
    """Stop every node in `nodes` (as it is at the end) when the block ends."""
    try:
        yield nodes
    finally:
        with trio.CancelScope(shield=True):
            async with trio.open_nursery() as nursery:
                for node in nodes:
                    nursery.start_soon(node.stop)


@dataclass(eq=False)
class NodeClient:
    """Blocking gRPC stubs on one node, called from worker threads."""

    port: int
    api_key: str
    nursery: trio.Nursery
    channel: grpc.Channel = field(init=False)
    subscriptions: list[Subscription] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),)

    @property
    def connectors(self) -> connectors_pb2_grpc.ConnectorServiceStub:
        return connectors_pb2_grpc.ConnectorServiceStub(self.channel)

    @property
    def grants(self) -> grants_pb2_grpc.GrantServiceStub:
        return grants_pb2_grpc.GrantServiceStub(self.channel)

    @property
    def events(self) -> events_pb2_grpc.EventServiceStub:
        return events_pb2_grpc.EventServiceStub(self.channel)

    async def call(self, method: Callable[..., T], request: Any,
                   deadline: float = CALL_TIMEOUT) -> T:
        return await trio.to_thread.run_sync(functools.partial(
            method, request, timeout=deadline, metadata=self.auth))

    async def create_connector(self, poll_interval: int | None = None) -> str:
        """A connector for the cluster's grants; `poll_interval` (seconds) replaces the
        connector's own (60 s), which the sync of its grants follows whatever the
        node's config says."""
        settings = connectors_pb2.ConnectorSettings(poll_interval_seconds=poll_interval)
        request = connectors_pb2.CreateConnectorRequest(provider=common_pb2.PROVIDER_IMAP,
                                                        name="cluster", settings=settings)
        reply: connectors_pb2.Connector = await self.call(self.connectors.CreateConnector,
                                                          request)
        return str(reply.id)

    def subscribe(self, request: events_pb2.SubscribeRequest | None = None,
                  timeout: float = 600.0) -> Subscription:
        stream = self.events.Subscribe(request or events_pb2.SubscribeRequest(),
                                       metadata=self.auth, timeout=timeout)
        subscription = Subscription(stream, self.nursery)
        self.subscriptions.append(subscription)
        return subscription

    def close(self) -> None:
        for subscription in self.subscriptions:
            subscription.close()
        self.channel.close()

