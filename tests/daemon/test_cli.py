"""The `tidings` command: API keys on the store, and `tidings serve` as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
import trio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.daemon.conftest import Daemon
from tests.support.dovecot import free_port
from tidings import __version__
from tidings.cli import build_parser, main
from tidings.v1 import connectors_pb2, connectors_pb2_grpc

Code = grpc.StatusCode


def _config_file(tmp_path: Path, data_dir: Path, store: str | None, *, grpc_port: int = 0,
                 web_port: int = 0) -> Path:
    """A config file; `store` is the `daemon_store` fixture's value (None: SQLite in the
    data directory, the default)."""
    path = tmp_path / "tidings.toml"
    store_line = f'store = "{store}"\n' if store else ""
    path.write_text(
        f'data_dir = "{data_dir}"\n{store_line}'
        f'[grpc]\nhost = "127.0.0.1"\nport = {grpc_port}\n'
        f'[web]\nhost = "127.0.0.1"\nport = {web_port}\n'
        '[log]\nlevel = "info"\nformat = "json"\n'
    )
    return path


def _key_from(output: str) -> tuple[str, str]:
    fields = dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)
    return fields["key_id"], fields["api_key"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"tidings {__version__}"


def test_every_subcommand_is_registered() -> None:
    parser = build_parser()
    args = parser.parse_args(["keys", "revoke", "abc"])
    assert args.command == "keys"
    assert args.key_id == "abc"
    assert parser.parse_args(["serve"]).command == "serve"


def test_keys_create_list_revoke_offline(tmp_path: Path, daemon_store: str | None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    config = _config_file(tmp_path, tmp_path / "data", daemon_store)
    assert main(["keys", "create", "--name", "ci", "--config", str(config)]) == 0
    created = capsys.readouterr()
    key_id, key = _key_from(created.out)
    assert len(key) == 43
    assert "not shown again" in created.err
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o777 == 0o600
    assert main(["keys", "list", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing
    assert "ci" in listing
    assert key not in listing
    assert main(["keys", "revoke", key_id, "--config", str(config)]) == 0
    assert f"revoked {key_id}" in capsys.readouterr().out
    assert main(["keys", "revoke", "no-such-key", "--config", str(config)]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_bad_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "list", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


async def test_a_key_made_by_the_cli_works_on_the_running_daemon(
        daemon: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config_file(tmp_path, Path(daemon.config.data_dir), daemon.config.store)
    status = await trio.to_thread.run_sync(
        main, ["keys", "create", "--name", "cli", "--config", str(config)])
    assert status == 0
    _key_id, key = _key_from(capsys.readouterr().out)
    reply = await daemon.call(daemon.connectors.ListConnectors,
                              connectors_pb2.ListConnectorsRequest(),
                              metadata=(("authorization", f"Bearer {key}"),))
    assert list(reply.connectors) == []


def test_serve_answers_health_checks_and_stops_on_sigterm(tmp_path: Path,
                                                          daemon_store: str | None) -> None:
    port, web_port = free_port(), free_port()
    config = _config_file(tmp_path, tmp_path / "data", daemon_store, grpc_port=port,
                          web_port=web_port)
    process = subprocess.Popen(
        [sys.executable, "-m", "tidings.cli", "serve", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest(
                service="tidings.v1.EventService"), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            refused = connectors_pb2.ListConnectorsRequest()
            with pytest.raises(grpc.RpcError) as caught:
                connectors_pb2_grpc.ConnectorServiceStub(channel).ListConnectors(
                    refused, timeout=10)
            assert caught.value.code() == Code.UNAUTHENTICATED
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=10) as page:
            assert json.load(page)["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert '"daemon.started"' in err
    assert '"daemon.stopped"' in err
    assert "Traceback" not in err
