"""The `[cluster]` settings: defaults, the file, environment overrides, refusals, and the
node id kept in the data directory when none is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.app import cluster_settings
from tidings.config import ClusterConfig, ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tidings.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n{text}')
    return path


def test_defaults_renew_every_three_seconds_a_ten_second_lease(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, ""), env={})
    assert config.cluster == ClusterConfig(node_id=None, lease_ttl=10.0, renew_interval=3.0)


def test_the_file_and_the_environment_set_them(tmp_path: Path) -> None:
    path = _write(tmp_path, '[cluster]\nnode_id = "mail-1"\nlease_ttl = 20\n')
    config = load_config(path, env={"TIDINGS_CLUSTER_RENEW_INTERVAL": "5"})
    assert config.cluster == ClusterConfig(node_id="mail-1", lease_ttl=20.0, renew_interval=5.0)
    settings = cluster_settings(config)
    assert (settings.node_id, settings.lease_ttl, settings.renew_interval) == ("mail-1", 20, 5)


@pytest.mark.parametrize(("text", "message"), [
    ("[cluster]\nrenew_interval = 6\n", "at most half"),
    ("[cluster]\nrenew_interval = 0\n", "more than 0"),
    ('[cluster]\nnode_id = " "\n', "must not be empty"),
    ("[cluster]\nleader = true\n", "unknown setting"),
])
def test_unworkable_settings_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text), env={})


def test_without_a_node_id_one_is_made_and_kept_in_the_data_dir(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, ""), env={})
    first = cluster_settings(config).node_id
    assert (tmp_path / "data" / "node_id").read_text().strip() == first
    assert cluster_settings(config).node_id == first
