"""The web application: hosted sign-in pages, /healthz and /metrics, with security headers
on every response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.log import get_logger
from tidings.service.hosted import HostedAuth
from tidings.store import StoreError
from tidings.web.metrics import MetricsSource, render_metrics
from tidings.web.pages import base_csp, render_message
from tidings.web.signin import SignInRoutes

__all__ = ["SECURITY_HEADERS", "HealthCheck", "SecurityHeaders", "build_app"]

log = get_logger("tidings.web")

HealthCheck = Callable[[], Awaitable[Mapping[str, Any]]]

SECURITY_HEADERS: Final = (
    ("content-security-policy", base_csp()),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    # Sign-in pages carry a CSRF token and what the user typed: never cache them.
    ("cache-control", "no-store"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response that does not set one itself (the
    sign-in page sets its own Content-Security-Policy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                for name, value in SECURITY_HEADERS:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_app(*, hosted: HostedAuth, health: HealthCheck, metrics: MetricsSource) -> Starlette:
    signin = SignInRoutes(hosted)

    async def healthz(_request: Request) -> Response:
        try:
            document = dict(await health())
        except Exception as exc:
            log.exception("web.health_failed", error=repr(exc))
            document = {"status": "error", "error": type(exc).__name__}
        status = 200 if document.get("status") == "ok" else 503
        return JSONResponse(document, status_code=status)

    async def metrics_page(_request: Request) -> Response:
        try:
            figures = await metrics.figures()
        except StoreError as exc:
            log.warning("web.metrics_failed", error=str(exc))
            return Response(f"store unavailable: {exc}\n", status_code=503,
                            media_type="text/plain")
        return Response(render_metrics(figures), media_type=CONTENT_TYPE_LATEST)

    async def http_error(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        titles = {404: "Not found", 405: "Method not allowed"}
        title = titles.get(status, "Error")
        return HTMLResponse(render_message(title, f"{status} {title}."), status_code=status)

    async def server_error(_request: Request, exc: Exception) -> Response:
        log.error("web.request_failed", error=repr(exc))
        return HTMLResponse(
            render_message("Something went wrong",
                           "The server could not handle this request. Try again later."),
            status_code=500,
        )

    routes = [
        Route("/auth/{session_id}", signin.show, methods=["GET"]),
        Route("/auth/{session_id}", signin.submit, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
