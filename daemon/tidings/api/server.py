"""The gRPC server: grpc.aio on an asyncio loop in its own thread, run as a trio task.

:func:`serve_grpc` is a long-lived trio task (start it with ``nursery.start``).
It starts the thread, which builds the grpc.aio server with the API-key
interceptor, the given services, health checking and reflection, and reports
the bound port back. Cancelling the task stops the server gracefully: health
turns NOT_SERVING, new calls are refused, calls in flight get the grace
period to finish (their trio work is shielded from the cancellation until
then), the rest are cancelled, and the thread is joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import grpc
import structlog
import trio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tidings.api.auth import ApiKeyInterceptor, KeyVerifier
from tidings.api.bridge import TrioBridge
from tidings.api.reflection import enable_reflection
from tidings.v1 import DESCRIPTOR_SET_PATH

__all__ = ["GrpcSettings", "GrpcStartError", "ServiceBinding", "TlsFiles", "serve_grpc"]

log = structlog.get_logger(__name__)

# Time allowed beyond the grace period for the loop to wind down and the thread to end.
_STOP_MARGIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for serving over TLS."""

    certificate_chain: Path
    private_key: Path


@dataclass(frozen=True, slots=True)
class GrpcSettings:
    """Where and how the gRPC server listens."""

    host: str = "127.0.0.1"
    # 0 picks a free port; serve_grpc reports the one bound.
    port: int = 50051
    tls: TlsFiles | None = None
    # Sends carry attachments inline; larger ones use SendMessageStream.
    max_receive_bytes: int = 32 * 1024 * 1024
    # Calls in flight when the server stops get this long to finish.
    grace_seconds: float = 5.0
    # None means no limit; beyond it grpc answers RESOURCE_EXHAUSTED.
    max_concurrent_rpcs: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """One service to serve: its full name and how to add it to the server.

    `attach` runs in the asyncio thread with the grpc.aio server and the bridge,
    typically ``lambda server, bridge: add_XServicer_to_server(XServicer(bridge, ...), server)``.
    """

    name: str
    attach: Callable[[Any, TrioBridge], None]


class GrpcStartError(Exception):
    """The gRPC server could not start (address in use, unreadable TLS files...)."""


@dataclass(slots=True)
class _Outcome:
    """What the asyncio thread reports to trio (written only in the trio thread)."""

    started: trio.Event = field(default_factory=trio.Event)
    finished: trio.Event = field(default_factory=trio.Event)
    port: int = 0
    error: BaseException | None = None


