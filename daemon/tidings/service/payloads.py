"""What grant events carry: the grant as it was after the change, without its passwords."""

from __future__ import annotations

from typing import Any

from tidings.domain import Endpoint, Grant

__all__ = ["grant_deleted_payload", "grant_payload"]


def _endpoint(endpoint: Endpoint, username: str) -> dict[str, Any]:
    return {"host": endpoint.host, "port": endpoint.port,
            "security": str(endpoint.security), "username": username}


def grant_payload(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "grant_id": grant.id,
        "connector_id": grant.connector_id,
        "email": grant.email,
        "name": grant.name,
        "provider_type": grant.provider_type,
        "state": str(grant.state),
        "reason": grant.state_reason,
        "imap": _endpoint(grant.imap, grant.imap_username),
        "smtp": _endpoint(grant.smtp, grant.smtp_username),
        "allow_plaintext": grant.allow_plaintext,
        "sync_window_days": grant.sync_window_days,
        "caller_state": grant.caller_state,
        "created_at": grant.created_at,
        "updated_at": grant.updated_at,
    }


def grant_deleted_payload(grant: Grant) -> dict[str, Any]:
    # Like every *.deleted event, only what identifies the object.
    return {"id": grant.id, "grant_id": grant.id, "email": grant.email}
