"""API keys through the service: shown once, stored as digests, revocable."""

from __future__ import annotations

import pytest

from tidings.api.auth import hash_api_key as api_hash
from tidings.service import ApiKeys, InvalidField, NotFound, hash_api_key
from tidings.store import Store


async def test_a_key_is_stored_as_its_digest_and_verifies(store: Store) -> None:
    keys = ApiKeys(store, clock=lambda: 1234.0)
    created = await keys.create("deploy")
    assert created.key not in repr(created)
    [record] = await keys.list()
    assert record == created.record
    assert record.name == "deploy"
    assert record.created_at == 1234.0
    assert record.digest == hash_api_key(created.key) != created.key
    assert await keys.verify(created.key)
    assert not await keys.verify(created.key + "x")
    assert not await keys.verify("")
    assert not await keys.verify("k" * 10_000)


async def test_revoked_keys_fail_and_unknown_ids_are_not_found(store: Store) -> None:
    keys = ApiKeys(store)
    created = await keys.create()
    assert created.record.name == "default"
    revoked = await keys.revoke(created.record.id)
    assert revoked.revoked
    assert not await keys.verify(created.key)
    with pytest.raises(NotFound):
        await keys.revoke("missing")
    with pytest.raises(InvalidField) as caught:
        await keys.create("n" * 201)
    assert caught.value.field == "name"


def test_the_api_layer_uses_the_same_digest() -> None:
    assert api_hash("abc") == hash_api_key("abc")
    assert hash_api_key("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
