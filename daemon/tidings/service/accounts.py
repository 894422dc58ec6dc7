"""`AccountService`: every account operation the API and the web pages offer, in one place."""

from __future__ import annotations

import time
from collections.abc import Callable

from tidings.service.api_keys import ApiKeys, CreatedKey
from tidings.service.connectors import ConnectorOps
from tidings.service.grants import GrantOps, SyncControl
from tidings.service.verify import LoginChecker, SslContextFactory
from tidings.store import Store
from tidings.store.access import ApiKey

__all__ = ["AccountService"]


def _no_context() -> None:
    return None


class AccountService(ConnectorOps, GrantOps):
    """Connectors, grants (checked on their mail servers before they are stored) and API
    keys, over one store and the sync supervisor.

    `ssl_context_factory` and `smtp_ssl_context_factory` give the TLS contexts for the
    login checks (None: the system's trusted certificates).
    """

    def __init__(
        self,
        store: Store,
        supervisor: SyncControl,
        *,
        ssl_context_factory: SslContextFactory = _no_context,
        smtp_ssl_context_factory: SslContextFactory = _no_context,
        clock: Callable[[], float] = time.time,
        verify_timeout: float = 30.0,
    ) -> None:
        checker = LoginChecker(ssl_context_factory, smtp_ssl_context_factory, verify_timeout)
        ConnectorOps.__init__(self, store, clock=clock)
        GrantOps.__init__(self, store, supervisor, checker, clock=clock)
        self.keys = ApiKeys(store, clock=clock)

    def __repr__(self) -> str:
        return f"AccountService({self.store!r})"

    # -- API keys -------------------------------------------------------------------------
    async def create_api_key(self, name: str = "") -> tuple[str, str]:
        """A new key: (its id, the key itself). The key is shown this once; only its
        digest is kept."""
        created: CreatedKey = await self.keys.create(name)
        return created.record.id, created.key

    async def list_api_keys(self) -> list[ApiKey]:
        return await self.keys.list()

    async def revoke_api_key(self, key_id: str) -> ApiKey:
        return await self.keys.revoke(key_id)

    async def verify_api_key(self, key: str) -> bool:
        return await self.keys.verify(key)
