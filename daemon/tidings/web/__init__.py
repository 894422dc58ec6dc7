"""Hosted-auth pages, /healthz and /metrics: a Starlette app on Hypercorn's trio worker."""

from __future__ import annotations

from tidings.web.app import HealthCheck, build_app
from tidings.web.metrics import Figures, MetricsSource
from tidings.web.server import WebSettings, serve_web

__all__ = ["Figures", "HealthCheck", "MetricsSource", "WebSettings", "build_app", "serve_web"]
