"""Grant operations: credentials are proven on both servers before anything is stored,
and every change lands with its event in one write (DESIGN.md, Storage and events)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from tidings.domain import (
    Connector,
    Credentials,
    Endpoint,
    EventType,
    Grant,
    GrantState,
    NewEvent,
    Security,
    new_id,
)
from tidings.log import get_logger
from tidings.service.errors import Conflict, InvalidField, NotFound, Side
from tidings.service.grant_input import (
    CustomAuth,
    GrantFilter,
    GrantUpdate,
    choose_preset,
    resolve_endpoint,
)
from tidings.service.payloads import grant_deleted_payload, grant_payload
from tidings.service.validation import (
    check_email,
    check_name,
    check_secret,
    check_state,
    check_username,
    check_window,
)
from tidings.service.verify import LoginChecker
from tidings.store import NotFound as StoreNotFound
from tidings.store import Store, WriteTx

__all__ = ["GrantOps", "SyncControl"]

log = get_logger("tidings.service")


class SyncControl(Protocol):
    """What the service needs of the sync supervisor."""

    def start_grant(self, grant_id: str) -> None: ...

    def stop_grant(self, grant_id: str) -> None: ...


class GrantOps:
    """Create, read, change and delete grants."""

    def __init__(self, store: Store, sync: SyncControl, checker: LoginChecker, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.sync = sync
        self.checker = checker
        self.clock = clock

    # -- reads ----------------------------------------------------------------------------
    async def get_grant(self, grant_id: str) -> Grant:
        try:
            return await self.store.get_grant(grant_id)
        except StoreNotFound:
            raise NotFound("grant", grant_id) from None

    async def list_grants(self, query: GrantFilter | None = None) -> tuple[list[Grant], int]:
        """One page of the grants that match, oldest first, and how many match in all."""
        query = query or GrantFilter()
        grants = await self.store.list_grants(query.connector_id)
        email = query.email.strip().lower() if query.email else None
        provider = query.provider_type.strip().lower() if query.provider_type else None
        matching = [
            grant for grant in grants
            if (email is None or grant.email.lower() == email)
            and (query.states is None or grant.state in query.states)
            and (provider is None or grant.provider_type == provider)
        ]
        return matching[query.offset : query.offset + query.limit], len(matching)

    async def resolve_connector(self, connector_id: str | None) -> Connector:
        """The connector named, or the only IMAP connector when none is named."""
        if connector_id:
            try:
                return await self.store.get_connector(connector_id)
            except StoreNotFound:
                raise NotFound("connector", connector_id) from None
        connectors = [c for c in await self.store.list_connectors() if c.provider == "imap"]
        if len(connectors) == 1:
            return connectors[0]
        if not connectors:
            raise InvalidField("connector_id", "no connector exists yet; create one first")
        raise InvalidField("connector_id", "required when there are several connectors")

    # -- create ---------------------------------------------------------------------------
    async def create_grant(self, auth: CustomAuth) -> Grant:
        """Check the credentials on both servers, then store the grant and start its sync."""
        email = check_email("email", auth.email)
        imap_password = check_secret("imap_password", auth.imap_password)
        smtp_password = (check_secret("smtp_password", auth.smtp_password)
                         if auth.smtp_password else imap_password)
        imap_username = check_username("imap_username", auth.imap_username or email)
        smtp_username = check_username("smtp_username", auth.smtp_username or imap_username)
        caller_state = check_state("state", auth.caller_state)
        # No CR/LF or other control characters: the name goes into a From header.
        name = check_name("name", auth.name or "", required=False)
        connector = await self.resolve_connector(auth.connector_id)
        window = check_window("sync_window_days",
                              connector.settings.sync_window_days
                              if auth.sync_window_days is None else auth.sync_window_days)
        preset = choose_preset(auth.provider_type, email)
        imap = resolve_endpoint("imap", host=auth.imap_host, port=auth.imap_port,
                                security=auth.imap_security, preset=preset.imap,
                                allow_plaintext=auth.allow_plaintext)
        smtp = resolve_endpoint("smtp", host=auth.smtp_host, port=auth.smtp_port,
                                security=auth.smtp_security, preset=preset.smtp,
                                allow_plaintext=auth.allow_plaintext)
        await self._refuse_duplicate(connector.id, email)
        now = self.clock()
        grant = Grant(id=new_id(), connector_id=connector.id, email=email, name=name,
                      provider_type=preset.name, imap=imap, smtp=smtp,
                      imap_username=imap_username, smtp_username=smtp_username,
                      allow_plaintext=auth.allow_plaintext, sync_window_days=window,
                      state=GrantState.SYNCING, caller_state=caller_state,
                      created_at=now, updated_at=now)
        credentials = Credentials(imap_password=imap_password, smtp_password=smtp_password)
        await self.checker.check(grant, credentials)

        def write(tx: WriteTx) -> None:
            tx.create_grant(grant)
            tx.set_credentials(grant.id, credentials)
            tx.append_event(NewEvent(grant_id=grant.id, type=EventType.GRANT_CREATED,
                                     object_id=grant.id, payload=grant_payload(grant)))

        await self.store.write(write)
        log.info("grant.created", grant=grant.id, email=email, provider=preset.name)
        self.sync.start_grant(grant.id)
        return grant

    async def _refuse_duplicate(self, connector_id: str, email: str) -> None:
        for existing in await self.store.list_grants(connector_id):
            if existing.email.lower() == email.lower():
                raise Conflict(f"grant {existing.id!r} already connects {existing.email};"
                               " update it instead")

    # -- update ---------------------------------------------------------------------------
    async def update_grant(self, grant_id: str, update: GrantUpdate) -> Grant:
        """Change a grant. New connection settings or credentials are checked first; a
        grant whose credentials were refused comes back to life once new ones work."""
        current = await self.get_grant(grant_id)
        credentials = await self.store.get_credentials(grant_id)
        changed, new_credentials = self._apply(current, credentials, update)
        revive = current.state is GrantState.INVALID
        restart = update.touches_connection or revive or (
            changed.sync_window_days != current.sync_window_days)
        if update.touches_connection or revive:
            await self.checker.check(changed, new_credentials)
        state = await self._state_after_check(current) if (
            update.touches_connection or revive) else None
        now = self.clock()

        def write(tx: WriteTx) -> Grant:
            fresh = tx.grant(grant_id)
            if fresh is None:
                raise NotFound("grant", grant_id)
            # Only the fields this update owns replace what the sync engine keeps writing.
            updated = replace(
                fresh, name=changed.name, imap=changed.imap, smtp=changed.smtp,
                imap_username=changed.imap_username, smtp_username=changed.smtp_username,
                allow_plaintext=changed.allow_plaintext,
                sync_window_days=changed.sync_window_days,
                caller_state=changed.caller_state, updated_at=now)
            if state is not None:
                updated = replace(updated, state=state, state_reason=None)
            tx.update_grant(updated)
            if new_credentials != credentials:
                tx.set_credentials(grant_id, new_credentials)
            tx.append_event(NewEvent(grant_id=grant_id, type=EventType.GRANT_UPDATED,
                                     object_id=grant_id, payload=grant_payload(updated)))
            return updated

        updated = await self.store.write(write)
        log.info("grant.updated", grant=grant_id, revived=revive, restarted=restart)
        if restart:
            self.sync.start_grant(grant_id)
        return updated

    def _apply(self, grant: Grant, credentials: Credentials, update: GrantUpdate
               ) -> tuple[Grant, Credentials]:
        allow_plaintext = (grant.allow_plaintext if update.allow_plaintext is None
                           else update.allow_plaintext)
        imap = _moved(grant.imap, "imap", update.imap_host, update.imap_port,
                      update.imap_security, allow_plaintext)
        smtp = _moved(grant.smtp, "smtp", update.smtp_host, update.smtp_port,
                      update.smtp_security, allow_plaintext)
        imap_username = (check_username("imap_username", update.imap_username)
                         if update.imap_username is not None else grant.imap_username)
        # SMTP values that followed the IMAP ones keep following them (one app password).
        if update.smtp_username is not None:
            smtp_username = check_username("smtp_username", update.smtp_username)
        elif grant.smtp_username == grant.imap_username:
            smtp_username = imap_username
        else:
            smtp_username = grant.smtp_username
        imap_password = (check_secret("imap_password", update.imap_password)
                         if update.imap_password is not None else credentials.imap_password)
        if update.smtp_password is not None:
            smtp_password = check_secret("smtp_password", update.smtp_password)
        elif credentials.smtp_password == credentials.imap_password:
            smtp_password = imap_password
        else:
            smtp_password = credentials.smtp_password
        window = (check_window("sync_window_days", update.sync_window_days)
                  if update.sync_window_days is not None else grant.sync_window_days)
        caller_state = (check_state("state", update.caller_state)
                        if update.caller_state is not None else grant.caller_state)
        name = (check_name("name", update.name, required=False)
                if update.name is not None else grant.name)
        changed = replace(grant, name=name, imap=imap, smtp=smtp, imap_username=imap_username,
                          smtp_username=smtp_username, allow_plaintext=allow_plaintext,
                          sync_window_days=window, caller_state=caller_state)
        return changed, Credentials(imap_password=imap_password, smtp_password=smtp_password)

    async def _state_after_check(self, grant: Grant) -> GrantState:
        """VALID when the initial sync had finished, SYNCING when it still has work."""
        folders = await self.store.list_folders(grant.id)
        if folders and all(folder.sync_state == "live" for folder in folders):
            return GrantState.VALID
        return GrantState.SYNCING

    # -- delete ---------------------------------------------------------------------------
    async def delete_grant(self, grant_id: str) -> None:
        """Stop the grant's sync and delete it with everything stored for it."""
        self.sync.stop_grant(grant_id)

        def write(tx: WriteTx) -> None:
            grant = tx.grant(grant_id)
            if grant is None:
                raise NotFound("grant", grant_id)
            tx.delete_grant(grant_id)
            tx.append_event(NewEvent(grant_id=grant_id, type=EventType.GRANT_DELETED,
                                     object_id=grant_id, payload=grant_deleted_payload(grant)))

        await self.store.write(write)
        log.info("grant.deleted", grant=grant_id)


def _moved(endpoint: Endpoint, side: Side, host: str | None, port: int | None,
           security: Security | None, allow_plaintext: bool) -> Endpoint:
    """The endpoint with the given fields replaced; a new security mode without a port
    takes that mode's default port."""
    security = security or endpoint.security
    if port is None and security is endpoint.security:
        port = endpoint.port
    return resolve_endpoint(side, host=host or endpoint.host, port=port, security=security,
                            preset=None, allow_plaintext=allow_plaintext)
