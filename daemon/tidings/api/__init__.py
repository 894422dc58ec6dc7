"""The gRPC API: grpc.aio in its own thread, joined to trio by one bridge.

- `server`: `serve_grpc`, the trio task that runs the server;
- `bridge`: `TrioBridge`, how servicer coroutines run trio work;
- `auth`: API keys (`authorization: Bearer <key>`);
- `errors`: the exception → status table and the `rpc` decorator for servicers;
- `convert`: domain values ↔ tidings.v1 messages;
- `reflection`: server reflection with the .proto comments.
"""

from __future__ import annotations

from tidings.api.auth import KeyVerifier, generate_api_key, hash_api_key, verifier_for_hashes
from tidings.api.bridge import BridgedStream, TrioBridge
from tidings.api.errors import rpc
from tidings.api.server import GrpcSettings, GrpcStartError, ServiceBinding, TlsFiles, serve_grpc

__all__ = [
    "BridgedStream",
    "GrpcSettings",
    "GrpcStartError",
    "KeyVerifier",
    "ServiceBinding",
    "TlsFiles",
    "TrioBridge",
    "generate_api_key",
    "hash_api_key",
    "rpc",
    "serve_grpc",
    "verifier_for_hashes",
]
