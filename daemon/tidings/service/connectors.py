"""Connector operations: the settings that grants are created under."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from tidings.domain import Connector, ConnectorSettings, new_id
from tidings.service.errors import InvalidField, NotFound, PreconditionFailed
from tidings.service.grant_input import ConnectorPatch
from tidings.service.validation import (
    check_connector_settings,
    check_name,
    check_poll_interval,
    check_window,
)
from tidings.store import Conflict as StoreConflict
from tidings.store import NotFound as StoreNotFound
from tidings.store import Store, WriteTx

__all__ = ["PROVIDERS", "ConnectorOps"]

PROVIDERS = ("imap",)

T = TypeVar("T")


class ConnectorOps:
    """Create, read, change and delete connectors."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def create_connector(self, name: str, provider: str = "imap",
                               settings: ConnectorSettings | None = None) -> Connector:
        if not provider:
            raise InvalidField("provider", "required")
        if provider not in PROVIDERS:
            raise InvalidField("provider", f"{provider!r} is not supported (only 'imap')")
        name = check_name("name", name)
        settings = check_connector_settings(settings or ConnectorSettings())
        now = self.clock()
        connector = Connector(id=new_id(), name=name, provider=provider, settings=settings,
                              created_at=now, updated_at=now)
        await self.store.write(lambda tx: tx.create_connector(connector))
        return connector

    async def get_connector(self, connector_id: str) -> Connector:
        try:
            return await self.store.get_connector(connector_id)
        except StoreNotFound:
            raise NotFound("connector", connector_id) from None

    async def list_connectors(self) -> list[Connector]:
        return await self.store.list_connectors()

    async def update_connector(self, connector_id: str, patch: ConnectorPatch) -> Connector:
        name = check_name("name", patch.name) if patch.name is not None else None
        if patch.sync_window_days is not None:
            check_window("sync_window_days", patch.sync_window_days)
        if patch.poll_interval is not None:
            check_poll_interval("poll_interval_seconds", patch.poll_interval)
        now = self.clock()

        def write(tx: WriteTx) -> Connector:
            current = tx.connector(connector_id)
            if current is None:
                raise NotFound("connector", connector_id)
            settings = current.settings
            settings = replace(
                settings,
                sync_window_days=_pick(patch.sync_window_days, settings.sync_window_days),
                strict_message_id=_pick(patch.strict_message_id, settings.strict_message_id),
                poll_interval=_pick(patch.poll_interval, settings.poll_interval),
                allowed_redirect_uris=_pick(patch.allowed_redirect_uris,
                                            settings.allowed_redirect_uris),
            )
            check_connector_settings(settings, prefix="")
            updated = replace(current, name=_pick(name, current.name), settings=settings,
                              updated_at=now)
            tx.update_connector(updated)
            return updated

        return await self.store.write(write)

    async def delete_connector(self, connector_id: str) -> None:
        try:
            await self.store.write(lambda tx: tx.delete_connector(connector_id))
        except StoreNotFound:
            raise NotFound("connector", connector_id) from None
        except StoreConflict:
            raise PreconditionFailed(
                f"connector {connector_id!r} still has grants; delete them first") from None


def _pick(value: T | None, current: T) -> T:
    return current if value is None else value
