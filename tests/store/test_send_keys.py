"""Idempotency keys of sends: claimed once, finished or released, forgotten when old."""

from __future__ import annotations

from tests.store.builders import account
from tidings.store import Store


async def test_claim_finish_and_replay(store: Store) -> None:
    grant, _ = await account(store)
    first = await store.write(lambda tx: tx.claim_send_key(grant.id, "k", 100.0, 0.0))
    assert first is None  # claimed for this call
    pending = await store.write(lambda tx: tx.claim_send_key(grant.id, "k", 101.0, 0.0))
    assert pending is not None
    assert pending.pending
    assert pending.created_at == 100.0
    await store.write(lambda tx: tx.finish_send_key(grant.id, "k", "m1"))
    done = await store.write(lambda tx: tx.claim_send_key(grant.id, "k", 102.0, 0.0))
    assert done is not None
    assert not done.pending
    assert done.message_id == "m1"


async def test_release_lets_a_retry_claim_again(store: Store) -> None:
    grant, _ = await account(store)
    assert await store.write(lambda tx: tx.claim_send_key(grant.id, "k", 100.0, 0.0)) is None
    await store.write(lambda tx: tx.release_send_key(grant.id, "k"))
    assert await store.write(lambda tx: tx.claim_send_key(grant.id, "k", 101.0, 0.0)) is None


async def test_old_claims_are_forgotten(store: Store) -> None:
    grant, _ = await account(store)
    assert await store.write(lambda tx: tx.claim_send_key(grant.id, "k", 100.0, 0.0)) is None
    await store.write(lambda tx: tx.finish_send_key(grant.id, "k", "m1"))
    # An hour later the key names a new send.
    assert await store.write(
        lambda tx: tx.claim_send_key(grant.id, "k", 3800.0, 200.0)) is None
