"""`tidings nodes`: the report's lines, and the command on a shared and an embedded store."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from tests.store.builders import KEY, connector, grant
from tidings.cli import main
from tidings.cli_nodes import render_nodes
from tidings.log import configure_logging
from tidings.store import WriteTx, open_store
from tidings.store.leases import ClusterView, Lease, NodeRecord

NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _tests_log_level_back() -> Iterator[None]:
    """The command configures logging at its own level: put the tests' level back once
    the test is over, for the tests after."""
    yield
    configure_logging(os.environ.get("TIDINGS_TEST_LOG_LEVEL", "warning"))


def _node(node_id: str, seen: float) -> NodeRecord:
    return NodeRecord(id=node_id, host="mail-box", pid=4242, started_at=NOW - 3600,
                      heartbeat_at=seen)


def test_the_report_shows_live_and_silent_nodes_and_lease_ages() -> None:
    view = ClusterView(
        nodes=(_node("node-a", NOW - 1), _node("node-b", NOW - 60)),
        leases=(
            Lease(grant_id="g1", node_id="node-a", token=3, acquired_at=NOW - 90,
                  expires_at=NOW + 8),
            Lease(grant_id="g2", node_id="node-b", token=1, acquired_at=NOW - 70,
                  expires_at=NOW - 50),
        ),
        grant_ids=("g1", "g2", "g3"),
    )
    lines = render_nodes(view, NOW, 10.0, grants=True)
    node_a = next(line for line in lines if line.startswith("node-a"))
    node_b = next(line for line in lines if line.startswith("node-b"))
    assert node_a.split()[1] == "live" and node_a.split()[-1] == "1"
    assert node_b.split()[1] == "silent" and node_b.split()[-1] == "0"
    assert "3 grants, 1 leased, 2 waiting for a node" in lines
    g1 = next(line for line in lines if line.startswith("g1"))
    assert g1.split() == ["g1", "node-a", "3", "90.0s", "8.0s"]
    assert next(line for line in lines if line.startswith("g2")).split()[1] == "-"
    assert next(line for line in lines if line.startswith("g3")).split()[1:] == ["-"] * 4



def _config(tmp_path: Path, store: str | None) -> Path:
    path = tmp_path / "tidings.toml"
    key = base64.b64encode(KEY).decode()
    store_line = f'store = "{store}"\n' if store else ""
    path.write_text(f'data_dir = "{tmp_path / "data"}"\nkey = "{key}"\n{store_line}')
    return path


def test_the_command_reads_a_shared_store(tmp_path: Path, postgres_dsn: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    owner = connector()
    made = grant(owner.id)

    async def populate() -> None:
        async with open_store(postgres_dsn, KEY) as store:
            def write(tx: WriteTx) -> None:
                tx.create_connector(owner)
                tx.create_grant(made)
                tx.heartbeat(NodeRecord(id="node-a", host="box", pid=7,
                                        started_at=1.0, heartbeat_at=4e9))
                tx.acquire_leases("node-a", [made.id], 1.0, 4e9)

            await store.write(write)

    trio.run(populate)
    assert main(["nodes", "--grants", "--config", str(_config(tmp_path, postgres_dsn))]) == 0
    out = capsys.readouterr().out
    assert "node-a" in out and "live" in out
    assert "1 grants, 1 leased, 0 waiting for a node" in out
    assert any(line.startswith(made.id) and "node-a" in line for line in out.splitlines())


def test_the_command_on_an_embedded_store_says_there_is_no_cluster(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nodes", "--config", str(_config(tmp_path, None))]) == 0
    assert "No nodes have joined" in capsys.readouterr().out
