"""Serving the web application with Hypercorn's trio worker, inside the daemon's nursery."""

from __future__ import annotations

import functools
import logging
from typing import Final, Protocol, cast

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework

from tidings.log import get_logger
from tidings.service.hosted import HostedAuth
from tidings.web.app import HealthCheck, build_app
from tidings.web.metrics import MetricsSource

__all__ = ["WebSettings", "serve_web"]

log = get_logger("tidings.web")

GRACEFUL_SECONDS: Final = 5.0


class WebSettings(Protocol):
    """Where to listen (`tidings.config.WebConfig` is one)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _hypercorn_config(settings: WebSettings) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [_bind(settings.host, settings.port)]
    config.accesslog = None
    config.errorlog = logging.getLogger("tidings.web.server")
    config.include_server_header = False
    config.graceful_timeout = GRACEFUL_SECONDS
    # Request heads larger than this are refused; ours are small.
    config.h11_max_incomplete_size = 16 * 1024
    return config


async def serve_web(settings: WebSettings, *, hosted: HostedAuth, health: HealthCheck,
                    metrics: MetricsSource,
                    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until cancelled; reports the bound port (useful with port 0) once listening."""
    # Starlette's ASGI types and Hypercorn's describe the same protocol differently.
    app = cast(ASGIFramework, build_app(hosted=hosted, health=health, metrics=metrics))
    config = _hypercorn_config(settings)
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(functools.partial(serve, app, config,
                                                                 mode="asgi"))
        port = int(binds[0].rpartition(":")[2])
        log.info("web.listening", urls=binds)
        task_status.started(port)
