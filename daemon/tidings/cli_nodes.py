"""`tidings nodes`: the daemons sharing the store, the grants each syncs and how old
their leases are, read straight from the store (whether or not a daemon runs here)."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import trio

from tidings.app import open_configured_store
from tidings.cli_support import add_config_option, load_config_from
from tidings.config import Config
from tidings.log import configure_logging
from tidings.store.leases import ClusterView

__all__ = ["add_nodes_command", "render_nodes"]


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def render_nodes(view: ClusterView, now: float, ttl: float, *, grants: bool) -> list[str]:
    """The report's lines: one per node (live or silent), then, with `grants`, one per
    lease. A node is live when heard from within `ttl` seconds."""
    held = Counter(lease.node_id for lease in view.leases
                   if lease.node_id is not None and lease.expires_at > now)
    lines = [f"{'NODE':<20}{'STATE':<8}{'HOST':<24}{'PID':>8}  {'STARTED':<22}"
             f"{'SEEN':>8}{'GRANTS':>8}"]
    for node in view.nodes:
        state = "live" if node.heartbeat_at > now - ttl else "silent"
        lines.append(f"{node.id[:19]:<20}{state:<8}{node.host[:23]:<24}{node.pid:>8}  "
                     f"{_when(node.started_at):<22}{_age(now - node.heartbeat_at):>8}"
                     f"{held.get(node.id, 0):>8}")
    leased = {lease.grant_id for lease in view.leases
              if lease.node_id is not None and lease.expires_at > now}
    unleased = [grant_id for grant_id in view.grant_ids if grant_id not in leased]
    lines.append(f"{len(view.grant_ids)} grants, {len(leased)} leased,"
                 f" {len(unleased)} waiting for a node")
    if grants:
        lines.append("")
        lines.append(f"{'GRANT':<28}{'NODE':<20}{'TOKEN':>8}{'HELD FOR':>10}{'EXPIRES IN':>12}")
        for lease in view.leases:
            if lease.node_id is None or lease.expires_at <= now:
                lines.append(f"{lease.grant_id:<28}{'-':<20}{lease.token:>8}{'-':>10}"
                             f"{'-':>12}")
                continue
            lines.append(f"{lease.grant_id:<28}{lease.node_id[:19]:<20}{lease.token:>8}"
                         f"{_age(now - lease.acquired_at):>10}"
                         f"{_age(lease.expires_at - now):>12}")
        for grant_id in sorted(set(view.grant_ids) - {lease.grant_id for lease in view.leases}):
            lines.append(f"{grant_id:<28}{'-':<20}{'-':>8}{'-':>10}{'-':>12}")
    return lines


async def _view(config: Config) -> ClusterView:
    async with open_configured_store(config) as store:
        return await store.cluster_view()


def _run(args: argparse.Namespace) -> int:
    config = load_config_from(args)
    configure_logging("warning")
    view = trio.run(_view, config)
    if not view.nodes and not view.leases:
        print("No nodes have joined: a daemon on a SQLite store syncs every grant itself;"
              " daemons sharing a PostgreSQL store show up here.")
        return 0
    for line in render_nodes(view, time.time(), config.cluster.lease_ttl, grants=args.grants):
        print(line)
    return 0


def add_nodes_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "nodes", help="show the daemons sharing the store, their grants and lease ages")
    parser.add_argument("--grants", action="store_true",
                        help="also list every grant's lease: holder, token and age")
    add_config_option(parser)
    parser.set_defaults(run=_run)
