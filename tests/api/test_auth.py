"""API keys on every call, except health checking and reflection."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import grpc
import pytest
import structlog.testing
import trio

from tests.api.conftest import API_KEY, AUTH, FAILING_KEY, Served
from tidings.api.auth import generate_api_key, hash_api_key, verifier_for_hashes
from tidings.v1 import connectors_pb2, events_pb2

TIMEOUT = 10.0


async def _get_with(served: Served, metadata: tuple[tuple[str, str], ...]) -> str:
    def call() -> str:
        request = connectors_pb2.GetConnectorRequest(id="c1")
        reply = served.connectors.GetConnector(request, metadata=metadata, timeout=TIMEOUT)
        return str(reply.name)

    return await trio.to_thread.run_sync(call)


async def _refused(served: Served, metadata: tuple[tuple[str, str], ...]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        await _get_with(served, metadata)
    return caught.value


async def test_valid_key_is_accepted(served: Served) -> None:
    assert await _get_with(served, AUTH) == "name-c1"


async def test_scheme_is_case_insensitive(served: Served) -> None:
    assert await _get_with(served, (("authorization", f"bearer {API_KEY}"),)) == "name-c1"


async def test_missing_key_is_unauthenticated(served: Served) -> None:
    error = await _refused(served, ())
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "missing API key" in error.details()


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer", f"Token {'k' * 43}"])
async def test_malformed_authorization_is_treated_as_missing(served: Served, value: str) -> None:
    error = await _refused(served, (("authorization", value),))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "missing API key" in error.details()


@pytest.fixture
def every_log_event() -> Iterator[list[MutableMapping[str, Any]]]:
    """All structlog events, whatever level the test run logs at."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**saved)


async def test_wrong_key_is_unauthenticated_and_never_logged(
    served: Served, every_log_event: list[MutableMapping[str, Any]]
) -> None:
    wrong = "w" * 43
    error = await _refused(served, (("authorization", f"Bearer {wrong}"),))
    await _get_with(served, AUTH)
    logs = every_log_event
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "invalid or revoked API key"
    assert any(entry["event"] == "rpc.unauthenticated" for entry in logs)
    logged = repr(logs)
    assert wrong not in logged
    assert API_KEY not in logged


async def test_streaming_method_needs_a_key_too(served: Served) -> None:
    def subscribe() -> list[str]:
        request = events_pb2.SubscribeRequest(cursor="count:1")
        return [b.cursor for b in served.events.Subscribe(request, timeout=TIMEOUT)]

    with pytest.raises(grpc.RpcError) as caught:
        await trio.to_thread.run_sync(subscribe)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert not served.side.stream_started.is_set()


async def test_failing_key_store_is_internal_not_a_verdict(served: Served) -> None:
    error = await _refused(served, (("authorization", f"Bearer {FAILING_KEY}"),))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details().startswith("internal error, see server log (ref ")
    assert "broken" not in error.details()


def test_hash_is_hex_sha256_of_the_key() -> None:
    # SHA-256("abc"), FIPS 180-2 appendix B.1.
    assert hash_api_key("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_generated_keys_are_random_32_byte_tokens() -> None:
    keys = {generate_api_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(key) == 43 for key in keys)


async def test_verifier_for_hashes_accepts_only_known_keys() -> None:
    first, second = generate_api_key(), generate_api_key()
    verify = verifier_for_hashes([hash_api_key(first), hash_api_key(second).upper()])
    assert await verify(first)
    assert await verify(second)
    assert not await verify(first + "x")
    assert not await verify("")
    assert not await verifier_for_hashes([])(first)
