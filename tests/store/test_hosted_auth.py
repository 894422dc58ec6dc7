"""Hosted sign-in sessions and codes: storage, claims, single use, expiry, counts."""

from __future__ import annotations

import dataclasses

import pytest

from tests.store import builders as b
from tidings.domain import GrantState
from tidings.store import Conflict, NotFound, Store, WriteTx
from tidings.store.hosted_auth import HostedCode, HostedSession


def _session(connector_id: str, **changes: object) -> HostedSession:
    fields: dict[str, object] = {
        "id_hash": "a" * 64,
        "connector_id": connector_id,
        "redirect_uri": "https://app.example/cb",
        "provider_type": "yahoo",
        "login_hint": "ada@yahoo.com",
        "state": "xyz",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
        "csrf_token": "t" * 43,
        "created_at": b.NOW,
        "expires_at": b.NOW + 600,
    }
    fields.update(changes)
    return HostedSession(**fields)  # type: ignore[arg-type]


def _code(grant_id: str, **changes: object) -> HostedCode:
    fields: dict[str, object] = {
        "code_hash": "d" * 64,
        "grant_id": grant_id,
        "redirect_uri": "https://app.example/cb",
        "code_challenge": None,
        "code_challenge_method": None,
        "created_at": b.NOW,
        "expires_at": b.NOW + 60,
    }
    fields.update(changes)
    return HostedCode(**fields)  # type: ignore[arg-type]


async def test_a_session_round_trips_and_survives_reopening(store_target: str) -> None:
    c = b.connector()
    session = _session(c.id)
    async with b.opened_store(store_target) as store:

        def create(tx: WriteTx) -> None:
            tx.create_connector(c)
            tx.create_hosted_session(session)

        await store.write(create)
    async with b.opened_store(store_target) as store:
        assert await store.get_hosted_session(session.id_hash) == session
        with pytest.raises(NotFound):
            await store.get_hosted_session("b" * 64)


async def test_a_session_needs_its_connector(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.write(lambda tx: tx.create_hosted_session(_session("missing")))


async def test_one_claim_at_a_time_until_released_or_timed_out(store: Store) -> None:
    c = b.connector()
    session = _session(c.id)

    def create(tx: WriteTx) -> None:
        tx.create_connector(c)
        tx.create_hosted_session(session)

    await store.write(create)
    claimed = await store.write(
        lambda tx: tx.claim_hosted_session(session.id_hash, b.NOW + 1, b.NOW + 100)
    )
    assert claimed == session
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.claim_hosted_session(session.id_hash, b.NOW + 2, 0))
    # A claim left behind by a crashed node runs out.
    again = await store.write(
        lambda tx: tx.claim_hosted_session(session.id_hash, b.NOW + 101, b.NOW + 200)
    )
    assert again == dataclasses.replace(session, busy_until=b.NOW + 100)
    await store.write(lambda tx: tx.release_hosted_session(session.id_hash))
    assert (await store.get_hosted_session(session.id_hash)).busy_until is None
    assert await store.write(
        lambda tx: tx.claim_hosted_session(session.id_hash, b.NOW + 102, b.NOW + 200)
    ) is not None


async def test_unknown_and_expired_sessions_cannot_be_claimed(store: Store) -> None:
    c = b.connector()
    session = _session(c.id)

    def create(tx: WriteTx) -> None:
        tx.create_connector(c)
        tx.create_hosted_session(session)

    await store.write(create)
    assert await store.write(lambda tx: tx.claim_hosted_session("e" * 64, b.NOW, b.NOW)) is None
    expired_at = session.expires_at
    assert await store.write(
        lambda tx: tx.claim_hosted_session(session.id_hash, expired_at, expired_at + 5)
    ) is None


async def test_finishing_trades_the_session_for_a_single_use_code(store: Store) -> None:
    grant, _inbox = await b.account(store)
    session = _session(grant.connector_id)
    code = _code(grant.id, code_challenge="c" * 43, code_challenge_method="S256")
    await store.write(lambda tx: tx.create_hosted_session(session))
    await store.write(lambda tx: tx.finish_hosted_session(session.id_hash, code))
    with pytest.raises(NotFound):
        await store.get_hosted_session(session.id_hash)
    with pytest.raises(Conflict):
        await store.write(
            lambda tx: tx.finish_hosted_session(session.id_hash, _code(grant.id, code_hash="f"))
        )
    first = await store.write(lambda tx: tx.consume_hosted_code(code.code_hash, b.NOW + 5))
    assert first == code
    second = await store.write(lambda tx: tx.consume_hosted_code(code.code_hash, b.NOW + 6))
    assert second == dataclasses.replace(code, used_at=b.NOW + 5)
    assert await store.write(lambda tx: tx.consume_hosted_code("0" * 64, b.NOW)) is None


async def test_purge_drops_only_what_expired(store: Store) -> None:
    grant, _inbox = await b.account(store)
    old = _session(grant.connector_id, id_hash="1" * 64, expires_at=b.NOW + 10)
    fresh = _session(grant.connector_id, id_hash="2" * 64, expires_at=b.NOW + 1000)
    old_code = _code(grant.id, code_hash="3" * 64, expires_at=b.NOW + 10)
    fresh_code = _code(grant.id, code_hash="4" * 64, expires_at=b.NOW + 1000)

    def create(tx: WriteTx) -> None:
        for s in (old, fresh, _session(grant.connector_id, id_hash="5" * 64)):
            tx.create_hosted_session(s)
        tx.finish_hosted_session("5" * 64, old_code)
        tx.create_hosted_session(_session(grant.connector_id, id_hash="6" * 64))
        tx.finish_hosted_session("6" * 64, fresh_code)

    await store.write(create)
    assert await store.write(lambda tx: tx.purge_hosted_auth(b.NOW + 10)) == 2
    assert await store.get_hosted_session(fresh.id_hash) == fresh
    with pytest.raises(NotFound):
        await store.get_hosted_session(old.id_hash)
    assert await store.write(lambda tx: tx.consume_hosted_code(old_code.code_hash, b.NOW)) is None
    assert await store.write(
        lambda tx: tx.consume_hosted_code(fresh_code.code_hash, b.NOW)
    ) == fresh_code


async def test_deleting_the_grant_deletes_its_codes(store: Store) -> None:
    grant, _inbox = await b.account(store)
    code = _code(grant.id)

    def create(tx: WriteTx) -> None:
        tx.create_hosted_session(_session(grant.connector_id))
        tx.finish_hosted_session("a" * 64, code)

    await store.write(create)
    await store.write(lambda tx: tx.delete_grant(grant.id))
    assert await store.write(lambda tx: tx.consume_hosted_code(code.code_hash, b.NOW)) is None


async def test_counts_by_state(store: Store) -> None:
    assert await store.count_grants_by_state() == {}
    assert await store.count_folders_by_sync_state() == {}
    grant, _inbox = await b.account(store)
    c = b.connector()
    other = b.grant(c.id, state=GrantState.INVALID)
    live = b.folder(grant.id, "Sent", sync_state="live")

    def create(tx: WriteTx) -> None:
        tx.create_connector(c)
        tx.create_grant(other)
        tx.upsert_folder(live)

    await store.write(create)
    assert await store.count_grants_by_state() == {"valid": 1, "invalid": 1}
    assert await store.count_folders_by_sync_state() == {"new": 1, "live": 1}
