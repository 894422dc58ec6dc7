"""API key records: stored by digest, found by digest, revoked once."""

from __future__ import annotations

import pytest

from tidings.store import Conflict, NotFound, Store
from tidings.store.access import ApiKey


def _key(key_id: str, digest: str) -> ApiKey:
    return ApiKey(id=key_id, name=f"name-{key_id}", digest=digest, created_at=100.0)


async def test_create_find_list_and_revoke(store: Store) -> None:
    await store.write(lambda tx: tx.create_api_key(_key("k1", "d1")))
    await store.write(lambda tx: tx.create_api_key(_key("k2", "d2")))
    assert await store.find_api_key("d1") == _key("k1", "d1")
    assert await store.find_api_key("nope") is None
    assert [k.id for k in await store.list_api_keys()] == ["k1", "k2"]
    await store.write(lambda tx: tx.revoke_api_key("k1", 200.0))
    await store.write(lambda tx: tx.revoke_api_key("k1", 300.0))  # the first time stays
    revoked = await store.find_api_key("d1")
    assert revoked is not None
    assert revoked.revoked
    assert revoked.revoked_at == 200.0
    assert await store.write(lambda tx: tx.api_key("k2")) == _key("k2", "d2")


async def test_digest_is_unique_and_unknown_ids_are_not_found(store: Store) -> None:
    await store.write(lambda tx: tx.create_api_key(_key("k1", "same")))
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.create_api_key(_key("k2", "same")))
    with pytest.raises(NotFound):
        await store.write(lambda tx: tx.revoke_api_key("missing", 1.0))
