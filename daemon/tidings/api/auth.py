"""API keys: every call carries ``authorization: Bearer <key>``.

Keys are random 32-byte tokens, so a single SHA-256 is the right way to store
them: there is nothing to guess that a slow password hash would protect, and a
fast hash keeps the check off the hot path. Stored digests are compared in
constant time. Keys are never logged; the logs name a key by nothing at all.

Health checking and reflection stay open so that load balancers and tools such
as grpcurl work without a key; they reveal only what the .proto files already
publish.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
import structlog

from tidings.api.bridge import TrioBridge
from tidings.api.errors import failure_status

# Keys are made and hashed by the account service, which stores them.
from tidings.service.api_keys import generate_api_key, hash_api_key

__all__ = [
    "OPEN_METHOD_PREFIXES",
    "ApiKeyInterceptor",
    "KeyVerifier",
    "generate_api_key",
    "hash_api_key",
    "verifier_for_hashes",
]

log = structlog.get_logger(__name__)

# Checks a presented key; runs in trio (the interceptor calls it through the
# bridge, since the key store lives there). True means the key is valid.
KeyVerifier = Callable[[str], Awaitable[bool]]

OPEN_METHOD_PREFIXES: tuple[str, ...] = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

_SCHEME = "bearer "
_MISSING = "missing API key: send metadata 'authorization: Bearer <key>'"
_REJECTED = "invalid or revoked API key"


def verifier_for_hashes(digests: Iterable[str]) -> KeyVerifier:
    """A verifier accepting the keys whose digests are given (e.g. from config).

    Every digest is compared, so the time taken does not tell which one matched.
    """
    known = tuple(d.lower() for d in digests)

    async def verify(key: str) -> bool:
        presented = hash_api_key(key)
        matched = False
        for digest in known:
            matched |= hmac.compare_digest(presented, digest)
        return matched

    return verify


def _bearer_token(metadata: Iterable[Any] | None) -> str | None:
    """The key of the first `authorization` entry, or None when absent or not Bearer."""
    for entry in metadata or ():
        key, value = entry[0], entry[1]
        if key != "authorization":
            continue
        if isinstance(value, bytes):
            return None
        # RFC 6750 §2.1: the scheme name is case-insensitive.
        if value[: len(_SCHEME)].lower() != _SCHEME:
            return None
        token = str(value[len(_SCHEME) :]).strip()
        return token or None
    return None


def _refusal(handler: Any, code: grpc.StatusCode, message: str) -> Any:
    """A handler of the same shape as `handler` that fails with `code`."""

    async def refuse(_request: Any, context: Any) -> None:
        await context.abort(code, message)

    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse, **serializers)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse, **serializers)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse, **serializers)
    return grpc.unary_unary_rpc_method_handler(refuse, **serializers)


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses every call without a valid API key, except the open methods."""

    def __init__(self, verify: KeyVerifier, bridge: TrioBridge) -> None:
        self._verify = verify
        self._bridge = bridge

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        method: str = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(OPEN_METHOD_PREFIXES):
            return handler
        token = _bearer_token(handler_call_details.invocation_metadata)
        if token is None:
            log.info("rpc.unauthenticated", method=method, reason="missing")
            return _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, _MISSING)
        try:
            valid = await self._bridge.call(self._verify, token)
        except Exception as exc:
            # The key store failed (or the daemon is stopping): the caller
            # learns that, not whether the key was good.
            code, message = failure_status(exc, method)
            return _refusal(handler, code, message)
        if not valid:
            log.info("rpc.unauthenticated", method=method, reason="rejected")
            return _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, _REJECTED)
        return handler