class _ServerThread:
    """The asyncio side: owns the loop and the grpc.aio server."""

    def __init__(
        self,
        settings: GrpcSettings,
        services: Sequence[ServiceBinding],
        verify_key: KeyVerifier,
        bridge: TrioBridge,
        token: trio.lowlevel.TrioToken,
    ) -> None:
        self._settings = settings
        self._services = services
        self._verify_key = verify_key
        self._bridge = bridge
        self._token = token
        self.outcome = _Outcome()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False

    def run(self) -> None:
        """Thread body."""
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # the thread must report, whatever happens
            self._report(self._failed, exc)
        finally:
            self._report(self._finished)

    def request_stop(self) -> None:
        """Ask the server to stop (any thread, any time, idempotent)."""
        with self._lock:
            self._stop_requested = True
            if self._loop is not None and self._stop is not None:
                # RuntimeError: the loop has already closed.
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._stop.set)

    def _report(self, fn: Callable[..., None], *args: object) -> None:
        # RunFinishedError: trio has ended; nobody waits for the report.
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(fn, *args)

    # The three callbacks below run in the trio thread.
    def _started(self, port: int) -> None:
        self.outcome.port = port
        self.outcome.started.set()

    def _failed(self, exc: BaseException) -> None:
        if self.outcome.error is None and not self.outcome.started.is_set():
            self.outcome.error = exc
        self.outcome.started.set()

    def _finished(self) -> None:
        self.outcome.started.set()
        self.outcome.finished.set()

    async def _main(self) -> None:
        stop = asyncio.Event()
        server, health_servicer = self._build()
        try:
            port = self._bind(server)
            for service in self._services:
                await health_servicer.set(service.name, health_pb2.HealthCheckResponse.SERVING)
            await server.start()
        except BaseException:
            await server.stop(None)
            raise
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop = stop
            if self._stop_requested:
                stop.set()
        self._report(self._started, port)
        log.info("grpc.serving", host=self._settings.host, port=port)
        await stop.wait()
        await health_servicer.enter_graceful_shutdown()
        await server.stop(self._settings.grace_seconds)
        log.info("grpc.stopped", port=port)

    def _build(self) -> tuple[Any, Any]:
        settings = self._settings
        options = [
            ("grpc.max_receive_message_length", settings.max_receive_bytes),
            # Without this, two servers could share one port on Linux and split its calls.
            ("grpc.so_reuseport", 0),
        ]
        server = grpc.aio.server(
            interceptors=[ApiKeyInterceptor(self._verify_key, self._bridge)],
            options=options,
            maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        )
        for service in self._services:
            service.attach(server, self._bridge)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = [service.name for service in self._services]
        enable_reflection(server, [*names, health.SERVICE_NAME], DESCRIPTOR_SET_PATH)
        return server, health_servicer

    def _bind(self, server: Any) -> int:
        settings = self._settings
        address = f"{settings.host}:{settings.port}"
        if settings.tls is None:
            port = server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials(
                [
                    (
                        settings.tls.private_key.read_bytes(),
                        settings.tls.certificate_chain.read_bytes(),
                    )
                ]
            )
            port = server.add_secure_port(address, credentials)
        if not port:
            raise GrpcStartError(f"cannot listen on {address}")
        return int(port)


async def _host_bridged_calls(
    *, task_status: trio.TaskStatus[tuple[trio.Nursery, trio.CancelScope]]
) -> None:
    """Hold the nursery of bridged calls, shielded from the server task's
    cancellation so that calls in flight can finish within the grace period."""
    with trio.CancelScope(shield=True) as scope:
        async with trio.open_nursery() as calls:
            task_status.started((calls, scope))
            await trio.sleep_forever()


async def serve_grpc(
    settings: GrpcSettings,
    services: Sequence[ServiceBinding],
    verify_key: KeyVerifier,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Serve gRPC until cancelled; reports the bound port when serving.

    `verify_key` runs in trio for every call that needs a key.
    Raises GrpcStartError when the server cannot start.
    """
    token = trio.lowlevel.current_trio_token()
    async with trio.open_nursery() as nursery:
        calls, calls_scope = await nursery.start(_host_bridged_calls)
        bridge = TrioBridge(token, calls)
        runner = _ServerThread(settings, services, verify_key, bridge, token)
        thread = threading.Thread(target=runner.run, name="tidings-grpc", daemon=True)
        thread.start()
        try:
            failure = await _watch(runner.outcome, task_status)
        finally:
            runner.request_stop()
            deadline = settings.grace_seconds + _STOP_MARGIN_SECONDS
            with trio.move_on_after(deadline, shield=True) as waiting:
                await runner.outcome.finished.wait()
                await trio.to_thread.run_sync(thread.join)
            if waiting.cancelled_caught:
                log.error("grpc.stop_timeout", seconds=deadline)
            calls_scope.cancel()
    # Raised outside the nursery so that callers see this error, not a group.
    raise failure


async def _watch(outcome: _Outcome, task_status: trio.TaskStatus[int]) -> GrpcStartError:
    """Report the port once serving; return the failure when the thread ends."""
    await outcome.started.wait()
    if outcome.error is not None:
        return GrpcStartError(f"gRPC server did not start: {outcome.error}")
    if outcome.finished.is_set():
        return GrpcStartError("gRPC server thread ended before serving")
    task_status.started(outcome.port)
    await outcome.finished.wait()
    return GrpcStartError("gRPC server thread ended unexpectedly")
