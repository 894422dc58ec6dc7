"""Account operations shared by the gRPC API and the web pages (onboarding, grants).

No protobuf and no web types here: callers convert at their own boundary.
"""

from __future__ import annotations

from tidings.service.accounts import AccountService
from tidings.service.api_keys import ApiKeys, CreatedKey, generate_api_key, hash_api_key
from tidings.service.errors import (
    Conflict,
    CredentialsRejected,
    InvalidField,
    LimitExceeded,
    NotFound,
    PreconditionFailed,
    ServiceError,
    TlsFailed,
    Unreachable,
)
from tidings.service.grant_input import ConnectorPatch, CustomAuth, GrantFilter, GrantUpdate
from tidings.service.grants import SyncControl

__all__ = [
    "AccountService",
    "ApiKeys",
    "Conflict",
    "ConnectorPatch",
    "CreatedKey",
    "CredentialsRejected",
    "CustomAuth",
    "GrantFilter",
    "GrantUpdate",
    "InvalidField",
    "LimitExceeded",
    "NotFound",
    "PreconditionFailed",
    "ServiceError",
    "SyncControl",
    "TlsFailed",
    "Unreachable",
    "generate_api_key",
    "hash_api_key",
]
