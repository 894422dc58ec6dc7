"""Daemon settings: defaults, then a TOML file, then ``TIDINGS_*`` environment overrides.

Example ``tidings.toml``::

    data_dir = "/var/lib/tidings"
    store = "sqlite:///var/lib/tidings/tidings.db"   # the default: SQLite in data_dir
    [grpc]
    host = "127.0.0.1"
    port = 50051
    tls_cert = "/etc/tidings/cert.pem"              # optional
    tls_key = "/etc/tidings/key.pem"
    [web]
    host = "127.0.0.1"
    port = 8080
    public_url = "https://mail-auth.example.org"    # how browsers reach the web port
    [log]
    level = "info"
    format = "json"                                 # or "console"
    [events]
    retention_days = 7
    [imap]
    ca_file = "/etc/tidings/ca.pem"                 # optional: trust these CAs, not the system's
    timeout = 60                                    # seconds, for every network wait
    [smtp]
    ca_file = "/etc/tidings/ca.pem"
    timeout = 30
    [cluster]                                       # only with a PostgreSQL store
    node_id = "mail-1"                              # default: random, kept in data_dir/node_id
    lease_ttl = 10                                  # seconds a grant's lease lasts unrenewed
    renew_interval = 3                              # at most half of lease_ttl

Daemons that share one PostgreSQL store form a cluster: each syncs its share of the
grants. They must share the storage key (``key``, or the same key file), or none of
them can read the credentials another stored.

Every scalar has an environment override named after its path, e.g. ``TIDINGS_GRPC_PORT``,
``TIDINGS_DATA_DIR``, ``TIDINGS_STORE``, ``TIDINGS_KEY`` (base64 of the 32-byte storage key;
otherwise the key file ``data_dir/secret.key`` is created on first run with mode 0600).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ClusterConfig",
    "Config",
    "ConfigError",
    "EventsConfig",
    "GrpcConfig",
    "ImapConfig",
    "LogConfig",
    "SmtpConfig",
    "SyncConfig",
    "WebConfig",
    "load_config",
]


class ConfigError(ValueError):
    """The configuration is invalid; the message names the setting."""


@dataclass(frozen=True, slots=True)
class GrpcConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    tls_cert: str | None = None
    tls_key: str | None = None
    max_message_bytes: int = 40 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"
    format: str = "console"


@dataclass(frozen=True, slots=True)
class EventsConfig:
    retention_days: float = 7.0


@dataclass(frozen=True, slots=True)
class SyncConfig:
    poll_interval: float = 60.0
    uidvalidity_check_interval: float = 300.0
    retention_sweep_interval: float = 3600.0
    fetch_batch: int = 250
    max_backoff: float = 300.0
    # Folders a grant's initial sync takes at once, each on its own connection while
    # the provider's connection cap leaves one to spare.
    initial_folder_connections: int = 2


@dataclass(frozen=True, slots=True)
class ImapConfig:
    # PEM file of the CAs that IMAP servers' certificates must chain to; None: the system's.
    ca_file: str | None = None
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    ca_file: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    node_id: str | None = None
    lease_ttl: float = 10.0
    renew_interval: float = 3.0


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: str = "./data"
    store: str | None = None
    key: str | None = None
    grpc: GrpcConfig = field(default_factory=GrpcConfig)
    web: WebConfig = field(default_factory=WebConfig)
    log: LogConfig = field(default_factory=LogConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    imap: ImapConfig = field(default_factory=ImapConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite:///{Path(self.data_dir).resolve() / 'tidings.db'}"

    @property
    def key_file(self) -> Path:
        return Path(self.data_dir) / "secret.key"

    @property
    def node_id_file(self) -> Path:
        return Path(self.data_dir) / "node_id"


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if "int" in kind_name and "float" not in kind_name:
            if isinstance(raw, bool):
                raise TypeError
            return int(raw)
        if "float" in kind_name:
            return float(raw)
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise TypeError
        return raw
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: expected {kind_name}, got {raw!r}") from exc


def _build(cls: Any, values: Mapping[str, Any], env: Mapping[str, str], prefix: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(sorted(unknown))} in [{prefix or 'top'}]")
    kwargs: dict[str, Any] = {}
    for name, fld in known.items():
        path = f"{prefix}.{name}" if prefix else name
        env_name = "TIDINGS_" + path.replace(".", "_").upper()
        if dataclasses.is_dataclass(fld.default_factory):
            section = values.get(name, {})
            if not isinstance(section, Mapping):
                raise ConfigError(f"[{path}] must be a table")
            kwargs[name] = _build(fld.default_factory, section, env, path)
        elif env_name in env:
            kwargs[name] = _coerce(env_name, fld.type, env[env_name])
        elif name in values:
            kwargs[name] = _coerce(path, fld.type, values[name])
    return cls(**kwargs)


def load_config(path: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (TOML) if given, apply ``TIDINGS_*`` overrides, validate."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                values = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
    config: Config = _build(Config, values, os.environ if env is None else env, "")
    for name, port in (("grpc.port", config.grpc.port), ("web.port", config.web.port)):
        if not 0 <= port <= 65535:
            raise ConfigError(f"{name}: {port} is not a TCP port")
    if bool(config.grpc.tls_cert) != bool(config.grpc.tls_key):
        raise ConfigError("grpc.tls_cert and grpc.tls_key must be given together")
    if config.log.format not in ("json", "console"):
        raise ConfigError("log.format: must be 'json' or 'console'")
    for name, ca_file in (("imap.ca_file", config.imap.ca_file),
                          ("smtp.ca_file", config.smtp.ca_file)):
        if ca_file is not None and not Path(ca_file).is_file():
            raise ConfigError(f"{name}: {ca_file} is not a readable file")
    for name, timeout in (("imap.timeout", config.imap.timeout),
                          ("smtp.timeout", config.smtp.timeout)):
        if timeout <= 0:
            raise ConfigError(f"{name}: must be more than 0 seconds")
    for name, count in (("sync.fetch_batch", config.sync.fetch_batch),
                        ("sync.initial_folder_connections",
                         config.sync.initial_folder_connections)):
        if count < 1:
            raise ConfigError(f"{name}: must be at least 1")
    cluster = config.cluster
    if not 0 < cluster.renew_interval * 2 <= cluster.lease_ttl:
        raise ConfigError("cluster.renew_interval: must be more than 0 and at most half of"
                          " cluster.lease_ttl")
    if cluster.node_id is not None and not cluster.node_id.strip():
        raise ConfigError("cluster.node_id: must not be empty")
    return config
