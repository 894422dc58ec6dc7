"""What every task of one grant shares: its settings, its credentials, and the
connection limiter that keeps us under the provider's per-account cap."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import trio

from tidings.domain import Credentials, Grant
from tidings.imap import ConnectParams, ImapClient, ImapError, open_imap
from tidings.log import get_logger
from tidings.store import Store
from tidings.sync.connection_slots import ClusterSlots
from tidings.sync.presets import ProviderPreset, preset_for

__all__ = ["ConnectionStats", "GrantLink", "SyncSettings", "imap_params"]

log = get_logger("tidings.sync")


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """Timings and sizes for the sync engine (from the daemon config and connector)."""

    poll_interval: float = 60.0
    uidvalidity_check_interval: float = 300.0
    retention_sweep_interval: float = 3600.0
    fetch_batch: int = 250
    # Folders the initial sync takes at once, each on its own connection while the
    # provider's cap leaves one free.
    initial_folder_connections: int = 2
    max_backoff: float = 300.0
    min_backoff: float = 1.0
    strict_message_id: bool = False
    imap_timeout: float = 60.0


def imap_params(grant: Grant, ssl_context: ssl.SSLContext | None, timeout: float
                ) -> ConnectParams:
    """How to reach the grant's IMAP server (TLS unless the grant says otherwise)."""
    endpoint = grant.imap
    return ConnectParams(
        host=endpoint.host,
        port=endpoint.port,
        security=endpoint.security.value,
        ssl_context=ssl_context,
        allow_plaintext=grant.allow_plaintext,
        timeout=timeout,
    )


@dataclass
class ConnectionStats:
    """Process-wide figures exported on /metrics: IMAP connections, and when each
    running grant last confirmed it is up to date with its server (wall-clock time of
    its initial sync, or of its last poll that checked every folder), from which the
    sync lag is read."""

    open: int = 0
    opened_total: int = 0
    synced_at: dict[str, float] = field(default_factory=dict)

    def lag(self, now: float) -> tuple[float, float]:
        """(max, mean) seconds since the running grants were last up to date."""
        lags = [max(0.0, now - at) for at in self.synced_at.values()]
        return (max(lags), sum(lags) / len(lags)) if lags else (0.0, 0.0)


@dataclass
class GrantLink:
    grant: Grant
    credentials: Credentials
    store: Store
    settings: SyncSettings
    stats: ConnectionStats
    ssl_context_factory: Callable[[], ssl.SSLContext | None] = lambda: None
    # Slots in the shared database when several daemons share it (None when alone).
    slots: ClusterSlots | None = None
    preset: ProviderPreset = field(init=False)
    limiter: trio.CapacityLimiter = field(init=False)
    # Held by API calls while they change the server and record it, and by the sync of
    # a live folder (see folder_sync.sync_folder); one lock per grant (the supervisor's).
    changes: trio.Lock = field(init=False)

    def __post_init__(self) -> None:
        self.preset = preset_for(self.grant.provider_type)
        self.limiter = trio.CapacityLimiter(self.preset.max_connections)
        self.changes = trio.Lock()

    @property
    def grant_id(self) -> str:
        return self.grant.id

    def connect_params(self) -> ConnectParams:
        return imap_params(self.grant, self.ssl_context_factory(), self.settings.imap_timeout)

    @asynccontextmanager
    async def connect(self, purpose: str, *, wait: bool = True) -> AsyncIterator[ImapClient]:
        """A logged-in connection, counted against the provider's cap; logged out and
        closed when the block ends. With ``wait=False``, raise ``trio.WouldBlock`` at once
        when the cap is reached instead of waiting for a connection to end."""
        borrower = object()  # one task may hold several connections of the grant
        if wait:
            await self.limiter.acquire_on_behalf_of(borrower)
        else:
            self.limiter.acquire_on_behalf_of_nowait(borrower)
        slot: tuple[int, str] | None = None
        try:
            if self.slots is not None:  # in a cluster: the cap counts every node's
                slot = await self.slots.take(self.grant_id, self.preset.max_connections,
                                             wait=wait)
            async with open_imap(self.connect_params()) as client:
                self.stats.open += 1
                self.stats.opened_total += 1
                try:
                    await client.login(self.grant.imap_username,
                                       self.credentials.imap_password)
                    log.debug("imap.connected", grant=self.grant_id, purpose=purpose)
                    yield client
                finally:
                    self.stats.open -= 1
        finally:
            if slot is not None and self.slots is not None:
                await self.slots.release(self.grant_id, *slot)
            self.limiter.release_on_behalf_of(borrower)

    @asynccontextmanager
    async def spare(self, purpose: str) -> AsyncIterator[ImapClient | None]:
        """One more connection, for work that can also be done without it: None at
        once when the provider's cap is reached, or when the server refuses it (a
        server may allow fewer connections than the preset says; a warning records it),
        instead of waiting or failing the grant."""
        async with AsyncExitStack() as stack:
            client: ImapClient | None = None
            try:
                client = await stack.enter_async_context(self.connect(purpose, wait=False))
            except trio.WouldBlock:
                pass
            except (ImapError, OSError, trio.TooSlowError) as exc:
                log.warning("imap.spare_connection_refused", grant=self.grant_id,
                            purpose=purpose, error=f"{type(exc).__name__}: {exc}")
            yield client
