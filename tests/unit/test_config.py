"""Configuration: defaults, TOML, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.app import sync_settings
from tidings.config import ConfigError, load_config


def test_defaults() -> None:
    config = load_config(env={})
    assert (config.grpc.host, config.grpc.port) == ("127.0.0.1", 50051)
    assert (config.web.host, config.web.port) == ("127.0.0.1", 8080)
    assert config.store_url.startswith("sqlite:///") and config.store_url.endswith("tidings.db")
    assert config.events.retention_days == 7


def test_sync_settings_come_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[sync]\ninitial_folder_connections = 3\nfetch_batch = 100\n")
    settings = sync_settings(load_config(path, env={}))
    assert (settings.initial_folder_connections, settings.fetch_batch) == (3, 100)
    assert sync_settings(load_config(env={})).initial_folder_connections == 2


def test_toml_then_env(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('data_dir = "/srv/t"\n[grpc]\nport = 6000\n[log]\nformat = "json"\n')
    config = load_config(path, env={"TIDINGS_GRPC_PORT": "7000", "TIDINGS_WEB_HOST": "0.0.0.0"})
    assert config.data_dir == "/srv/t"
    assert config.grpc.port == 7000
    assert config.web.host == "0.0.0.0"
    assert config.log.format == "json"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[grpc]\nport = 'x'\n", {}, "grpc.port"),
        ("", {"TIDINGS_GRPC_PORT": "99999"}, "grpc.port"),
        ("colour = 1\n", {}, "unknown setting"),
        ("[grpc]\ntls_cert = '/c.pem'\n", {}, "together"),
        ("[log]\nformat = 'xml'\n", {}, "log.format"),
        ("grpc = 3\n", {}, "must be a table"),
        ("[grpc\n", {}, "config file"),
        ("[sync]\ninitial_folder_connections = 0\n", {}, "sync.initial_folder_connections"),
        ("", {"TIDINGS_SYNC_FETCH_BATCH": "0"}, "sync.fetch_batch"),
    ],
)
def test_errors_name_the_setting(tmp_path: Path, text: str, env: dict[str, str],
                                 message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env=env)
